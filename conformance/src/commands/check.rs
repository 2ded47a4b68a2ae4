//! `eos check`: model-check one scenario under one protocol.

use eos_conformance::render::{steps_table, thousands};
use eos_conformance::trace::{Origin, Trace};
use eos_model::check::{self, CheckOptions, CheckReport, Outcome, Progress, Strategy};
use eos_model::EosModel;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Arguments of `eos check`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    scenario: super::ScenarioArgs,
    /// Exploration: dfs (exhaustive, symmetry-reduced), bfs (exhaustive, shortest counterexamples
    /// with one thread) or sim (random walks).
    #[arg(long, default_value = "dfs", value_parser = ["dfs", "bfs", "sim"])]
    strategy: String,
    /// Worker threads (default: the machine's cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Random seed for --strategy sim.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Explore at most this many steps deep.
    #[arg(long)]
    max_depth: Option<usize>,
    /// Stop after this many seconds (sim defaults to 10).
    #[arg(long)]
    timeout: Option<u64>,
    /// Turn symmetry reduction off (it applies to dfs and sim).
    #[arg(long)]
    no_symmetry: bool,
    /// Print a machine-readable JSON report on stdout.
    #[arg(long)]
    json: bool,
    /// Write every counterexample and example as an eos-trace/1 file into this directory.
    #[arg(long)]
    trace_out: Option<PathBuf>,
    /// Print the step table of every violated property (default: the first only).
    #[arg(long)]
    all: bool,
    /// Address the explorer deep links point at (see `eos explore`).
    #[arg(long, default_value = "127.0.0.1:3000")]
    explorer: String,
}

/// Runs the check and prints the report.
pub fn run(args: Args) -> Result<u8, String> {
    let config = args.scenario.load()?;
    let strategy = match args.strategy.as_str() {
        "bfs" => Strategy::Bfs,
        "sim" => Strategy::Simulation { seed: args.seed },
        _ => Strategy::Dfs,
    };
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if threads == 0 {
        return Err("--threads must be at least 1".to_string());
    }
    let options = CheckOptions {
        strategy,
        threads,
        symmetry: !args.no_symmetry,
        max_depth: args.max_depth,
        timeout: args.timeout.map(Duration::from_secs),
    };
    let mut progress = ProgressReporter::new();
    let report = check::run(&config, &options, |p| progress.update(p));
    progress.finish();
    let written = match &args.trace_out {
        Some(dir) => write_traces(&report, dir)?,
        None => Vec::new(),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&json_report(&report, &written)).expect("JSON"));
    } else {
        print_report(&report, &args, threads, &written);
    }
    Ok(if report.all_hold() { crate::EXIT_OK } else { crate::EXIT_FAILED })
}

/// Progress on stderr: a spinner on a terminal, a line every 5 s otherwise.
struct ProgressReporter {
    bar: Option<ProgressBar>,
    last_line: Instant,
}

impl ProgressReporter {
    fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("valid template"));
            bar
        });
        ProgressReporter { bar, last_line: Instant::now() }
    }

    fn update(&mut self, p: Progress) {
        let rate = p.unique_states as f64 / p.elapsed.as_secs_f64().max(1e-9);
        let message = format!(
            "{} unique states ({} generated), {} states/s, depth {}, {:.0} s",
            thousands(p.unique_states),
            thousands(p.total_states),
            thousands(rate as usize),
            p.max_depth,
            p.elapsed.as_secs_f64()
        );
        match &self.bar {
            Some(bar) => {
                bar.set_message(message);
                bar.tick();
            }
            None if self.last_line.elapsed() >= Duration::from_secs(5) => {
                eprintln!("eos check: {message}");
                self.last_line = Instant::now();
            }
            None => {}
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
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
    let properties: Vec<serde_json::Value> = report
        .verdicts
        .iter()
        .map(|v| {
            let (verdict, steps) = match &v.outcome {
                Outcome::Holds => ("holds", None),
                Outcome::Violated(p) => ("violated", Some(p.clone().into_actions().len())),
                Outcome::Reached(p) => ("reached", Some(p.clone().into_actions().len())),
                Outcome::NotReached => ("not_reached", None),
            };
            let kind = match v.expectation {
                stateright::Expectation::Sometimes => "sometimes",
                _ if is_liveness(v.name) => "liveness",
                _ => "always",
            };
            let trace = written.iter().find(|(n, _)| n == v.name).map(|(_, f)| f.display().to_string());
            serde_json::json!({
                "name": v.name, "kind": kind, "verdict": verdict, "steps": steps,
                "expected": if v.expected_violated { "violated" } else { "holds" }, "trace": trace,
            })
        })
        .collect();
    serde_json::json!({
        "scenario": report.config.name,
        "protocol": report.protocol().name(),
        "strategy": report.strategy.name(),
        "symmetry": report.symmetry,
        "exhaustive": report.exhaustive,
        "unique_states": report.unique_states,
        "total_states": report.total_states,
        "max_depth": report.max_depth,
        "seconds": report.elapsed.as_secs_f64(),
        "states_per_second": report.states_per_second(),
        "all_hold": report.all_hold(),
        "as_expected": report.as_expected(),
        "properties": properties,
    })
}

fn is_liveness(name: &str) -> bool {
    matches!(name, "prepare_completes" | "ongoing_ends" | "lso_advances" | "committed_eventually_visible")
}

fn print_report(report: &CheckReport, args: &Args, threads: usize, written: &[(String, PathBuf)]) {
    let c = &report.config;
    println!(
        "eos check {} --protocol {} ({}, symmetry {}, {} thread{})",
        c.name,
        c.protocol,
        report.strategy.name(),
        if report.symmetry { "on" } else { "off" },
        threads,
        if threads == 1 { "" } else { "s" }
    );
    println!("  {}", c.summary);
    let scope = if report.exhaustive { "exhaustive" } else { "NOT exhaustive (bounded by depth, time or simulation)" };
    let counted = if matches!(report.strategy, Strategy::Simulation { .. }) {
        format!("visited {} states on random walks", thousands(report.total_states))
    } else {
        format!(
            "explored {} unique states ({} generated)",
            thousands(report.unique_states),
            thousands(report.total_states)
        )
    };
    println!(
        "  {counted}, depth {}, in {:.2} s ({} states/s): {scope}\n",
        report.max_depth,
        report.elapsed.as_secs_f64(),
        thousands(report.states_per_second() as usize)
    );
    for v in &report.verdicts {
        let text = match &v.outcome {
            Outcome::Holds => "holds".to_string(),
            Outcome::Violated(p) => format!("VIOLATED (counterexample in {} steps)", p.clone().into_actions().len()),
            Outcome::Reached(p) => format!("reached (example in {} steps)", p.clone().into_actions().len()),
            Outcome::NotReached if report.exhaustive => "NEVER REACHED".to_string(),
            Outcome::NotReached => "NOT REACHED within the bounds of this run".to_string(),
        };
        let note = if v.expected_violated { "   [expected: violated]" } else { "" };
        println!("  {:<32} {text}{note}", v.name);
    }
    let model = EosModel::new(c.clone());
    // Shortest counterexample first: it is usually the root cause the others follow from.
    let mut violated: Vec<_> = report.verdicts.iter().filter(|v| matches!(v.outcome, Outcome::Violated(_))).collect();
    violated.sort_by_key(|v| match &v.outcome {
        Outcome::Violated(path) => path.clone().into_actions().len(),
        _ => 0,
    });
    for (i, v) in violated.iter().enumerate() {
        let Outcome::Violated(path) = &v.outcome else { continue };
        println!("\n✗ {} is violated:", v.name);
        if i == 0 || args.all {
            print!("{}", steps_table(path));
        }
        println!(
            "  explore: `eos explore {} --protocol {}`, then open {}",
            c.name,
            c.protocol,
            check::explorer_link(&model, path, &args.explorer)
        );
        if let Some((_, file)) = written.iter().find(|(n, _)| n == v.name) {
            println!("  trace:   {}", file.display());
        }
    }
    if violated.len() > 1 && !args.all {
        println!("\n(step tables for the other violated properties: add --all)");
    }
    let total = report.verdicts.len();
    println!();
    if report.all_hold() {
        println!("All {total} properties hold.");
    } else {
        let failed = report.verdicts.iter().filter(|v| !v.passed()).count();
        let expectation = if report.as_expected() { " (as the scenario expects)" } else { "" };
        println!("{failed} of {total} properties fail{expectation}.");
    }
}
