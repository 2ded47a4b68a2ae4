//! `eos conformance --target kafka://HOST:PORT` and `eos replay TRACE --target kafka://HOST:PORT`:
//! the model's realisable traces against a broker over the wire (specs/wire-target.md).

use eos_conformance::render::thousands;
use eos_conformance::trace::Trace;
use eos_conformance::wire::known;
use eos_conformance::wire::names::run_prefix;
use eos_conformance::wire::probe::BrokerInfo;
use eos_conformance::wire::realise::Unrealisable;
use eos_conformance::wire::replay::{WireOptions, WireOutcome, WireTarget};
use eos_conformance::wire::suite::{self, WireReport, WireSuiteOptions};
use eos_conformance::wire::view::WireView;
use eos_conformance::wire::KafkaTarget;
use eos_model::{describe, Config, Protocol};
use std::collections::BTreeMap;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

/// Whether `target` names a broker over the wire.
pub fn is_kafka(target: &str) -> bool {
    target.starts_with("kafka://")
}

/// Probes the broker, or says why it cannot be used (exit 2).
fn probe(target: &str, options: &WireOptions) -> Result<BrokerInfo, String> {
    let target: KafkaTarget = target.parse()?;
    BrokerInfo::probe(&target, options.request_timeout).map_err(|e| format!("{target}: {e}"))
}

/// The protocols to run: the one asked for (which the broker must be able to realise), or the
/// broker's own.
fn protocols(info: &BrokerInfo, asked: Option<Protocol>) -> Result<Vec<Protocol>, String> {
    let protocols = asked.map_or_else(|| info.default_protocols(), |p| vec![p]);
    for p in &protocols {
        info.check_protocol(*p)?;
    }
    Ok(protocols)
}

/// Runs the wire suite for `configs` (each under every chosen protocol) and prints the report.
pub fn conformance(
    target: &str,
    configs: &[Config],
    asked: Option<Protocol>,
    options: &WireSuiteOptions,
    wire: &WireOptions,
    json: bool,
) -> Result<u8, String> {
    let info = probe(target, wire)?;
    let protocols = protocols(&info, asked)?;
    if !json {
        println!("{}", info.describe());
    }
    let run = run_prefix();
    let next_index = AtomicUsize::new(0);
    let mut reports = Vec::new();
    for protocol in &protocols {
        let versions = info.check_protocol(*protocol)?;
        let target = WireTarget { info: info.clone(), versions, options: wire.clone(), run: run.clone() };
        // A museum bug is about its own protocol (its unfixed run may be an older one).
        for config in configs.iter().filter(|c| c.bug.is_none() || c.protocol == *protocol) {
            let report = suite::run(&target, &config.with_protocol(*protocol), options, &next_index)
                .map_err(|panic| format!("{}: {panic}; the run stopped", info.target))?;
            if !json {
                print_line(&report);
            }
            let aborted = report.aborted;
            reports.push(report);
            if aborted {
                return Err(format!("{}: the broker became unreachable; the run stopped", info.target));
            }
        }
    }
    let passed = reports.iter().all(WireReport::passed);
    if json {
        let value = serde_json::json!({ "passed": passed, "target": info.target.to_string(), "scenarios": reports });
        println!("{}", serde_json::to_string_pretty(&value).expect("JSON"));
    } else {
        print_summary(&reports);
    }
    Ok(if passed { crate::EXIT_OK } else { crate::EXIT_FAILED })
}

fn skipped_total(r: &WireReport) -> usize {
    r.skipped.values().sum()
}

fn print_line(r: &WireReport) {
    let coverage = match (r.coverage.edge_percent(), r.coverage.edges_total) {
        (Some(p), Some(total)) => {
            format!("{}/{} eager edges ({p:.1}%)", thousands(r.coverage.edges_covered), thousands(total))
        }
        _ => format!("{} edges", thousands(r.coverage.edges_covered)),
    };
    let counterexamples = if r.counterexamples.is_empty() {
        String::new()
    } else {
        let as_expected = r.counterexamples.iter().filter(|c| c.class == c.expected).count();
        format!(", counterexamples {as_expected}/{} as expected", r.counterexamples.len())
    };
    println!(
        "{:<28} {:<13} {:>6} traces: {} realised, {} skipped; {} conform, {} known, {} diverge, {} broker failures\
         {counterexamples}; {} steps, {:.1} traces/s, {:.0} steps/s; {coverage}  {:.1}s {}",
        r.scenario,
        r.protocol,
        thousands(r.traces),
        thousands(r.realised),
        thousands(skipped_total(r)),
        thousands(r.conforming),
        thousands(r.known.values().sum()),
        thousands(r.diverging),
        thousands(r.broker_failures),
        thousands(r.steps),
        r.traces_per_second(),
        r.steps_per_second(),
        r.seconds,
        if r.passed() { "ok" } else { "FAILED" }
    );
    for (reason, count) in &r.skipped {
        println!("    skipped {count}: {}", reason.reason());
    }
    for (id, count) in &r.known {
        let summary = known::KNOWN.iter().find(|k| k.id == id).map_or("", |k| k.summary);
        println!("    known divergence {id} ({count}): {summary}");
    }
    for f in &r.failures {
        println!("    ✗ {}: {}", f.trace, f.summary);
        for d in f.diffs.iter().take(12) {
            println!("        {d}");
        }
        if let Some(command) = &f.reproduce {
            let size = if f.steps.1 < f.steps.0 {
                format!("shrunk from {} to {} steps", f.steps.0, f.steps.1)
            } else {
                format!("{} steps", f.steps.0)
            };
            println!("      {size}; reproduce: {command}");
        }
    }
    if r.more_failures > 0 {
        println!("    ✗ … and {} more failing traces", thousands(r.more_failures));
    }
}

fn print_summary(reports: &[WireReport]) {
    let sum = |f: fn(&WireReport) -> usize| -> usize { reports.iter().map(f).sum() };
    let seconds: f64 = reports.iter().map(|r| r.seconds).sum();
    let mut skipped: BTreeMap<Unrealisable, usize> = BTreeMap::new();
    for r in reports {
        for (reason, n) in &r.skipped {
            *skipped.entry(*reason).or_default() += n;
        }
    }
    println!(
        "\n{} traces: {} realised, {} skipped; {} conform, {} known, {} diverge, {} broker failures; {} steps in \
         {:.1} s ({:.1} traces/s, {:.0} steps/s).",
        thousands(sum(|r| r.traces)),
        thousands(sum(|r| r.realised)),
        thousands(sum(skipped_total)),
        thousands(sum(|r| r.conforming)),
        thousands(sum(|r| r.known.values().sum())),
        thousands(sum(|r| r.diverging)),
        thousands(sum(|r| r.broker_failures)),
        thousands(sum(|r| r.steps)),
        seconds,
        sum(|r| r.traces) as f64 / seconds.max(1e-9),
        sum(|r| r.steps) as f64 / seconds.max(1e-9),
    );
    for (reason, n) in &skipped {
        println!("  skipped {n}: {}", reason.reason());
    }
    let failed: Vec<String> =
        reports.iter().filter(|r| !r.passed()).map(|r| format!("{} {}", r.scenario, r.protocol)).collect();
    if failed.is_empty() {
        println!("Every realised trace conforms and every counterexample is triaged as its scenario expects.");
    } else {
        println!("FAILED: {}", failed.join(", "));
    }
}

/// Replays one trace against the broker and prints each step and, at the end, what a client sees.
pub fn replay(target: &str, trace: &Trace, wire: &WireOptions) -> Result<u8, String> {
    let info = probe(target, wire)?;
    let versions = info.check_protocol(trace.protocol)?;
    let target = WireTarget { info: info.clone(), versions, options: wire.clone(), run: run_prefix() };
    println!("{}", info.describe());
    let (outcome, seen) = target.replay_observed(trace, 0);
    let answer = |step: usize| seen.responses.get(&step).map_or(String::new(), |r| format!("  → {r}"));
    let last_good = match &outcome {
        WireOutcome::Conforms { steps } => *steps,
        WireOutcome::Diverged(d) | WireOutcome::Known { divergence: d, .. } => d.step.saturating_sub(1),
        WireOutcome::Skipped { .. } => 0,
        WireOutcome::Failed { step, .. } | WireOutcome::InvalidTrace { step, .. } => step.saturating_sub(1),
    };
    for (i, step) in trace.steps.iter().enumerate().take(last_good) {
        let (actor, action) = (describe::actor(&step.action), describe::action(&step.action));
        println!("  {:>4} ✓ {actor:<12} {action}{}", i + 1, answer(i + 1));
    }
    if let WireOutcome::Diverged(d) | WireOutcome::Known { divergence: d, .. } = &outcome {
        if let Some(action) = &d.action {
            println!("  {:>4} ✗ {:<12} {}", d.step, describe::actor(action), describe::action(action));
        }
    }
    println!("\n{}", outcome.summary());
    if let WireOutcome::Diverged(d) | WireOutcome::Known { divergence: d, .. } = &outcome {
        let width = d.diffs.iter().map(|f| f.path.len()).max().unwrap_or(5).max(5);
        println!("  {:<width$}  {:<40}  broker", "field", "model");
        for f in &d.diffs {
            println!("  {:<width$}  {:<40}  {}", f.path, f.left, f.right);
        }
    }
    if let Some(view) = &seen.view {
        print_partitions(view);
    }
    Ok(match outcome {
        WireOutcome::Conforms { .. } | WireOutcome::Known { .. } => crate::EXIT_OK,
        WireOutcome::Skipped { .. } | WireOutcome::Failed { .. } => crate::EXIT_USAGE,
        _ => crate::EXIT_FAILED,
    })
}

/// Each partition's offsets as the broker last showed them, and any transaction left open.
fn print_partitions(view: &WireView) {
    println!("\nwhat a client sees on the broker at the end:");
    for p in &view.partitions {
        let open: Vec<String> = p
            .producers
            .iter()
            .flatten()
            .filter_map(|s| s.open_transaction.map(|o| format!("producer {} from offset {o}", s.producer_id)))
            .collect();
        let hanging = if p.last_stable_offset < p.high_watermark {
            format!(" — the LSO is held back by an open transaction ({})", open.join(", "))
        } else {
            String::new()
        };
        println!(
            "  {}: high watermark {}, last stable offset {}; read_committed {:?}, read_uncommitted {:?}{hanging}",
            p.partition, p.high_watermark, p.last_stable_offset, p.read_committed, p.read_uncommitted
        );
    }
}

/// The command line's options of a kafka:// target, shared by `eos conformance` and `eos replay`.
#[derive(clap::Args)]
pub struct WireArgs {
    /// kafka:// target: every request's deadline, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    request_timeout_ms: u64,
    /// kafka:// target: the transaction timeout of a transactional id that times out in the trace.
    #[arg(long, default_value_t = 1_000)]
    transaction_timeout_ms: u64,
    /// kafka:// target: a shell command that restarts the broker (for a broker this machine runs,
    /// e.g. `conformance/kafka/kafka.sh restart DIR`): coordinator failovers are then realised as
    /// restarts, one trace at a time after the others.
    #[arg(long)]
    pub restart_with: Option<String>,
}

impl WireArgs {
    /// The wire options these arguments ask for.
    pub fn options(&self) -> WireOptions {
        WireOptions {
            request_timeout: Duration::from_millis(self.request_timeout_ms),
            short_transaction_timeout: Duration::from_millis(self.transaction_timeout_ms),
            restart: self.restart_with.clone(),
            ..WireOptions::default()
        }
    }
}
