//! `/thoth` comment commands as text: the grammar, the help and the usage lines
//! ([`parse`]). Running them is the worker's job (`worker/commands.rs`).

pub mod parse;

pub use parse::*;
