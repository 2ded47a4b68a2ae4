//! The conformance suite of one scenario under one protocol: generate the traces (the checker's
//! discoveries, an edge-covering enumeration when the state graph is small enough, seeded random
//! walks), replay each against the implementation, triage the counterexamples, measure coverage, and
//! shrink and save whatever fails.

use crate::coverage::{Coverage, CoverageReport};
use crate::enumerate::{Graph, GraphPath};
use crate::generate::{self, Scheduler};
use crate::replay::{replay_covering, Outcome};
use crate::shrink;
use crate::trace::{Origin, Trace};
use eos_broker::Faults;
use eos_model::config::Triage;
use eos_model::Config;
use serde::Serialize;
use std::borrow::Cow;
use std::path::PathBuf;
use std::time::Instant;

/// Knobs of a suite run.
#[derive(Clone, Debug)]
pub struct SuiteOptions {
    /// Random walks per scenario and protocol.
    pub walks: usize,
    /// Random walks instead, for a scenario whose graph is too large to enumerate.
    pub large_walks: usize,
    /// Steps per walk at most.
    pub walk_length: usize,
    /// Seed of the first walk (walk i uses seed + i).
    pub seed: u64,
    /// Enumerate every edge when the state graph has at most this many states (0: never).
    pub enumerate_limit: usize,
    /// Seeded faults switched on in the implementation.
    pub faults: Faults,
    /// Where failing traces (and their shrunk versions) are written.
    pub out_dir: Option<PathBuf>,
    /// Stop after this many failing traces (None: replay everything).
    pub stop_after_failures: Option<usize>,
    /// Shrink failing traces.
    pub shrink: bool,
}

impl Default for SuiteOptions {
    fn default() -> Self {
        SuiteOptions {
            walks: 20,
            large_walks: 1000,
            walk_length: 200,
            seed: 0,
            enumerate_limit: 100_000,
            faults: Faults::none(),
            out_dir: None,
            stop_after_failures: None,
            shrink: true,
        }
    }
}

/// How a replayed counterexample came out.
#[derive(Clone, Debug, Serialize)]
pub struct TriageResult {
    /// The violated property.
    pub property: String,
    /// The class it got.
    pub class: Triage,
    /// At which step it diverged or was rejected.
    pub step: Option<usize>,
    /// The class the scenario expects.
    pub expected: Triage,
}

/// A trace that did not come out as it should.
#[derive(Clone, Debug, Serialize)]
pub struct Failure {
    /// The trace's name.
    pub trace: String,
    /// What happened, in one line.
    pub summary: String,
    /// The per-field differences at the divergence (model vs implementation).
    pub diffs: Vec<String>,
    /// The trace file written (the shrunk one when shrinking), if an output directory was given.
    pub file: Option<String>,
    /// A command that reproduces it.
    pub reproduce: Option<String>,
    /// Steps of the original and of the shrunk trace.
    pub steps: (usize, usize),
}

/// The result of one scenario under one protocol.
#[derive(Clone, Debug, Serialize)]
pub struct ScenarioReport {
    /// The scenario.
    pub scenario: String,
    /// The protocol.
    pub protocol: String,
    /// Traces replayed.
    pub traces: usize,
    /// Steps replayed.
    pub steps: usize,
    /// Traces whose every state agreed.
    pub conforming: usize,
    /// Whether the whole state graph was enumerated.
    pub enumerated: bool,
    /// Counterexamples and their classes.
    pub counterexamples: Vec<TriageResult>,
    /// What the implementation was driven through.
    pub coverage: CoverageReport,
    /// Traces that did not come out as they should (the first few, shrunk and saved).
    pub failures: Vec<Failure>,
    /// Further failing traces, counted only.
    pub more_failures: usize,
    /// Wall time.
    pub seconds: f64,
}

impl ScenarioReport {
    /// Every trace conforms and every counterexample is triaged as expected.
    pub fn passed(&self) -> bool {
        self.failures.is_empty() && self.more_failures == 0
    }
}

/// How many failing traces per scenario and protocol are shrunk, saved and shown in detail.
pub const DETAILED_FAILURES: usize = 5;

/// A named trace of the suite.
#[derive(Clone)]
pub struct NamedTrace {
    /// `SCENARIO.PROTOCOL.ORIGIN[.PROPERTY|.N]`.
    pub name: String,
    /// The trace.
    pub trace: Trace,
}

/// The traces of the suite for one scenario and protocol, made one at a time as they are replayed:
/// an enumeration of a large graph has millions of steps, and a trace holds an observation per step,
/// so only the checker's discoveries are kept whole; enumerated traces are kept as paths through the
/// graph and walks as their seeds. The wire suite's corpus is one too, made by
/// [`crate::wire::corpus::corpus`] over its eager scheduler.
pub struct Corpus {
    config: Config,
    base: String,
    discoveries: Vec<NamedTrace>,
    /// The state graph, if it was enumerated.
    pub graph: Option<Graph>,
    /// The enumerated paths replayed, each with its number in the whole enumeration (a budget may
    /// keep only some).
    paths: Vec<(usize, GraphPath)>,
    walks: Walks,
    /// The actions the graph was explored with, and the walks take.
    scheduler: Scheduler,
}

/// The random walks of a corpus: `count` of them, seeded `first_seed`, `first_seed + 1`, …, of at most
/// `length` steps each.
#[derive(Clone, Copy, Debug)]
pub struct Walks {
    /// Seed of the first walk.
    pub first_seed: u64,
    /// How many walks.
    pub count: usize,
    /// Steps per walk at most.
    pub length: usize,
}

/// `SCENARIO.PROTOCOL`, the prefix of every trace name of `config`'s corpus.
pub fn trace_base(config: &Config) -> String {
    format!("{}.{}", config.name, config.protocol)
}

impl Corpus {
    /// The suite's traces for `config`: the checker's discoveries, an edge-covering enumeration if
    /// the graph has at most `options.enumerate_limit` states, and `options.walks` random walks.
    pub fn new(config: &Config, options: &SuiteOptions) -> Corpus {
        let base = trace_base(config);
        // A scenario whose counterexamples are expected to depart from the implementation (a bug's
        // fix the implementation does not have as a switch) is judged by its counterexamples alone:
        // every other path of it may take the step the implementation cannot follow.
        let only_counterexamples = config.conformance.counterexamples != Triage::Reproduced;
        let discoveries = generate::discoveries(config)
            .into_iter()
            .filter(|t| !only_counterexamples || t.origin == Origin::Counterexample)
            .map(|t| {
                let origin = if t.origin == Origin::Counterexample { "counterexample" } else { "example" };
                NamedTrace { name: format!("{base}.{origin}.{}", t.property.clone().unwrap_or_default()), trace: t }
            })
            .collect();
        let enumerate = options.enumerate_limit > 0 && !only_counterexamples;
        let graph = enumerate.then(|| Graph::explore(config, options.enumerate_limit).ok()).flatten();
        let paths = graph.as_ref().map_or(Vec::new(), Graph::covering_paths).into_iter().enumerate().collect();
        let walks = if only_counterexamples {
            0
        } else if graph.is_some() || options.enumerate_limit == 0 {
            options.walks
        } else {
            options.large_walks
        };
        let walks = Walks { first_seed: options.seed, count: walks, length: options.walk_length };
        Corpus::from_parts(config, discoveries, graph, paths, walks, generate::every_action())
    }

    /// A corpus of `config` of the traces a caller chose: `discoveries` kept whole, numbered `paths`
    /// through `graph` (explored with `scheduler`), and `walks` taking the actions `scheduler` offers.
    pub fn from_parts(
        config: &Config,
        discoveries: Vec<NamedTrace>,
        graph: Option<Graph>,
        paths: Vec<(usize, GraphPath)>,
        walks: Walks,
        scheduler: Scheduler,
    ) -> Corpus {
        Corpus { config: config.clone(), base: trace_base(config), discoveries, graph, paths, walks, scheduler }
    }

    /// The scenario (under its protocol).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// How many traces.
    pub fn len(&self) -> usize {
        self.discoveries.len() + self.paths.len() + self.walks.count
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The traces, each made when the iterator reaches it.
    pub fn iter(&self) -> impl Iterator<Item = Cow<'_, NamedTrace>> + '_ {
        let discoveries = self.discoveries.iter().map(Cow::Borrowed);
        let enumeration = self.paths.iter().map(|(i, path)| {
            let graph = self.graph.as_ref().expect("paths come from the graph");
            Cow::Owned(NamedTrace { name: format!("{}.enumeration.{i}", self.base), trace: graph.trace(path) })
        });
        let Walks { first_seed, count, length } = self.walks;
        let walks = (first_seed..first_seed + count as u64).map(move |seed| {
            Cow::Owned(NamedTrace {
                name: format!("{}.walk.{seed}", self.base),
                trace: generate::walk_with(&self.config, seed, length, &*self.scheduler),
            })
        });
        discoveries.chain(enumeration).chain(walks)
    }
}

/// Runs the suite for `config` (under its protocol).
pub fn run(config: &Config, options: &SuiteOptions) -> ScenarioReport {
    let start = Instant::now();
    replay_all(&Corpus::new(config, options), options, start)
}

/// Replays the traces of `corpus` with `options` (`start`: when the suite began, for its wall time).
pub fn replay_all(corpus: &Corpus, options: &SuiteOptions, start: Instant) -> ScenarioReport {
    let config = corpus.config();
    let graph = corpus.graph.as_ref();
    let mut coverage = Coverage::default();
    let mut report = ScenarioReport {
        scenario: config.name.clone(),
        protocol: config.protocol.to_string(),
        traces: 0,
        steps: 0,
        conforming: 0,
        enumerated: graph.is_some(),
        counterexamples: Vec::new(),
        coverage: coverage.report(None),
        failures: Vec::new(),
        more_failures: 0,
        seconds: 0.0,
    };
    for named in corpus.iter() {
        if options.stop_after_failures.is_some_and(|n| report.failures.len() + report.more_failures >= n) {
            break;
        }
        let outcome = replay_covering(&named.trace, options.faults, &mut coverage);
        report.traces += 1;
        report.steps += named.trace.steps.len();
        report.conforming += usize::from(outcome.conforms());
        let ok = if named.trace.origin == Origin::Counterexample {
            let (class, step) = triage(&outcome);
            let expected = config.conformance.counterexamples;
            let property = named.trace.property.clone().unwrap_or_default();
            report.counterexamples.push(TriageResult { property, class, step, expected });
            class == expected
        } else {
            outcome.conforms()
        };
        if ok {
            continue;
        }
        if report.failures.len() < DETAILED_FAILURES {
            report.failures.push(failure(&named, &outcome, options));
        } else {
            report.more_failures += 1;
        }
    }
    report.coverage = coverage.report(graph);
    report.seconds = start.elapsed().as_secs_f64();
    report
}

/// The class a replayed counterexample gets.
pub fn triage(outcome: &Outcome) -> (Triage, Option<usize>) {
    match outcome {
        Outcome::Conforms { .. } => (Triage::Reproduced, None),
        Outcome::Diverged(d) => (Triage::Diverged, Some(d.step)),
        Outcome::Rejected { step, .. } | Outcome::InvalidTrace { step, .. } => (Triage::Rejected, Some(*step)),
    }
}

/// One line saying what an outcome is.
pub fn summarize(outcome: &Outcome) -> String {
    let action = |a: &Option<eos_model::Action>| {
        a.as_ref().map_or("the initial state".to_string(), |a| {
            format!("{}: {}", eos_model::describe::actor(a), eos_model::describe::action(a))
        })
    };
    match outcome {
        Outcome::Conforms { steps } => format!("conforms ({steps} steps)"),
        Outcome::Diverged(d) => match &d.untranslatable {
            Some(why) => format!("diverged at step {} ({}): {why}", d.step, action(&d.action)),
            None => format!("diverged at step {} ({}): {} field(s) differ", d.step, action(&d.action), d.diffs.len()),
        },
        Outcome::Rejected { step, action: a, reason } => format!("rejected at step {step} ({}): {reason}", action(a)),
        Outcome::InvalidTrace { step, reason } => format!("not a model path at step {step}: {reason}"),
    }
}

fn failure(named: &NamedTrace, outcome: &Outcome, options: &SuiteOptions) -> Failure {
    let shrunk = if options.shrink && shrink::fails(outcome) {
        shrink::shrink(&named.trace, options.faults, 2_000)
    } else {
        named.trace.clone()
    };
    let final_outcome = if shrunk.steps.len() < named.trace.steps.len() {
        crate::replay::replay(&shrunk, options.faults)
    } else {
        outcome.clone()
    };
    let diffs = match &final_outcome {
        Outcome::Diverged(d) => {
            d.diffs.iter().map(|f| format!("{}: model {} | implementation {}", f.path, f.left, f.right)).collect()
        }
        _ => Vec::new(),
    };
    let file = options.out_dir.as_ref().and_then(|dir| {
        std::fs::create_dir_all(dir).ok()?;
        let path = dir.join(format!("{}.json", named.name));
        shrunk.write(&path).ok()?;
        Some(path.display().to_string())
    });
    let reproduce = file.as_ref().map(|f| {
        let faults: Vec<String> = eos_broker::Fault::ALL
            .iter()
            .filter(|f| options.faults.has(**f))
            .map(|f| format!(" --fault {}", crate::mutants::fault_name(*f)))
            .collect();
        format!("eos replay {f}{}", faults.concat())
    });
    Failure {
        trace: named.name.clone(),
        summary: summarize(&final_outcome),
        diffs,
        file,
        reproduce,
        steps: (named.trace.steps.len(), shrunk.steps.len()),
    }
}
