//! eos-conformance: the model's traces, their replay against implementations, coverage, and the `eos`
//! command-line tool.
//!
//! [`trace`] is the `eos-trace/1` format; [`generate`] makes traces from the model (discoveries,
//! random walks); [`inproc`] drives eos-broker's in-process cluster one model action at a time and
//! [`project`] maps its state back onto the model's observable state; [`replay`] compares them step by
//! step, and [`malformed`] checks the requests they never send at the end of every trace.
#![warn(missing_docs)]

pub mod clock;
pub mod coverage;
pub mod enumerate;
pub mod generate;
pub mod html_report;
pub mod inproc;
pub mod malformed;
pub mod mutants;
pub mod progress;
pub mod project;
pub mod record;
pub mod render;
pub mod replay;
pub mod shrink;
pub mod suite;
pub mod trace;
pub mod verdicts;
pub mod wire;
