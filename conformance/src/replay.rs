//! Replay: run a trace's actions on the model and an implementation side by side and compare their
//! observable states after every step, and their timers (specs/eos.md §10 and §11: each step happens
//! at the time the harness's [`Clock`] gives it). The first difference is the divergence.

use crate::clock::{Clock, TimerTable};
use crate::coverage::Coverage;
use crate::inproc::InProc;
use crate::trace::Trace;
use eos_broker::Faults;
use eos_model::observe::{diff, FieldDiff, Observation};
use eos_model::{Action, EosModel, State};
use stateright::Model;

/// Where and how an implementation first differs from the model.
#[derive(Clone, Debug, PartialEq)]
pub struct Divergence {
    /// The step (1-based; 0 is the initial state).
    pub step: usize,
    /// The action of that step (`None` for the initial state).
    pub action: Option<Action>,
    /// The fields that differ (model on the left, implementation on the right).
    pub diffs: Vec<FieldDiff>,
    /// The model's observation.
    pub model: Observation,
    /// The implementation's observation (`None` if it could not be expressed in the model's terms).
    pub implementation: Option<Observation>,
    /// Why the implementation could not be observed, if it could not.
    pub untranslatable: Option<String>,
}

/// The result of replaying one trace.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Every step's states agree.
    Conforms {
        /// Steps replayed.
        steps: usize,
    },
    /// The states differ at some step.
    Diverged(Box<Divergence>),
    /// The implementation refused an action (or could not be set up).
    Rejected {
        /// The step (1-based; 0 = set-up).
        step: usize,
        /// The action refused.
        action: Option<Action>,
        /// The implementation's reason.
        reason: String,
    },
    /// The trace is not a path of the model (it cannot judge the implementation).
    InvalidTrace {
        /// The step.
        step: usize,
        /// Why.
        reason: String,
    },
}

impl Outcome {
    /// Whether the implementation conformed.
    pub fn conforms(&self) -> bool {
        matches!(self, Outcome::Conforms { .. })
    }
}

/// Replays `trace` against the in-process implementation with `faults` switched on. The trace's
/// recorded states are taken as the model's (true of every trace eos makes; [`Trace::validate`]
/// checks a trace from elsewhere).
pub fn replay(trace: &Trace, faults: Faults) -> Outcome {
    replay_covering(trace, faults, &mut Coverage::default())
}

/// [`replay`], recording in `coverage` every state and step on which the implementation agreed.
pub fn replay_covering(trace: &Trace, faults: Faults, coverage: &mut Coverage) -> Outcome {
    let model = trace.model();
    let mut state = model.init_states().remove(0);
    let mut driver = match InProc::new(&model.config, faults) {
        Ok(d) => d,
        Err(e) => return Outcome::Rejected { step: 0, action: None, reason: e.0 },
    };
    let mut clock = Clock::new(&model.config);
    if let Some(d) = compare(&mut driver, &clock, &trace.initial, 0, None) {
        return Outcome::Diverged(Box::new(d));
    }
    coverage.record_state(&state);
    let mut before = &trace.initial;
    for (i, step) in trace.steps.iter().enumerate() {
        let Some(next) = next_state(&model, &state, &step.action) else {
            return Outcome::InvalidTrace {
                step: i + 1,
                reason: format!("the model does not allow {:?}", step.action),
            };
        };
        let now = clock.time_of(&step.action);
        driver.set_clock(now);
        if let Err(rejection) = driver.step(&state, &step.action, &next) {
            return Outcome::Rejected { step: i + 1, action: Some(step.action.clone()), reason: rejection.0 };
        }
        clock.record(now, before, &step.action, &step.state);
        if let Some(d) = compare(&mut driver, &clock, &step.state, i + 1, Some(&step.action)) {
            return Outcome::Diverged(Box::new(d));
        }
        coverage.record_step(&state, &step.action, &next);
        state = next;
        before = &step.state;
    }
    // The requests no model client sends (specs/eos.md §14.1), at the last state: each refused as §14.1
    // says, and the implementation still what the model's last state shows.
    let last = trace.steps.last().map(|step| &step.action);
    let malformed = driver.check_malformed();
    let divergence = if malformed.is_empty() {
        compare(&mut driver, &clock, before, trace.steps.len(), last)
    } else {
        Some(Divergence {
            step: trace.steps.len(),
            action: last.cloned(),
            diffs: malformed,
            model: before.clone(),
            implementation: driver.observe().ok(),
            untranslatable: None,
        })
    };
    match divergence {
        Some(d) => Outcome::Diverged(Box::new(d)),
        None => Outcome::Conforms { steps: trace.steps.len() },
    }
}

/// The model's next state if `action` is enabled in `state`.
pub fn next_state(model: &EosModel, state: &State, action: &Action) -> Option<State> {
    let mut enabled = Vec::new();
    model.actions(state, &mut enabled);
    if !enabled.contains(action) {
        return None;
    }
    model.next_state(state, action.clone())
}

/// Compares the implementation with the model's observation `expected` (the trace's, which for a
/// valid trace is the model's own), then its timers with those `clock`'s rules arm in `expected`.
fn compare(
    driver: &mut InProc,
    clock: &Clock,
    expected: &Observation,
    step: usize,
    action: Option<&Action>,
) -> Option<Divergence> {
    match driver.observe() {
        Ok(actual) if actual == *expected => compare_timers(driver, clock, expected, step, action),
        Ok(actual) => Some(Divergence {
            step,
            action: action.cloned(),
            diffs: diff(expected, &actual),
            model: expected.clone(),
            implementation: Some(actual),
            untranslatable: None,
        }),
        Err(e) => Some(Divergence {
            step,
            action: action.cloned(),
            diffs: Vec::new(),
            model: expected.clone(),
            implementation: None,
            untranslatable: Some(e.0),
        }),
    }
}

/// Compares the implementation's armed timers and deadlines with the rules' (the observations
/// already agree, so both sides show `expected`).
fn compare_timers(
    driver: &mut InProc,
    clock: &Clock,
    expected: &Observation,
    step: usize,
    action: Option<&Action>,
) -> Option<Divergence> {
    let divergence = |diffs, untranslatable| Divergence {
        step,
        action: action.cloned(),
        diffs,
        model: expected.clone(),
        implementation: Some(expected.clone()),
        untranslatable,
    };
    let wanted = clock.expected(expected);
    match driver.timers() {
        Ok(actual) if actual == wanted => None,
        Ok(actual) => Some(divergence(timer_diffs(&wanted, &actual), None)),
        Err(e) => Some(divergence(Vec::new(), Some(e.0))),
    }
}

/// One field per timer whose deadlines differ: `timers[NAME]`, model (the rules) on the left.
fn timer_diffs(model: &TimerTable, implementation: &TimerTable) -> Vec<FieldDiff> {
    let show = |deadlines: Option<&Vec<i64>>| match deadlines {
        None => "not armed".to_string(),
        Some(d) => {
            let list: Vec<String> = d.iter().map(|ms| format!("{ms} ms")).collect();
            format!("due at {}", list.join(", "))
        }
    };
    let names: std::collections::BTreeSet<&crate::clock::TimerName> =
        model.keys().chain(implementation.keys()).collect();
    names
        .into_iter()
        .filter(|name| model.get(*name) != implementation.get(*name))
        .map(|name| FieldDiff {
            path: format!("timers[{name}]"),
            left: show(model.get(name)),
            right: show(implementation.get(name)),
        })
        .collect()
}
