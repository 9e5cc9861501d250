//! thoth-bot: gates infrastructure-as-code pull requests with policy as code.

pub mod finding;
pub mod gates;
pub mod ids;
pub mod inputs;
pub mod queue;
pub mod store;
pub mod workspace;
