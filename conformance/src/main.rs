//! `eos`: model-check Kafka's exactly-once semantics, browse counterexamples, and hold implementations
//! to the model's traces. The command-line contract is in DESIGN.md and README.md.

mod commands;

/// mimalloc: the observations compared at every step are many small allocations, which glibc's
/// allocator serves markedly slower.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Exit statuses (every command): 0 every property holds / every trace conforms; 1 a property failed,
/// or a trace diverged; 2 usage or configuration error. `eos check` adds 3 (not exhaustive, no
/// violation found) and 128 + signal (interrupted): see [`eos_conformance::verdicts`].
pub use eos_conformance::verdicts::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};

#[derive(Parser)]
#[command(name = "eos", version, about = "Model-checked, conformance-tested Kafka exactly-once semantics")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the named scenarios with one line each.
    Scenarios(commands::scenarios::Args),
    /// Model-check a scenario: exit 0 if every property holds (exhaustively), 1 if one fails, 2 on
    /// usage errors, 3 if no violation was found but the run was not exhaustive, 130/143 if SIGINT/SIGTERM
    /// stopped it.
    Check(commands::check::Args),
    /// Serve stateright's web explorer for a scenario.
    Explore(commands::explore::Args),
    /// Replay the model's traces against an implementation: exit 0 when every trace conforms and
    /// every counterexample is triaged as expected, 1 otherwise.
    Conformance(commands::conformance::Args),
    /// Replay one trace against an implementation, step by step.
    Replay(commands::replay::Args),
    /// Validate a trace (e.g. one recorded from an implementation) against the model.
    CheckTrace(commands::check_trace::Args),
    /// Record a run of the implementation as a trace, for check-trace.
    Record(commands::record::Args),
    /// The bug museum: every real bug rediscovered with its fix off, gone with it on.
    Bugs(commands::bugs::Args),
}

fn main() -> ExitCode {
    // Like other command-line tools, stop quietly when the reader of stdout goes away (`eos … | head`)
    // instead of panicking on the broken pipe.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scenarios(args) => commands::scenarios::run(args),
        Command::Check(args) => commands::check::run(args),
        Command::Explore(args) => commands::explore::run(args),
        Command::Conformance(args) => commands::conformance::run(args),
        Command::Replay(args) => commands::replay::run(args),
        Command::CheckTrace(args) => commands::check_trace::run(args),
        Command::Record(args) => commands::record::run(args),
        Command::Bugs(args) => commands::bugs::run(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}
