//! Coverage: which action kinds, (state, action) edges and states of the model the implementation was
//! driven through (a step counts once the implementation's state after it agreed with the model's).

use crate::enumerate::Graph;
use eos_model::{Action, State};
use serde::Serialize;
use std::collections::{BTreeSet, HashSet};
use std::hash::Hash;

fn key(value: &impl Hash) -> u64 {
    ahash::RandomState::with_seeds(11, 12, 13, 14).hash_one(value)
}

/// What the implementation was driven through.
#[derive(Clone, Debug, Default)]
pub struct Coverage {
    kinds: BTreeSet<&'static str>,
    edges: HashSet<(u64, u64)>,
    states: HashSet<u64>,
}

impl Coverage {
    /// Records a state the implementation agreed on.
    pub fn record_state(&mut self, state: &State) {
        self.states.insert(key(state));
    }

    /// Records a step the implementation took and agreed on afterwards.
    pub fn record_step(&mut self, before: &State, action: &Action, after: &State) {
        self.kinds.insert(action.kind());
        self.edges.insert((key(before), key(action)));
        self.states.insert(key(after));
    }

    /// Adds what `other` covered.
    pub fn merge(&mut self, other: &Coverage) {
        self.kinds.extend(other.kinds.iter().copied());
        self.edges.extend(other.edges.iter().copied());
        self.states.extend(other.states.iter().copied());
    }

    /// The report, with totals from `graph` when the scenario was enumerated.
    pub fn report(&self, graph: Option<&Graph>) -> CoverageReport {
        let possible_kinds = graph.map(|g| {
            g.edges.iter().flatten().map(|(a, _)| a.kind()).collect::<BTreeSet<&'static str>>().into_iter().collect()
        });
        let (edges_covered, states_covered) = match graph {
            // Count only edges and states of the graph (a walk cannot leave it, but be exact).
            Some(g) => {
                let states: Vec<u64> = g.states.iter().map(key).collect();
                let edges = g
                    .edges
                    .iter()
                    .enumerate()
                    .flat_map(|(s, out)| out.iter().map(move |(a, _)| (s, a)))
                    .filter(|(s, a)| self.edges.contains(&(states[*s], key(*a))))
                    .count();
                (edges, states.iter().filter(|s| self.states.contains(s)).count())
            }
            None => (self.edges.len(), self.states.len()),
        };
        CoverageReport {
            kinds_covered: self.kinds.iter().map(|k| k.to_string()).collect(),
            kinds_possible: possible_kinds.map(|k: Vec<&str>| k.into_iter().map(str::to_string).collect()),
            edges_covered,
            edges_total: graph.map(Graph::edge_count),
            states_covered,
            states_total: graph.map(|g| g.states.len()),
        }
    }
}

/// Coverage figures of one scenario under one protocol.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CoverageReport {
    /// Action kinds the implementation was driven through.
    pub kinds_covered: Vec<String>,
    /// Action kinds the model can take in this scenario (when enumerated).
    pub kinds_possible: Option<Vec<String>>,
    /// (state, action) edges driven through.
    pub edges_covered: usize,
    /// Edges of the scenario's state graph (when enumerated).
    pub edges_total: Option<usize>,
    /// States the implementation agreed on.
    pub states_covered: usize,
    /// States of the scenario's state graph (when enumerated).
    pub states_total: Option<usize>,
}

impl CoverageReport {
    /// Covered edges as a percentage of all edges, when known.
    pub fn edge_percent(&self) -> Option<f64> {
        self.edges_total.map(|t| if t == 0 { 100.0 } else { 100.0 * self.edges_covered as f64 / t as f64 })
    }

    /// Whether every action kind the scenario allows was covered (when known).
    pub fn all_kinds_covered(&self) -> Option<bool> {
        self.kinds_possible.as_ref().map(|p| p.iter().all(|k| self.kinds_covered.contains(k)))
    }
}
