//! Enumeration: traces that together take every (state, action) edge of a scenario's state graph.
//!
//! The graph is explored breadth-first without symmetry reduction (every concrete state, so that
//! every edge the implementation can be driven through is one). Then, for each edge not yet taken,
//! a trace follows the shortest path to its source state, takes it, and keeps taking untaken edges
//! from where it lands until none is left there. The traces cover every edge by construction.

use crate::trace::{Origin, Step, Trace};
use eos_model::observe::observe;
use eos_model::{Action, Config, EosModel, State};
use stateright::Model;
use std::collections::{HashMap, VecDeque};

/// A path through a [`Graph`]: (state id, index of the edge taken) per step.
pub type GraphPath = Vec<(usize, usize)>;

/// A scenario's explored state graph.
pub struct Graph {
    /// The model.
    pub model: EosModel,
    /// States by id (id 0 is the initial state).
    pub states: Vec<State>,
    /// For each state: its enabled actions and the id of the state each leads to.
    pub edges: Vec<Vec<(Action, usize)>>,
    /// For each state but the initial: (parent id, index of the edge from the parent), on a shortest path.
    pub parent: Vec<Option<(usize, usize)>>,
}

/// Why a graph was not built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name} has more than {limit} states: too large to enumerate (use random walks)")]
pub struct TooLarge {
    /// The scenario.
    pub name: String,
    /// The limit.
    pub limit: usize,
}

impl Graph {
    /// Explores `config` breadth-first, refusing beyond `limit` states.
    pub fn explore(config: &Config, limit: usize) -> Result<Graph, TooLarge> {
        Graph::explore_with(config, limit, |model, state, actions| model.actions(state, actions))
    }

    /// Explores `config` breadth-first taking only the actions `scheduler` offers in each state (a
    /// subset of the model's: e.g. the wire target's eager scheduler), refusing beyond `limit` states.
    pub fn explore_with(
        config: &Config,
        limit: usize,
        scheduler: impl Fn(&EosModel, &State, &mut Vec<Action>),
    ) -> Result<Graph, TooLarge> {
        let model = EosModel::new(config.clone());
        let init = model.init_states().remove(0);
        let mut index: HashMap<State, usize> = HashMap::from([(init.clone(), 0)]);
        let mut graph = Graph { model, states: vec![init], edges: Vec::new(), parent: vec![None] };
        let mut queue = VecDeque::from([0usize]);
        let mut actions = Vec::new();
        while let Some(id) = queue.pop_front() {
            actions.clear();
            scheduler(&graph.model, &graph.states[id], &mut actions);
            let mut out = Vec::with_capacity(actions.len());
            for action in actions.drain(..) {
                let next = graph.model.next_state(&graph.states[id], action.clone()).expect("enabled actions apply");
                let next_id = match index.get(&next) {
                    Some(existing) => *existing,
                    None => {
                        let new_id = graph.states.len();
                        if new_id >= limit {
                            return Err(TooLarge { name: config.name.clone(), limit });
                        }
                        index.insert(next.clone(), new_id);
                        graph.states.push(next);
                        graph.parent.push(Some((id, out.len())));
                        queue.push_back(new_id);
                        new_id
                    }
                };
                out.push((action, next_id));
            }
            graph.edges.push(out);
        }
        debug_assert_eq!(graph.edges.len(), graph.states.len());
        Ok(graph)
    }

    /// Number of edges.
    pub fn edge_count(&self) -> usize {
        self.edges.iter().map(Vec::len).sum()
    }

    /// The shortest path from the initial state to `state`, as (state, edge index) pairs.
    pub fn path_to(&self, state: usize) -> Vec<(usize, usize)> {
        let mut path = Vec::new();
        let mut at = state;
        while let Some((parent, edge)) = self.parent[at] {
            path.push((parent, edge));
            at = parent;
        }
        path.reverse();
        path
    }

    /// Traces that together take every edge (all in memory at once: see [`Graph::covering_paths`]
    /// for large graphs).
    pub fn covering_traces(&self) -> Vec<Trace> {
        self.covering_paths().iter().map(|path| self.trace(path)).collect()
    }

    /// Paths that together take every edge, as (state, edge index) pairs: a few bytes a step, where
    /// a [`Trace`] holds an observation a step; [`Graph::trace`] makes one into a trace when needed.
    pub fn covering_paths(&self) -> Vec<GraphPath> {
        let mut taken: Vec<Vec<bool>> = self.edges.iter().map(|e| vec![false; e.len()]).collect();
        let mut paths = Vec::new();
        for source in 0..self.states.len() {
            for edge in 0..self.edges[source].len() {
                if taken[source][edge] {
                    continue;
                }
                let mut path = self.path_to(source);
                path.push((source, edge));
                let mut at = self.edges[source][edge].1;
                // Keep going along untaken edges.
                while let Some(next) = taken[at].iter().position(|t| !t) {
                    path.push((at, next));
                    taken[at][next] = true;
                    at = self.edges[at][next].1;
                }
                for (s, e) in &path {
                    taken[*s][*e] = true;
                }
                paths.push(path);
            }
        }
        paths
    }

    /// The trace that follows `path` (one of [`Graph::covering_paths`]).
    pub fn trace(&self, path: &[(usize, usize)]) -> Trace {
        let config = &self.model.config;
        let steps = path
            .iter()
            .map(|(s, e)| {
                let (action, to) = &self.edges[*s][*e];
                Step { action: action.clone(), state: observe(&self.states[*to]) }
            })
            .collect();
        Trace::new(config, Origin::Enumeration, observe(&self.states[0]), steps)
    }
}
