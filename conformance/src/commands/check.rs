//! `eos check`: model-check one scenario under one protocol.

use eos_conformance::progress::{ProgressMode, ProgressReporter};
use eos_conformance::render::{shell_word, steps_table, thousands};
use eos_conformance::trace::{Origin, Trace};
use eos_conformance::verdicts::{self, exit_status};
use eos_model::check::{self, CheckOptions, CheckReport, Outcome, Progress, StopHandle, Strategy, MAX_DEPTH_LIMIT};
use eos_model::{explain, EosModel};
use std::path::PathBuf;
use std::time::Duration;

/// Threads per core beyond which more threads only slow a check down (and may not start at all).
const THREADS_PER_CORE: usize = 8;
/// The longest `--timeout` accepted, in seconds (a week): beyond it a deadline is no deadline.
const MAX_TIMEOUT_SECONDS: u64 = 7 * 24 * 3600;

/// Arguments of `eos check`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    scenario: super::ScenarioArgs,
    /// Exploration: dfs (exhaustive, symmetry-reduced), bfs (exhaustive, one thread, shortest
    /// counterexamples) or sim (random walks, never exhaustive).
    #[arg(long, default_value = "dfs", value_parser = ["dfs", "bfs", "sim"])]
    strategy: String,
    /// Worker threads for dfs and sim (default: the machine's cores; bfs always uses one).
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    threads: Option<usize>,
    /// Random seed for --strategy sim.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Check only states at most this many steps deep (the run is exhaustive only if nothing deeper
    /// exists).
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(0..=MAX_DEPTH_LIMIT as u64))]
    max_depth: Option<usize>,
    /// Stop after this many seconds (sim defaults to 10); the report then says what was not explored.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=MAX_TIMEOUT_SECONDS))]
    timeout: Option<u64>,
    /// Turn symmetry reduction off (it applies to dfs and sim).
    #[arg(long)]
    no_symmetry: bool,
    /// Partial-order reduction: explore a successful Produce answer's delivery (and loss) before
    /// anything else, which keeps every verdict with fewer states (docs/checker-speed.md).
    #[arg(long)]
    reduction: bool,
    /// Print a machine-readable JSON report on stdout.
    #[arg(long)]
    json: bool,
    /// Progress on stderr: auto (an updating line on a terminal, else a line every 5 s), json (JSON
    /// lines every second) or none.
    #[arg(long, value_enum, default_value = "auto")]
    progress: ProgressMode,
    /// Write every counterexample and example as an eos-trace/1 file into this directory.
    #[arg(long)]
    trace_out: Option<PathBuf>,
    /// Write a self-contained HTML page: the verdicts and, per counterexample, its sequence diagram
    /// and step table.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Print the step table of every violated property (default: the first only).
    #[arg(long)]
    all: bool,
    /// Address the explorer deep links point at (see `eos explore`).
    #[arg(long, default_value = "127.0.0.1:3000")]
    explorer: String,
}

/// Runs the check and prints the report; the exit status is [`exit_status`]'s.
pub fn run(args: Args) -> Result<u8, String> {
    let config = args.scenario.load()?;
    let strategy = match args.strategy.as_str() {
        "bfs" => Strategy::Bfs,
        "sim" => Strategy::Simulation { seed: args.seed },
        _ => Strategy::Dfs,
    };
    let threads = threads(&args, strategy)?;
    let stop = StopHandle::default();
    stop_on_signals(&stop)?;
    let options = CheckOptions {
        strategy,
        threads,
        symmetry: !args.no_symmetry,
        reduction: args.reduction,
        max_depth: args.max_depth,
        timeout: args.timeout.map(Duration::from_secs),
        stop,
    };
    if let Some(file) = &args.report {
        // Fail before a long run, not after it.
        std::fs::write(file, "").map_err(|e| format!("cannot write the report {}: {e}", file.display()))?;
    }
    let mut progress = ProgressReporter::new(args.progress);
    let report = check::run(&config, &options, |p| progress.update(p));
    progress.finish(final_progress(&report));
    let written = match &args.trace_out {
        Some(dir) => write_traces(&report, dir)?,
        None => Vec::new(),
    };
    let links = Links { scenario: &args.scenario.scenario, addr: &args.explorer };
    if let Some(file) = &args.report {
        let html = eos_conformance::html_report::page(&report, &|path| links.url(&report, path));
        std::fs::write(file, html).map_err(|e| format!("cannot write the report {}: {e}", file.display()))?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&json_report(&report, &written)).expect("JSON"));
    } else {
        print_report(&report, &args, &links, &written);
    }
    Ok(exit_status(&report))
}

/// The threads to use: refused when zero (clap), more than the machine can use, or more than one for
/// BFS (whose counterexamples are shortest only in single-threaded order).
fn threads(args: &Args, strategy: Strategy) -> Result<usize, String> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let limit = cores * THREADS_PER_CORE;
    match (args.threads, strategy) {
        (Some(n), _) if n > limit => Err(format!(
            "--threads {n} is more than this machine can use: it has {cores} core(s); at most {limit} threads \
             ({THREADS_PER_CORE} per core) are accepted"
        )),
        (Some(n), Strategy::Bfs) if n > 1 => Err(format!(
            "--strategy bfs runs on one thread (its counterexamples are shortest only in that order); drop \
             --threads {n}, or use --strategy dfs for a parallel check"
        )),
        (_, Strategy::Bfs) => Ok(1),
        (Some(n), _) => Ok(n),
        (None, _) => Ok(cores),
    }
}

/// SIGINT and SIGTERM stop the check; it then reports what it found so far and exits 128 + signal.
/// A second signal exits at once.
fn stop_on_signals(stop: &StopHandle) -> Result<(), String> {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])
            .map_err(|e| format!("cannot install the signal handlers: {e}"))?;
        let stop = stop.clone();
        std::thread::spawn(move || {
            for (count, signal) in signals.forever().enumerate() {
                if count == 0 {
                    eprintln!(
                        "\neos check: {} received: stopping, the summary so far follows",
                        verdicts::signal_name(signal)
                    );
                    stop.interrupt(signal);
                } else {
                    std::process::exit(128 + signal);
                }
            }
        });
    }
    let _ = stop;
    Ok(())
}

fn final_progress(report: &CheckReport) -> Progress {
    let sim = matches!(report.strategy, Strategy::Simulation { .. });
    Progress {
        unique_states: report.unique_states,
        total_states: report.total_states,
        checked_states: report.checked_states,
        frontier: (!sim).then(|| report.unique_states.saturating_sub(report.checked_states)),
        max_depth: report.max_depth,
        elapsed: report.elapsed,
    }
}

/// Explorer deep links for the scenario as the user named it (a built-in name or a file path).
pub struct Links<'a> {
    scenario: &'a str,
    addr: &'a str,
}

impl Links<'_> {
    /// The command that serves the explorer for this scenario and protocol.
    fn command(&self, report: &CheckReport) -> String {
        format!("eos explore {} --protocol {}", shell_word(self.scenario), report.protocol())
    }

    /// The URL of the end of `path` in that explorer.
    fn url(&self, report: &CheckReport, path: &stateright::Path<eos_model::State, eos_model::Action>) -> String {
        check::explorer_link(&EosModel::new(report.config.clone()), path, self.addr)
    }
}

fn write_traces(report: &CheckReport, dir: &PathBuf) -> Result<Vec<(String, PathBuf)>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut written = Vec::new();
    for verdict in &report.verdicts {
        let (origin, path) = match &verdict.outcome {
            Outcome::Violated(path) => (Origin::Counterexample, path),
            Outcome::Reached(path) => (Origin::Example, path),
            _ => continue,
        };
        let trace = Trace::from_path(&report.config, origin, Some(verdict.name), path);
        let file = dir.join(trace.file_name());
        trace.write(&file).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
        written.push((verdict.name.to_string(), file));
    }
    Ok(written)
}

fn json_report(report: &CheckReport, written: &[(String, PathBuf)]) -> serde_json::Value {
    let model = EosModel::new(report.config.clone());
    let properties: Vec<serde_json::Value> = report
        .verdicts
        .iter()
        .map(|v| {
            let (verdict, steps) = match &v.outcome {
                Outcome::Holds if report.exhaustive() => ("holds", None),
                Outcome::Holds => ("no_violation_found", None),
                Outcome::Violated(p) => ("violated", Some(p.clone().into_actions().len())),
                Outcome::Reached(p) => ("reached", Some(p.clone().into_actions().len())),
                Outcome::NotReached => ("not_reached", None),
            };
            let kind = match v.expectation {
                stateright::Expectation::Sometimes => "sometimes",
                _ if eos_model::properties::is_liveness(v.name) => "liveness",
                _ => "always",
            };
            let trace = written.iter().find(|(n, _)| n == v.name).map(|(_, f)| f.display().to_string());
            let explanation = v.outcome.path().map(|path| explain::why(&model, v.name, path));
            serde_json::json!({
                "name": v.name, "kind": kind, "verdict": verdict, "steps": steps,
                "expected": if v.expected_violated { "violated" } else { "holds" },
                "unexpected_violation": v.violated() && !v.expected_violated,
                "explanation": explanation, "trace": trace,
            })
        })
        .collect();
    let coverage = match report.coverage {
        check::Coverage::Exhaustive => serde_json::json!({"kind": "exhaustive"}),
        check::Coverage::DepthBound { bound } => serde_json::json!({"kind": "depth_bound", "max_depth": bound}),
        check::Coverage::TimedOut { after, frontier } => {
            serde_json::json!({"kind": "timed_out", "seconds": after.as_secs(), "frontier": frontier})
        }
        check::Coverage::Interrupted { signal, frontier } => {
            serde_json::json!({"kind": "interrupted", "signal": verdicts::signal_name(signal), "frontier": frontier})
        }
        check::Coverage::Simulation => serde_json::json!({"kind": "simulation"}),
    };
    serde_json::json!({
        "scenario": report.config.name,
        "protocol": report.protocol().name(),
        "strategy": report.strategy.name(),
        "threads": report.threads,
        "symmetry": report.symmetry,
        "reduction": report.reduction,
        "exhaustive": report.exhaustive(),
        "coverage": coverage,
        "unique_states": report.unique_states,
        "checked_states": report.checked_states,
        "total_states": report.total_states,
        "max_depth": report.max_depth,
        "seconds": report.elapsed.as_secs_f64(),
        "states_per_second": report.states_per_second(),
        "all_hold": report.all_hold(),
        "as_expected": report.as_expected(),
        "unexpected_violations": report.unexpected_violations(),
        "conclusion": verdicts::conclusion(report),
        "exit_status": exit_status(report),
        "properties": properties,
    })
}

fn print_report(report: &CheckReport, args: &Args, links: &Links, written: &[(String, PathBuf)]) {
    let c = &report.config;
    println!(
        "eos check {} --protocol {} ({}, symmetry {}{}, {} thread{})",
        shell_word(links.scenario),
        c.protocol,
        report.strategy.name(),
        if report.symmetry { "on" } else { "off" },
        if report.reduction { ", partial-order reduction" } else { "" },
        report.threads,
        if report.threads == 1 { "" } else { "s" }
    );
    println!("  {}", c.summary);
    println!(
        "  {}, depth {}, in {:.2} s ({} states/s): {}\n",
        verdicts::explored_text(report),
        report.max_depth,
        report.elapsed.as_secs_f64(),
        thousands(report.states_per_second() as usize),
        verdicts::coverage_text(report)
    );
    for v in &report.verdicts {
        let note = verdicts::expectation_note(v);
        let note = if note.is_empty() { String::new() } else { format!("   [{note}]") };
        println!("  {:<32} {}{note}", v.name, verdicts::verdict_text(report, v));
    }
    let model = EosModel::new(c.clone());
    // Shortest counterexample first: it is usually the root cause the others follow from.
    let mut violated: Vec<_> = report.verdicts.iter().filter(|v| v.violated()).collect();
    violated.sort_by_key(|v| v.outcome.path().map_or(0, |p| p.clone().into_actions().len()));
    for (i, v) in violated.iter().enumerate() {
        let Outcome::Violated(path) = &v.outcome else { continue };
        println!("\n✗ {} is violated:", v.name);
        if i == 0 || args.all {
            print!("{}", steps_table(path));
        }
        println!("  why: {}", explain::why(&model, v.name, path));
        println!(
            "  explore this counterexample of {}: `{}`, then open {}",
            v.name,
            links.command(report),
            links.url(report, path)
        );
        if let Some((_, file)) = written.iter().find(|(n, _)| n == v.name) {
            println!("  trace:   {}", file.display());
        }
    }
    if violated.len() > 1 && !args.all {
        println!("\n(step tables for the other violated properties: add --all)");
    }
    if let Some(file) = &args.report {
        println!("\nreport: {}", file.display());
    }
    println!("\n{}", verdicts::conclusion(report));
}
