//! Keeping each property's *first* discovery, and counting the states the checker has checked.
//!
//! stateright 0.31 evaluates every `always`/`sometimes` property on every state it visits, also after
//! the property has a discovery, and overwrites the discovery each time: a breadth-first search ends
//! with the *last* (deepest) counterexample it met, not the shortest. While a check runs, the model's
//! properties are wrapped so that once a property has a discovery its condition answers "nothing to
//! discover": the discovery stateright keeps is then the first one, which for a single-threaded BFS is
//! a shortest one. The wrapper of the first property also counts the states checked, which, with the
//! checker's count of unique states generated, gives the frontier (states generated but not yet
//! explored).
//!
//! Conditions are plain `fn` pointers, so each wrapper is a monomorphised function that knows its
//! property's index (`first_only::<I>`); [`MAX_PROPERTIES`] of them are instantiated.
//!
//! Cost, with callgrind (`eos check ... --threads 1`): `happy --max-depth 20` 1.036 G instructions
//! wrapped against 1.039 G plain (the wrappers cost what the `sometimes` properties no longer
//! evaluated once reached save); `pitfall-no-fencing --protocol tv1` 54.3 M against 61.0 M (violated
//! properties are no longer evaluated).

use crate::model::EosModel;
use crate::state::State;
use stateright::{Expectation, Property};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// A property condition, as stateright stores it.
pub type Condition = fn(&EosModel, &State) -> bool;

/// The most properties a model may have while wrapped (the wrapper table's size).
pub const MAX_PROPERTIES: usize = 48;

/// Shared by the checker's threads for one run.
#[derive(Debug)]
pub struct FirstDiscoveries {
    /// Per property: (expectation, the real condition).
    conditions: Vec<(Expectation, Condition)>,
    /// Per property: a discovery has been made (its condition now answers "nothing to discover").
    found: Vec<AtomicBool>,
    /// States whose properties were evaluated (states popped and checked by the checker).
    checked: AtomicUsize,
}

impl FirstDiscoveries {
    /// Wraps `properties` (the model's, in order).
    pub fn new(properties: &[Property<EosModel>]) -> FirstDiscoveries {
        assert!(properties.len() <= MAX_PROPERTIES, "raise MAX_PROPERTIES to {}", properties.len());
        FirstDiscoveries {
            conditions: properties.iter().map(|p| (p.expectation.clone(), p.condition)).collect(),
            found: properties.iter().map(|_| AtomicBool::new(false)).collect(),
            checked: AtomicUsize::new(0),
        }
    }

    /// The same properties with first-only conditions.
    pub fn wrap(properties: Vec<Property<EosModel>>) -> Vec<Property<EosModel>> {
        properties
            .into_iter()
            .enumerate()
            .map(|(i, p)| Property { expectation: p.expectation, name: p.name, condition: FIRST_ONLY[i] })
            .collect()
    }

    /// States checked so far.
    pub fn checked(&self) -> usize {
        self.checked.load(Ordering::Relaxed)
    }

    fn evaluate(&self, index: usize, model: &EosModel, state: &State) -> bool {
        if index == 0 {
            self.checked.fetch_add(1, Ordering::Relaxed);
        }
        let (expectation, condition) = &self.conditions[index];
        // The value of the condition that makes a discovery: a counterexample for `always`, an
        // example for `sometimes`.
        let discovery = matches!(expectation, Expectation::Sometimes);
        if self.found[index].load(Ordering::Relaxed) {
            return !discovery;
        }
        let value = condition(model, state);
        if value == discovery && self.found[index].swap(true, Ordering::Relaxed) {
            return !discovery; // another thread made the first discovery meanwhile
        }
        value
    }
}

fn first_only<const I: usize>(model: &EosModel, state: &State) -> bool {
    match &model.first_discoveries {
        Some(first) => first.evaluate(I, model, state),
        None => unreachable!("first-only conditions are installed only with FirstDiscoveries"),
    }
}

macro_rules! first_only_table {
    ($($i:literal)*) => { [$(first_only::<$i> as Condition),*] };
}

const FIRST_ONLY: [Condition; MAX_PROPERTIES] = first_only_table!(
    0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23
    24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47
);
