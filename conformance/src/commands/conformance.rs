//! `eos conformance`: replay the model's traces against an implementation.

use eos_broker::Faults;
use eos_conformance::mutants::{self, parse_fault};
use eos_conformance::render::thousands;
use eos_conformance::suite::{self, ScenarioReport, SuiteOptions};
use eos_conformance::wire::corpus::CorpusOptions;
use eos_conformance::wire::realise::Abilities;
use eos_conformance::wire::suite::WireSuiteOptions;
use eos_model::{scenario, Config, Protocol};
use std::path::PathBuf;

/// Most walks per scenario and protocol: 100,000 walks of 200 steps are about 20 M replayed steps,
/// several minutes per scenario; more is a typo, not a plan.
const MAX_WALKS: u64 = 100_000;
/// Longest walk: far beyond the deepest path of any scenario.
const MAX_WALK_LENGTH: u64 = 10_000;
/// Largest state space enumerated edge by edge (memory grows with it).
const MAX_ENUMERATE: u64 = 10_000_000;

/// A count in `min..=max`, refused by clap (exit 2, with the range) otherwise.
fn count(min: u64, max: u64) -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(min..=max)
}

/// Arguments of `eos conformance`.
#[derive(clap::Args)]
pub struct Args {
    /// Scenarios to run (default: all).
    scenarios: Vec<String>,
    /// Only this protocol (default: tv1, tv1-verified and tv2).
    #[arg(long)]
    protocol: Option<Protocol>,
    /// The implementation: `inproc` (eos-broker's in-process cluster) or `kafka://HOST:PORT` (any
    /// Kafka-compatible broker over the wire: the model's realisable traces).
    #[arg(long, default_value = "inproc")]
    target: String,
    /// kafka:// target: at most this many traces per scenario and protocol (discoveries first, then
    /// the enumeration spread evenly, then walks); default: all.
    #[arg(long)]
    max_traces: Option<usize>,
    /// kafka:// target: traces replayed at once, each over its own connections.
    #[arg(long, default_value_t = 4)]
    jobs: usize,
    /// kafka:// target: how many failing traces per scenario and protocol to shrink (each shrink
    /// replays up to 40 candidates over the wire).
    #[arg(long, default_value_t = 1)]
    shrink: usize,
    #[command(flatten)]
    wire: super::wire::WireArgs,
    /// kafka:// target, with --restart-with: at most this many traces that fail over, per scenario
    /// and protocol (each restart takes seconds).
    #[arg(long)]
    max_failover_traces: Option<usize>,
    /// Random walks per scenario and protocol (beside the edge enumeration).
    #[arg(long, default_value_t = 20, value_parser = count(0, MAX_WALKS))]
    walks: usize,
    /// Random walks per protocol for a scenario too large to enumerate (instead of --walks): walks
    /// are then all the suite has of it beside the checker's discoveries.
    #[arg(long, default_value_t = 1000, value_parser = count(0, MAX_WALKS))]
    large_walks: usize,
    /// Steps per walk at most.
    #[arg(long, default_value_t = 200, value_parser = count(1, MAX_WALK_LENGTH))]
    walk_length: usize,
    /// Seed of the first walk.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Enumerate every (state, action) edge of scenarios with at most this many states (0: never).
    #[arg(long, default_value_t = 100_000, value_parser = count(0, MAX_ENUMERATE))]
    enumerate_limit: usize,
    /// Run against the implementation with this seeded fault switched on (testing the harness).
    #[arg(long)]
    fault: Vec<String>,
    /// Run the suite once per seeded fault and report which traces caught each.
    #[arg(long)]
    mutants: bool,
    /// With --mutants: stop a fault's search after this many catching traces.
    #[arg(long, default_value_t = 3, value_parser = count(1, 1000))]
    catches: usize,
    /// Where failing traces are written.
    #[arg(long, default_value = "target/eos-conformance")]
    out: PathBuf,
    /// Do not shrink failing traces.
    #[arg(long)]
    no_shrink: bool,
    /// Stop at the first trace that fails (not shrunk): a quick yes/no, e.g. for mutation testing.
    #[arg(long)]
    fail_fast: bool,
    /// Print a machine-readable JSON report on stdout.
    #[arg(long)]
    json: bool,
}

/// The scenarios to run: each under every protocol (or `--protocol`); a bug of the museum under its
/// own protocol, with its fix on and off.
fn configs(args: &Args) -> Result<Vec<Config>, String> {
    let names: Vec<String> = if args.scenarios.is_empty() {
        let museum = scenario::MUSEUM.iter().map(|(n, _)| *n);
        scenario::names().into_iter().chain(museum).map(|s| s.to_string()).collect()
    } else {
        args.scenarios.clone()
    };
    let protocols: Vec<Protocol> = args.protocol.map_or(Protocol::ALL.to_vec(), |p| vec![p]);
    let mut out = Vec::new();
    for name in &names {
        let config = super::load_scenario(name, None)?;
        match config.without_fix() {
            Some(unfixed) => {
                out.extend([config, unfixed].into_iter().filter(|c| protocols.contains(&c.protocol)));
            }
            None => out.extend(protocols.iter().map(|p| config.with_protocol(*p))),
        }
    }
    Ok(out)
}

/// Runs the suite (or the mutants) and prints the report.
pub fn run(args: Args) -> Result<u8, String> {
    if super::wire::is_kafka(&args.target) {
        return run_wire(&args);
    }
    if args.target != "inproc" {
        return Err(format!("unknown target `{}`: expected inproc or kafka://HOST:PORT", args.target));
    }
    let mut faults = Faults::none();
    for name in &args.fault {
        faults.enable(parse_fault(name)?);
    }
    let configs = configs(&args)?;
    let options = SuiteOptions {
        walks: args.walks,
        large_walks: args.large_walks,
        walk_length: args.walk_length,
        seed: args.seed,
        enumerate_limit: args.enumerate_limit,
        faults,
        out_dir: Some(args.out.clone()),
        stop_after_failures: args.fail_fast.then_some(1),
        shrink: !args.no_shrink && !args.fail_fast,
    };
    if args.mutants {
        return Ok(run_mutants(&configs, &options, &args));
    }
    let mut reports = Vec::new();
    for config in &configs {
        let report = suite::run(config, &options);
        if !args.json {
            print_line(&report);
        }
        let stop = args.fail_fast && !report.passed();
        reports.push(report);
        if stop {
            break;
        }
    }
    let passed = reports.iter().all(ScenarioReport::passed);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "passed": passed, "scenarios": reports })).expect("JSON")
        );
    } else {
        print_summary(&reports);
    }
    Ok(if passed { crate::EXIT_OK } else { crate::EXIT_FAILED })
}

/// The suite against a broker over the wire.
fn run_wire(args: &Args) -> Result<u8, String> {
    if !args.fault.is_empty() || args.mutants {
        return Err("--fault and --mutants seed bugs into eos-broker: they apply to --target inproc only".to_string());
    }
    let names: Vec<String> = if args.scenarios.is_empty() {
        let museum = scenario::MUSEUM.iter().map(|(n, _)| *n);
        scenario::names().into_iter().chain(museum).map(|s| s.to_string()).collect()
    } else {
        args.scenarios.clone()
    };
    // A museum bug runs under its own protocol only, fixed and unfixed (as in-process): an unfixed
    // run that switches a Kafka fix off is skipped and counted; one under an older protocol runs.
    let mut configs = Vec::new();
    for name in &names {
        let config = super::load_scenario(name, None)?;
        let unfixed = config.without_fix();
        configs.push(config);
        configs.extend(unfixed);
    }
    let options = WireSuiteOptions {
        corpus: CorpusOptions {
            enumerate_limit: args.enumerate_limit,
            max_traces: args.max_traces,
            walks: args.walks,
            walk_length: args.walk_length,
            seed: args.seed,
            model_discoveries: true,
            abilities: Abilities { restart: args.wire.restart_with.is_some() },
            max_failover_paths: args.max_failover_traces,
        },
        jobs: args.jobs,
        max_failover_traces: args.max_failover_traces,
        out_dir: Some(args.out.clone()),
        shrink: if args.no_shrink { 0 } else { args.shrink },
        ..WireSuiteOptions::default()
    };
    let wire = args.wire.options();
    super::wire::conformance(&args.target, &configs, args.protocol, &options, &wire, args.json)
}

fn print_line(r: &ScenarioReport) {
    let coverage = match (r.coverage.edge_percent(), r.coverage.edges_total) {
        (Some(p), Some(total)) => {
            format!("{}/{} edges ({p:.1}%)", thousands(r.coverage.edges_covered), thousands(total))
        }
        _ => format!("{} edges (walks only)", thousands(r.coverage.edges_covered)),
    };
    let kinds = match &r.coverage.kinds_possible {
        Some(p) => format!("{}/{} kinds", r.coverage.kinds_covered.len(), p.len()),
        None => format!("{} kinds", r.coverage.kinds_covered.len()),
    };
    let reproduced = r.counterexamples.iter().filter(|c| c.class == c.expected).count();
    let cx = if r.counterexamples.is_empty() {
        String::new()
    } else {
        format!(", counterexamples {reproduced}/{} as expected", r.counterexamples.len())
    };
    println!(
        "{:<28} {:<13} {:>7} traces {:>10} steps  {} conform{cx}  {coverage}, {kinds}  {:.1}s {}",
        r.scenario,
        r.protocol,
        thousands(r.traces),
        thousands(r.steps),
        thousands(r.conforming),
        r.seconds,
        if r.passed() { "ok" } else { "FAILED" }
    );
    for f in &r.failures {
        println!("    ✗ {}: {}", f.trace, f.summary);
        for d in f.diffs.iter().take(12) {
            println!("        {d}");
        }
        if let Some(cmd) = &f.reproduce {
            let size = if f.steps.1 < f.steps.0 {
                format!("shrunk from {} to {} steps", f.steps.0, f.steps.1)
            } else {
                format!("{} steps", f.steps.0)
            };
            println!("      {size}; reproduce: {cmd}");
        }
    }
    if r.more_failures > 0 {
        println!("    ✗ … and {} more failing traces", thousands(r.more_failures));
    }
}

fn print_summary(reports: &[ScenarioReport]) {
    let traces: usize = reports.iter().map(|r| r.traces).sum();
    let steps: usize = reports.iter().map(|r| r.steps).sum();
    let seconds: f64 = reports.iter().map(|r| r.seconds).sum();
    let failed: Vec<String> =
        reports.iter().filter(|r| !r.passed()).map(|r| format!("{} {}", r.scenario, r.protocol)).collect();
    println!(
        "\n{} traces, {} steps replayed in {:.1} s ({} steps/s including generation).",
        thousands(traces),
        thousands(steps),
        seconds,
        thousands((steps as f64 / seconds.max(1e-9)) as usize)
    );
    if failed.is_empty() {
        println!("Every trace conforms and every counterexample is triaged as its scenario expects.");
    } else {
        println!("FAILED: {}", failed.join(", "));
    }
}

fn run_mutants(configs: &[Config], options: &SuiteOptions, args: &Args) -> u8 {
    let reports = mutants::run(configs, options, args.catches);
    let all_caught = reports.iter().all(|r| r.caught());
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "all_caught": all_caught, "faults": reports }))
                .expect("JSON")
        );
    } else {
        for r in &reports {
            if r.caught() {
                println!("{:<36} caught (after {} traces) by: {}", r.fault, r.replayed, r.caught_by.join(", "));
            } else {
                println!("{:<36} NOT CAUGHT by any of {} traces", r.fault, r.replayed);
            }
        }
        let caught = reports.iter().filter(|r| r.caught()).count();
        println!("\n{caught} of {} seeded faults caught.", reports.len());
    }
    if all_caught {
        crate::EXIT_OK
    } else {
        crate::EXIT_FAILED
    }
}
