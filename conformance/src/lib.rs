//! eos-conformance: the model's traces, their replay against implementations, coverage, and the `eos`
//! command-line tool.
#![warn(missing_docs)]

pub mod render;
pub mod trace;
