//! The wire suite of one scenario under one protocol against one broker: the realisable corpus
//! replayed over several connections at once (traces are independent: each has its own topics,
//! transactional ids and group), counted as realised or skipped (with the reason), conforming or
//! diverging, with counterexamples triaged and divergences shrunk and saved as in-process ones are.

use super::corpus::{self, CorpusOptions};
use super::realise::{self, Unrealisable};
use super::replay::{WireOutcome, WireTarget};
use crate::coverage::{Coverage, CoverageReport};
use crate::shrink;
use crate::suite::{Failure, NamedTrace, TriageResult};
use crate::trace::Origin;
use eos_model::config::Triage;
use eos_model::Config;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Instant;

/// Knobs of a wire suite run.
#[derive(Clone, Debug)]
pub struct WireSuiteOptions {
    /// Which traces.
    pub corpus: CorpusOptions,
    /// Traces replayed at once (each over its own connections).
    pub jobs: usize,
    /// Where failing traces are written.
    pub out_dir: Option<PathBuf>,
    /// Shrink this many failing traces per scenario and protocol (0: none).
    pub shrink: usize,
    /// Replays a shrink may spend.
    pub shrink_budget: usize,
    /// At most this many traces that restart the broker (coordinator failovers), per scenario and
    /// protocol; they run one at a time after the others.
    pub max_failover_traces: Option<usize>,
}

impl Default for WireSuiteOptions {
    fn default() -> Self {
        WireSuiteOptions {
            corpus: CorpusOptions::default(),
            jobs: 4,
            out_dir: None,
            shrink: 1,
            shrink_budget: 40,
            max_failover_traces: None,
        }
    }
}

/// The result of one scenario under one protocol against one broker.
#[derive(Clone, Debug, Serialize)]
pub struct WireReport {
    /// The scenario.
    pub scenario: String,
    /// The protocol.
    pub protocol: String,
    /// The broker.
    pub target: String,
    /// Traces tried.
    pub traces: usize,
    /// Traces realised on the broker (tried minus skipped).
    pub realised: usize,
    /// Skipped traces per reason.
    pub skipped: BTreeMap<Unrealisable, usize>,
    /// Realised traces that conform.
    pub conforming: usize,
    /// Realised traces that diverge.
    pub diverging: usize,
    /// Realised traces that diverge in a known way, per known divergence.
    pub known: BTreeMap<String, usize>,
    /// Traces the broker failed to answer properly.
    pub broker_failures: usize,
    /// Steps of the realised traces, as far as each got.
    pub steps: usize,
    /// Counterexamples (realised ones) and their classes.
    pub counterexamples: Vec<TriageResult>,
    /// Edges of the eager graph taken by conforming steps.
    pub coverage: CoverageReport,
    /// The first failing traces, shrunk and saved.
    pub failures: Vec<Failure>,
    /// Further failing traces, counted only.
    pub more_failures: usize,
    /// Wall time.
    pub seconds: f64,
    /// Whether the run stopped early because the broker became unreachable.
    pub aborted: bool,
}

impl WireReport {
    /// Every realised trace conforms, every realised counterexample is triaged as expected, and the
    /// broker answered throughout.
    pub fn passed(&self) -> bool {
        self.failures.is_empty() && self.more_failures == 0 && !self.aborted
    }

    /// Traces per second.
    pub fn traces_per_second(&self) -> f64 {
        self.traces as f64 / self.seconds.max(1e-9)
    }

    /// Realised steps per second.
    pub fn steps_per_second(&self) -> f64 {
        self.steps as f64 / self.seconds.max(1e-9)
    }
}

/// A replay thread panicked: the run ends (an error, not a verdict), naming the trace.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("replaying {trace} panicked: {message}")]
pub struct WorkerPanic {
    /// The trace whose replay panicked.
    pub trace: String,
    /// The panic's message.
    pub message: String,
}

/// How many failing traces are reported in detail.
pub const DETAILED_FAILURES: usize = 5;

/// Runs the wire suite of `config` (under its protocol) against `target`. `next_index` numbers
/// traces across the whole run, so every trace gets fresh names. A replay that panics ends the run
/// with [`WorkerPanic`].
pub fn run(
    target: &WireTarget,
    config: &Config,
    options: &WireSuiteOptions,
    next_index: &AtomicUsize,
) -> Result<WireReport, WorkerPanic> {
    let start = Instant::now();
    let corpus = corpus::corpus(config, &options.corpus);
    let mut report = WireReport {
        scenario: config.name.clone(),
        protocol: config.protocol.to_string(),
        target: target.info.target.to_string(),
        traces: 0,
        realised: 0,
        skipped: BTreeMap::new(),
        conforming: 0,
        diverging: 0,
        known: BTreeMap::new(),
        broker_failures: 0,
        steps: 0,
        counterexamples: Vec::new(),
        coverage: Coverage::default().report(None),
        failures: Vec::new(),
        more_failures: 0,
        seconds: 0.0,
        aborted: false,
    };
    let mut coverage = Coverage::default();
    let mut failing: Vec<(NamedTrace, WireOutcome)> = Vec::new();
    // Restarts disturb every trace in flight: traces that fail over run alone, after the others.
    let mut failovers: Vec<NamedTrace> = Vec::new();
    let restarts = |named: &NamedTrace| realise::fails_over(&named.trace) && target.options.restart.is_some();
    let others = corpus.iter().filter(|named| {
        if !restarts(named) {
            return true;
        }
        if options.max_failover_traces.is_none_or(|max| failovers.len() < max) {
            failovers.push(named.clone().into_owned());
        }
        false
    });
    let mut done = |named: NamedTrace, outcome: WireOutcome| {
        tally(&mut report, &mut coverage, config, &named, &outcome);
        let unreachable = matches!(&outcome, WireOutcome::Failed { error, .. } if error.is_unreachable());
        if !is_ok(&named, &outcome, config) {
            if failing.len() < DETAILED_FAILURES {
                failing.push((named, outcome));
            } else {
                report.more_failures += 1;
            }
        }
        if unreachable {
            report.aborted = true;
        }
        !unreachable
    };
    let replay = |trace: &crate::trace::Trace| target.replay(trace, next_index.fetch_add(1, Ordering::Relaxed));
    let stopped = replay_pipelined(&replay, others, options.jobs.max(1), &mut done)?;
    if !stopped {
        replay_pipelined(&replay, failovers.into_iter().map(Cow::Owned), 1, &mut done)?;
    }
    for (index, (named, outcome)) in failing.into_iter().enumerate() {
        let shrink = index < options.shrink && !report.aborted;
        let replay = |t: &crate::trace::Trace| target.replay(t, next_index.fetch_add(1, Ordering::Relaxed));
        report.failures.push(failure(&replay, &target.info.target.to_string(), &named, &outcome, options, shrink)?);
    }
    report.coverage = coverage.report(corpus.graph.as_ref());
    report.seconds = start.elapsed().as_secs_f64();
    Ok(report)
}

/// A replay's outcome, or the message of its panic.
type Replayed = Result<WireOutcome, String>;

/// Replays `traces` with `replay` on `jobs` threads, calling `done` in the main thread as outcomes
/// arrive (in completion order); `done` returning false stops the run, and then this returns true.
/// A replay that panics stops the run too: its thread reports the panic instead of dying silently
/// (which would leave the main thread waiting for an outcome that never comes), the other threads
/// finish the traces they hold, and this returns the panic with the trace's name.
fn replay_pipelined<'c>(
    replay: &(dyn Fn(&crate::trace::Trace) -> WireOutcome + Sync),
    traces: impl Iterator<Item = Cow<'c, NamedTrace>>,
    jobs: usize,
    done: &mut impl FnMut(NamedTrace, WireOutcome) -> bool,
) -> Result<bool, WorkerPanic> {
    let (work_tx, work_rx) = mpsc::sync_channel::<NamedTrace>(jobs * 2);
    let work_rx = Mutex::new(work_rx);
    let (result_tx, result_rx) = mpsc::channel::<(NamedTrace, Replayed)>();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let result_tx = result_tx.clone();
            let work_rx = &work_rx;
            scope.spawn(move || loop {
                // A poisoned queue means another thread panicked holding it: nothing more to do.
                let Ok(queue) = work_rx.lock() else { break };
                let next = queue.recv();
                drop(queue);
                let Ok(named) = next else { break };
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| replay(&named.trace)))
                    .map_err(|payload| panic_message(payload.as_ref()));
                if result_tx.send((named, outcome)).is_err() {
                    break;
                }
            });
        }
        drop(result_tx);
        let mut in_flight = 0usize;
        let mut stop = false;
        let mut panicked: Option<WorkerPanic> = None;
        let mut receive = |named: NamedTrace, outcome: Replayed, stop: &mut bool| match outcome {
            Ok(outcome) if !*stop => *stop = !done(named, outcome),
            Ok(_) => {}
            Err(message) => {
                *stop = true;
                panicked.get_or_insert(WorkerPanic { trace: named.name, message });
            }
        };
        for named in traces {
            while !stop && in_flight >= jobs * 2 {
                let Ok((named, outcome)) = result_rx.recv() else { break };
                in_flight -= 1;
                receive(named, outcome, &mut stop);
            }
            if stop || work_tx.send(named.into_owned()).is_err() {
                break;
            }
            in_flight += 1;
        }
        drop(work_tx);
        for (named, outcome) in result_rx.iter() {
            receive(named, outcome, &mut stop);
        }
        match panicked {
            Some(panic) => Err(panic),
            None => Ok(stop),
        }
    })
}

/// The text a panic was raised with (`panic!("...")` gives a `&str` or a `String`).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

fn is_ok(named: &NamedTrace, outcome: &WireOutcome, config: &Config) -> bool {
    match outcome {
        WireOutcome::Skipped { .. } | WireOutcome::Known { .. } => true,
        _ if named.trace.origin == Origin::Counterexample => triage(outcome) == config.conformance.counterexamples,
        other => other.conforms(),
    }
}

fn triage(outcome: &WireOutcome) -> Triage {
    match outcome {
        WireOutcome::Conforms { .. } => Triage::Reproduced,
        WireOutcome::Diverged(_) | WireOutcome::Known { .. } => Triage::Diverged,
        _ => Triage::Rejected,
    }
}

fn tally(report: &mut WireReport, coverage: &mut Coverage, config: &Config, named: &NamedTrace, outcome: &WireOutcome) {
    report.traces += 1;
    if let WireOutcome::Skipped { reason, .. } = outcome {
        *report.skipped.entry(*reason).or_default() += 1;
        return;
    }
    report.realised += 1;
    let steps = match outcome {
        WireOutcome::Conforms { steps } => *steps,
        WireOutcome::Diverged(d) | WireOutcome::Known { divergence: d, .. } => d.step,
        WireOutcome::Failed { step, .. } | WireOutcome::InvalidTrace { step, .. } => *step,
        WireOutcome::Skipped { .. } => 0,
    };
    report.steps += steps;
    match outcome {
        WireOutcome::Conforms { .. } => {
            report.conforming += 1;
            record_coverage(coverage, named);
        }
        WireOutcome::Diverged(_) => report.diverging += 1,
        WireOutcome::Known { id, .. } => *report.known.entry(id.to_string()).or_default() += 1,
        _ => report.broker_failures += 1,
    }
    if named.trace.origin == Origin::Counterexample && !matches!(outcome, WireOutcome::Known { .. }) {
        let class = triage(outcome);
        let step = match outcome {
            WireOutcome::Diverged(d) => Some(d.step),
            WireOutcome::Failed { step, .. } => Some(*step),
            _ => None,
        };
        report.counterexamples.push(TriageResult {
            property: named.trace.property.clone().unwrap_or_default(),
            class,
            step,
            expected: config.conformance.counterexamples,
        });
    }
}

/// Records the edges of a conforming trace (its states rebuilt from the model).
fn record_coverage(coverage: &mut Coverage, named: &NamedTrace) {
    let Ok(states) = named.trace.validate() else { return };
    coverage.record_state(&states[0]);
    for (i, step) in named.trace.steps.iter().enumerate() {
        coverage.record_step(&states[i], &step.action, &states[i + 1]);
    }
}

fn failing_step(outcome: &WireOutcome) -> Option<usize> {
    match outcome {
        WireOutcome::Diverged(d) => Some(d.step),
        WireOutcome::Failed { step, .. } => Some(*step),
        _ => None,
    }
}

/// The report of a failing trace, shrunk with `target_replay` if `shrink`. A candidate whose replay
/// panics ends the run as a replay thread's panic does (an error, not a verdict); it counts as not
/// failing, so the shrink stops cleanly first.
fn failure(
    target_replay: &dyn Fn(&crate::trace::Trace) -> WireOutcome,
    target: &str,
    named: &NamedTrace,
    outcome: &WireOutcome,
    options: &WireSuiteOptions,
    shrink: bool,
) -> Result<Failure, WorkerPanic> {
    let panicked = std::cell::RefCell::new(None);
    let replay = |t: &crate::trace::Trace| {
        let replayed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| target_replay(t)));
        replayed.unwrap_or_else(|payload| {
            panicked.borrow_mut().get_or_insert_with(|| panic_message(payload.as_ref()));
            WireOutcome::Conforms { steps: 0 }
        })
    };
    let (trace, final_outcome) = if shrink && failing_step(outcome).is_some() {
        let shrunk =
            shrink::shrink_with(&named.trace, options.shrink_budget, |candidate| failing_step(&replay(candidate)));
        let again = if shrunk.steps.len() < named.trace.steps.len() { replay(&shrunk) } else { outcome.clone() };
        if failing_step(&again).is_some() {
            (shrunk, again)
        } else {
            (named.trace.clone(), outcome.clone())
        }
    } else {
        (named.trace.clone(), outcome.clone())
    };
    let diffs = match &final_outcome {
        WireOutcome::Diverged(d) => {
            d.diffs.iter().map(|f| format!("{}: model {} | broker {}", f.path, f.left, f.right)).collect()
        }
        _ => Vec::new(),
    };
    let file = options.out_dir.as_ref().and_then(|dir| {
        std::fs::create_dir_all(dir).ok()?;
        let path = dir.join(format!("{}.json", named.name));
        trace.write(&path).ok()?;
        Some(path.display().to_string())
    });
    let reproduce = file.as_ref().map(|f| format!("eos replay {f} --target {target}"));
    if let Some(message) = panicked.into_inner() {
        return Err(WorkerPanic { trace: format!("{} (while shrinking)", named.name), message });
    }
    Ok(Failure {
        trace: named.name.clone(),
        summary: final_outcome.summary(),
        diffs,
        file,
        reproduce,
        steps: (named.trace.steps.len(), trace.steps.len()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use eos_model::{scenario, Protocol};

    fn traces(n: usize) -> Vec<NamedTrace> {
        let config = scenario::load("basic").unwrap().with_protocol(Protocol::Tv2);
        (0..n)
            .map(|i| {
                let name = format!("basic.tv2.walk.{i}");
                // The property field tells the test's replay which trace it holds.
                let mut trace = crate::generate::walk(&config, i as u64, 5);
                trace.property = Some(name.clone());
                NamedTrace { name, trace }
            })
            .collect()
    }

    #[test]
    fn a_panicking_replay_ends_the_run_with_its_trace_named() {
        // Proves a replay thread that panics stops the pool (before the fix the main thread waited for
        // its outcome forever) and the error names the trace, while other outcomes still arrive.
        let corpus = traces(20);
        let replay = |trace: &crate::trace::Trace| {
            assert!(trace.property.as_deref() != Some("basic.tv2.walk.7"), "injected replay failure");
            WireOutcome::Conforms { steps: trace.steps.len() }
        };
        let mut seen = 0;
        let result = replay_pipelined(&replay, corpus.iter().map(Cow::Borrowed), 3, &mut |_, _| {
            seen += 1;
            true
        });
        let panic = result.expect_err("the panic ends the run");
        assert_eq!(panic.trace, "basic.tv2.walk.7");
        assert!(panic.message.contains("injected replay failure"), "{}", panic.message);
        assert!(seen < corpus.len(), "the panicking trace has no outcome");
    }

    #[test]
    fn a_panic_while_shrinking_ends_the_run_with_its_trace_named() {
        // Proves a shrink candidate whose replay panics is an error naming the trace (before, the panic
        // escaped the shrink and killed the process with Rust's exit code 101), not a verdict.
        let named = traces(1).remove(0);
        let failed =
            |step| WireOutcome::Failed { step, error: crate::wire::error::WireError::Broker("injected".into()) };
        let full = named.trace.steps.len();
        let replay = |trace: &crate::trace::Trace| {
            assert!(trace.steps.len() == full, "injected shrink failure");
            failed(full)
        };
        let options = WireSuiteOptions::default();
        let result = failure(&replay, "kafka://127.0.0.1:1", &named, &failed(full), &options, true);
        let panic = result.expect_err("the candidate's panic ends the run");
        assert_eq!(panic.trace, "basic.tv2.walk.0 (while shrinking)");
        assert!(panic.message.contains("injected shrink failure"), "{}", panic.message);
        let unshrunk = failure(&replay, "kafka://127.0.0.1:1", &named, &failed(full), &options, false);
        assert!(unshrunk.is_ok(), "without shrinking nothing else is replayed");
    }

    #[test]
    fn a_run_without_panics_replays_every_trace() {
        let corpus = traces(10);
        let replay = |trace: &crate::trace::Trace| WireOutcome::Conforms { steps: trace.steps.len() };
        let mut seen = 0;
        let result = replay_pipelined(&replay, corpus.iter().map(Cow::Borrowed), 2, &mut |_, _| {
            seen += 1;
            true
        });
        assert_eq!(result, Ok(false));
        assert_eq!(seen, corpus.len());
    }
}
