//! The three gates. Each takes the project (and config read from the base) and returns a
//! [`crate::finding::GateReport`].

pub mod compliance;
pub mod drift;
pub mod rego;
pub mod structure;
