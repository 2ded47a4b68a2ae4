//! `eos record`: let the implementation run a scenario on its own (a seeded random schedule that does
//! not consult the model) and record what it did as an `eos-trace/1` trace of origin
//! `implementation`, for `eos check-trace`.

use eos_broker::Faults;
use eos_conformance::mutants::parse_fault;
use eos_conformance::record::record;
use eos_model::Protocol;
use std::path::PathBuf;

/// Arguments of `eos record`.
#[derive(clap::Args)]
pub struct Args {
    /// A scenario name or a path to a scenario .toml file.
    scenario: String,
    /// The protocol (default: the scenario's).
    #[arg(long)]
    protocol: Option<Protocol>,
    /// Seed of the schedule.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Steps to record at most.
    #[arg(long, default_value_t = 200)]
    steps: usize,
    /// Switch on a seeded fault in the implementation.
    #[arg(long)]
    fault: Vec<String>,
    /// Where to write the trace.
    #[arg(long, short)]
    out: PathBuf,
}

/// Records and writes the trace.
pub fn run(args: Args) -> Result<u8, String> {
    let config = super::load_scenario(&args.scenario, args.protocol)?;
    let mut faults = Faults::none();
    for name in &args.fault {
        faults.enable(parse_fault(name)?);
    }
    let trace = record(&config, args.seed, args.steps, faults)?;
    trace.write(&args.out).map_err(|e| format!("cannot write {}: {e}", args.out.display()))?;
    println!(
        "recorded {} steps of {} under {} from the implementation into {}; check it with `eos check-trace {}`",
        trace.steps.len(),
        trace.scenario,
        trace.protocol,
        args.out.display(),
        args.out.display()
    );
    Ok(crate::EXIT_OK)
}
