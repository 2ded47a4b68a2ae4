//! The wire suite's traces for one scenario and protocol, made realisable on purpose
//! (specs/wire-target.md §5): the eager scheduler's state graph ([`super::realise::eager_actions`]),
//! enumerated and walked like the in-process suite's, plus the discoveries in it (a shortest path to
//! every violated `always` and every reached `sometimes` property). The full model checker's own
//! discoveries are added as they are: those that are not realisable are skipped and counted.

use super::realise::{eager_actions, Abilities};
use crate::enumerate::{Graph, GraphPath};
use crate::generate::{self, Scheduler};
use crate::suite::{trace_base, Corpus, NamedTrace, Walks};
use crate::trace::{Origin, Trace};
use eos_model::{properties, Action, Config, EosModel, State};
use stateright::Expectation;
use std::sync::Arc;

/// How many traces of a scenario and protocol, and which.
#[derive(Clone, Debug)]
pub struct CorpusOptions {
    /// Enumerate the eager graph's edges when it has at most this many states (0: never).
    pub enumerate_limit: usize,
    /// At most this many traces (discoveries first, then enumerated paths spread evenly over the
    /// enumeration, then walks); `None`: all of them.
    pub max_traces: Option<usize>,
    /// Eager random walks (all of them when the graph is too large to enumerate).
    pub walks: usize,
    /// Steps per walk at most.
    pub walk_length: usize,
    /// Seed of the first walk.
    pub seed: u64,
    /// Include the full model checker's discoveries (most are not realisable: skipped and counted).
    pub model_discoveries: bool,
    /// What the harness can do to the broker (a restart makes coordinator failovers realisable).
    pub abilities: Abilities,
    /// At most this many enumerated paths that fail the coordinator over (each is a restart).
    pub max_failover_paths: Option<usize>,
}

impl Default for CorpusOptions {
    fn default() -> Self {
        CorpusOptions {
            enumerate_limit: 200_000,
            max_traces: None,
            walks: 20,
            walk_length: 200,
            seed: 0,
            model_discoveries: true,
            abilities: Abilities::default(),
            max_failover_paths: None,
        }
    }
}

/// The wire corpus of `config` (under its protocol): the suite's [`Corpus`] over the eager scheduler.
pub fn corpus(config: &Config, options: &CorpusOptions) -> Corpus {
    let base = trace_base(config);
    let abilities = options.abilities;
    let scheduler: Scheduler =
        Arc::new(move |m: &EosModel, s: &State, a: &mut Vec<Action>| eager_actions(m, s, a, abilities));
    let graph = (options.enumerate_limit > 0)
        .then(|| Graph::explore_with(config, options.enumerate_limit, &*scheduler).ok())
        .flatten();
    let mut discoveries = graph.as_ref().map_or(Vec::new(), |g| eager_discoveries(g, &base));
    if options.model_discoveries {
        discoveries.extend(generate::discoveries(config).into_iter().map(|t| {
            let origin = if t.origin == Origin::Counterexample { "counterexample" } else { "example" };
            let property = t.property.clone().unwrap_or_default();
            NamedTrace { name: format!("{base}.model-{origin}.{property}"), trace: t }
        }));
    }
    let budget = options.max_traces.map(|m| m.saturating_sub(discoveries.len()));
    let all_paths = graph.as_ref().map_or(Vec::new(), Graph::covering_paths);
    let paths = match (graph.as_ref(), options.max_failover_paths) {
        (Some(g), Some(max)) => {
            // The budget goes to paths without a restart first; those with one get their own.
            let restarts = |path: &GraphPath| {
                path.iter().any(|(state, edge)| g.edges[*state][*edge].0 == Action::CoordinatorFailover)
            };
            let numbered: Vec<(usize, GraphPath)> = all_paths.into_iter().enumerate().collect();
            let (failing_over, others): (Vec<_>, Vec<_>) = numbered.into_iter().partition(|(_, p)| restarts(p));
            let failing_over = spread_numbered(failing_over, Some(max));
            let others = spread_numbered(others, budget.map(|b| b.saturating_sub(failing_over.len())));
            let mut paths = [others, failing_over].concat();
            paths.sort_by_key(|(i, _)| *i);
            paths
        }
        _ => spread(all_paths, budget),
    };
    let walks = if graph.is_some() { options.walks } else { options.walks.max(budget.unwrap_or(options.walks)) };
    let walks = budget.map_or(walks, |b| walks.min(b.saturating_sub(paths.len())));
    let walks = Walks { first_seed: options.seed, count: walks, length: options.walk_length };
    Corpus::from_parts(config, discoveries, graph, paths, walks, scheduler)
}

/// `paths` numbered, thinned to `budget` evenly over the enumeration when there are more.
fn spread(paths: Vec<GraphPath>, budget: Option<usize>) -> Vec<(usize, GraphPath)> {
    spread_numbered(paths.into_iter().enumerate().collect(), budget)
}

/// Numbered `paths` thinned to `budget`, evenly.
fn spread_numbered(paths: Vec<(usize, GraphPath)>, budget: Option<usize>) -> Vec<(usize, GraphPath)> {
    let total = paths.len();
    let keep = budget.map_or(total, |b| b.min(total));
    if keep == total {
        return paths;
    }
    let chosen: std::collections::BTreeSet<usize> = (0..keep).map(|k| k * total / keep.max(1)).collect();
    paths.into_iter().enumerate().filter(|(k, _)| chosen.contains(k)).map(|(_, p)| p).collect()
}

/// A shortest path in the eager graph to the first state violating each `always` property and to
/// the first state reaching each `sometimes` property (states are numbered breadth-first).
fn eager_discoveries(graph: &Graph, base: &str) -> Vec<NamedTrace> {
    let model = &graph.model;
    let mut out = Vec::new();
    for property in properties::applicable(&model.config) {
        let (wanted, origin, label) = match property.expectation {
            Expectation::Always => (false, Origin::Counterexample, "counterexample"),
            Expectation::Sometimes => (true, Origin::Example, "example"),
            Expectation::Eventually => continue,
        };
        let found = graph.states.iter().position(|s| (property.condition)(model, s) == wanted);
        if let Some(id) = found {
            let trace = Trace { origin, ..graph.trace(&graph.path_to(id)) }.with_property(Some(property.name));
            out.push(NamedTrace { name: format!("{base}.realisable-{label}.{}", property.name), trace });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use eos_model::{scenario, Protocol};

    /// The eager graph of hanging-txn under tv1 holds the hanging transaction, found as a realisable
    /// counterexample; under tv2 it holds none.
    #[test]
    fn hanging_transaction_is_realisable_under_tv1_only() {
        let options = CorpusOptions { model_discoveries: false, walks: 0, ..CorpusOptions::default() };
        let config = scenario::load("hanging-txn").unwrap();
        let names = |p: Protocol| -> Vec<String> {
            corpus(&config.with_protocol(p), &options).iter().map(|t| t.name.clone()).collect()
        };
        let tv1 = names(Protocol::Tv1);
        assert!(tv1.contains(&"hanging-txn.tv1.realisable-counterexample.no_hanging_transaction".to_string()));
        assert!(names(Protocol::Tv2).iter().all(|n| !n.contains("counterexample")));
    }

    /// A budget keeps the discoveries and spreads the enumeration evenly.
    #[test]
    fn budget_spreads_the_enumeration() {
        let config = scenario::load("basic").unwrap();
        let options = CorpusOptions { max_traces: Some(40), model_discoveries: false, ..CorpusOptions::default() };
        let corpus = corpus(&config, &options);
        assert_eq!(corpus.len(), 40);
        let numbers: Vec<usize> =
            corpus.iter().filter_map(|t| t.name.rsplit_once("enumeration.").map(|(_, n)| n.parse().unwrap())).collect();
        assert!(numbers.last().unwrap() > &1000, "spread over the whole enumeration: {numbers:?}");
    }
}
