//! `eos replay`: replay one trace against the implementation, step by step.

use eos_broker::Faults;
use eos_conformance::mutants::parse_fault;
use eos_conformance::replay::{replay, Outcome};
use eos_conformance::suite::summarize;
use eos_conformance::trace::Trace;
use eos_model::describe;
use std::path::PathBuf;

/// Arguments of `eos replay`.
#[derive(clap::Args)]
pub struct Args {
    /// The eos-trace/1 file.
    trace: PathBuf,
    /// The implementation: `inproc` (eos-broker's in-process cluster) or `kafka://HOST:PORT`.
    #[arg(long, default_value = "inproc")]
    target: String,
    /// Replay the trace's actions under this protocol instead of its own (its states are rebuilt
    /// from the model; the actions must be a path of that protocol's model).
    #[arg(long)]
    protocol: Option<eos_model::Protocol>,
    #[command(flatten)]
    wire: super::wire::WireArgs,
    /// Switch on a seeded fault in the implementation.
    #[arg(long)]
    fault: Vec<String>,
}

/// Replays and prints each step; at the first divergence, the fields that differ side by side.
pub fn run(args: Args) -> Result<u8, String> {
    let kafka = super::wire::is_kafka(&args.target);
    if !kafka && args.target != "inproc" {
        return Err(format!("unknown target `{}`: expected inproc or kafka://HOST:PORT", args.target));
    }
    let trace = Trace::read(&args.trace).map_err(|e| e.to_string())?;
    let trace = match args.protocol {
        Some(protocol) => trace.under_protocol(protocol).map_err(|e| format!("{}: {e}", args.trace.display()))?,
        None => trace,
    };
    if kafka {
        if !args.fault.is_empty() {
            return Err("--fault seeds bugs into eos-broker: it applies to --target inproc only".to_string());
        }
        let wire = args.wire.options();
        println!(
            "replaying {} ({} {}, {} steps) against {}",
            args.trace.display(),
            trace.scenario,
            trace.protocol,
            trace.steps.len(),
            args.target
        );
        return super::wire::replay(&args.target, &trace, &wire);
    }
    let mut faults = Faults::none();
    for name in &args.fault {
        faults.enable(parse_fault(name)?);
    }
    if let Err((step, why)) = trace.validate() {
        println!("{} is not a path of the model at step {step}: {why}", args.trace.display());
        return Ok(crate::EXIT_FAILED);
    }
    println!(
        "replaying {} ({} {} {}, {} steps) against inproc",
        args.trace.display(),
        trace.scenario,
        trace.protocol,
        serde_json::to_value(trace.origin).expect("origin").as_str().unwrap_or(""),
        trace.steps.len()
    );
    let outcome = replay(&trace, faults);
    let last_good = match &outcome {
        Outcome::Conforms { steps } => *steps,
        Outcome::Diverged(d) => d.step.saturating_sub(1),
        Outcome::Rejected { step, .. } | Outcome::InvalidTrace { step, .. } => step.saturating_sub(1),
    };
    for (i, step) in trace.steps.iter().enumerate().take(last_good) {
        println!("  {:>4} ✓ {:<12} {}", i + 1, describe::actor(&step.action), describe::action(&step.action));
    }
    match &outcome {
        Outcome::Conforms { steps } => {
            println!("\nconforms: the implementation agreed with the model on all {steps} steps.");
            Ok(crate::EXIT_OK)
        }
        Outcome::Diverged(d) => {
            if let Some(action) = &d.action {
                println!("  {:>4} ✗ {:<12} {}", d.step, describe::actor(action), describe::action(action));
            }
            println!("\n{}", summarize(&outcome));
            if let Some(why) = &d.untranslatable {
                println!("  the implementation's state cannot be expressed in the model's terms: {why}");
            }
            let width = d.diffs.iter().map(|f| f.path.len()).max().unwrap_or(5).max(5);
            println!("  {:<width$}  {:<40}  implementation", "field", "model");
            for f in &d.diffs {
                println!("  {:<width$}  {:<40}  {}", f.path, f.left, f.right);
            }
            Ok(crate::EXIT_FAILED)
        }
        other => {
            println!("\n{}", summarize(other));
            Ok(crate::EXIT_FAILED)
        }
    }
}
