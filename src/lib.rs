//! thoth-bot: gates infrastructure-as-code pull requests with policy as code.

pub mod builtin;
pub mod check;
pub mod checkout;
pub mod cli;
pub mod commands;
pub mod config;
pub mod decision;
pub mod event;
pub mod finding;
pub mod forge;
pub mod gates;
pub mod housekeeping;
pub mod ids;
pub mod inputs;
pub mod metrics;
pub mod queue;
pub mod recovery;
pub mod report;
pub mod sandbox;
pub mod secret;
pub mod server;
pub mod setup;
pub mod store;
pub mod webhook;
pub mod worker;
pub mod workspace;
