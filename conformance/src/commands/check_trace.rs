//! `eos check-trace`: validate a trace against the model — every action allowed where it is taken,
//! every recorded state the model's. For traces recorded from an implementation this is conformance in
//! the reverse direction.

use eos_conformance::trace::Trace;
use std::path::PathBuf;

/// Arguments of `eos check-trace`.
#[derive(clap::Args)]
pub struct Args {
    /// The eos-trace/1 file.
    trace: PathBuf,
}

/// Validates and reports.
pub fn run(args: Args) -> Result<u8, String> {
    let trace = Trace::read(&args.trace).map_err(|e| e.to_string())?;
    match trace.validate() {
        Ok(states) => {
            println!(
                "{}: valid — {} steps of {} under {}, every state the model's.",
                args.trace.display(),
                states.len() - 1,
                trace.scenario,
                trace.protocol
            );
            Ok(crate::EXIT_OK)
        }
        Err((step, why)) => {
            println!("{}: INVALID at step {step}: {why}", args.trace.display());
            Ok(crate::EXIT_FAILED)
        }
    }
}
