//! Trace generators: the checker's discoveries (counterexamples and examples) and seeded random walks.

use crate::trace::{Origin, Trace};
use eos_model::check::{self, CheckOptions, Outcome as CheckOutcome};
use eos_model::observe::observe;
use eos_model::{Action, Config, EosModel};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use stateright::Model;
use std::sync::Arc;

/// Which of the model's enabled actions a generator may take in a state (all of them, or a subset such
/// as the wire target's eager scheduler); shared by the corpus's enumeration and its walks.
pub type Scheduler = Arc<dyn Fn(&EosModel, &eos_model::State, &mut Vec<Action>) + Send + Sync>;

/// The scheduler that offers every enabled action of the model.
pub fn every_action() -> Scheduler {
    Arc::new(|model: &EosModel, state: &eos_model::State, actions: &mut Vec<Action>| model.actions(state, actions))
}

/// Every discovery of an exhaustive check of `config`: a counterexample per violated property and an
/// example per reached `sometimes` property.
pub fn discoveries(config: &Config) -> Vec<Trace> {
    let report = check::run(config, &CheckOptions::default(), |_| {});
    report
        .verdicts
        .iter()
        .filter_map(|v| match &v.outcome {
            CheckOutcome::Violated(path) => Some(Trace::from_path(config, Origin::Counterexample, Some(v.name), path)),
            CheckOutcome::Reached(path) => Some(Trace::from_path(config, Origin::Example, Some(v.name), path)),
            _ => None,
        })
        .collect()
}

/// A random walk of at most `length` steps from the initial state, choosing uniformly among the
/// enabled actions with a ChaCha8 generator seeded with `seed` (the same seed gives the same walk on
/// every machine). It stops early at a state where nothing can happen.
pub fn walk(config: &Config, seed: u64, length: usize) -> Trace {
    walk_with(config, seed, length, &*every_action())
}

/// [`walk`] choosing among the actions `scheduler` offers in each state (a subset of the model's).
pub fn walk_with(
    config: &Config,
    seed: u64,
    length: usize,
    scheduler: impl Fn(&EosModel, &eos_model::State, &mut Vec<Action>),
) -> Trace {
    let model = EosModel::new(config.clone());
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut state = model.init_states().remove(0);
    let initial = observe(&state);
    let mut steps = Vec::new();
    let mut actions: Vec<Action> = Vec::new();
    for _ in 0..length {
        actions.clear();
        scheduler(&model, &state, &mut actions);
        if actions.is_empty() {
            break;
        }
        let action = actions.swap_remove(rng.random_range(0..actions.len()));
        state = model.next_state(&state, action.clone()).expect("enabled actions apply");
        steps.push(crate::trace::Step { action, state: observe(&state) });
    }
    Trace::new(config, Origin::Walk, initial, steps).with_seed(Some(seed))
}
