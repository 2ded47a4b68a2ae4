//! Shrinking: a failing trace reduced to a minimal one that is still a path of the model (checked with
//! stateright's `Path::from_actions`) and still fails against the implementation.
//!
//! Delta debugging over the action list: remove large chunks first, then every window of up to four
//! consecutive steps, then pairs of nearby steps (a lost message and its retry are only removable
//! together), until nothing more can go. A candidate that is not a path of the model is skipped.

use crate::replay::{replay, Outcome};
use crate::trace::Trace;
use eos_broker::Faults;
use eos_model::Action;
use stateright::{Model, Path};

/// Whether an outcome is a failure worth keeping while shrinking.
pub fn fails(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Diverged(_) | Outcome::Rejected { .. })
}

fn failing_step(outcome: &Outcome) -> Option<usize> {
    match outcome {
        Outcome::Diverged(d) => Some(d.step),
        Outcome::Rejected { step, .. } => Some(*step),
        _ => None,
    }
}

/// The shrinking state: the current failing actions, the replay budget left, and how a candidate
/// is judged (`Some(step)`: it fails at that step).
struct Shrinker<'a, F: FnMut(&Trace) -> Option<usize>> {
    original: &'a Trace,
    fails_at: F,
    actions: Vec<Action>,
    budget: usize,
}

impl<F: FnMut(&Trace) -> Option<usize>> Shrinker<'_, F> {
    /// The trace with these actions, if they are a path of the model.
    fn trace(&self, actions: &[Action]) -> Option<Trace> {
        let model = self.original.model();
        let init = model.init_states().remove(0);
        let path = Path::from_actions(&model, init, actions)?;
        let mut trace = Trace::from_path(&model.config, self.original.origin, self.original.property.as_deref(), &path);
        trace.seed = self.original.seed;
        Some(trace)
    }

    /// Keeps `trial` (cut after its failing step) if it is a model path that still fails.
    fn try_keep(&mut self, trial: Vec<Action>) -> bool {
        if self.budget == 0 {
            return false;
        }
        let Some(trace) = self.trace(&trial) else { return false };
        self.budget -= 1;
        match (self.fails_at)(&trace) {
            Some(step) => {
                self.actions = trial.into_iter().take(step.max(1)).collect();
                true
            }
            None => false,
        }
    }

    fn without(&self, from: usize, to: usize) -> Vec<Action> {
        self.actions[..from].iter().chain(&self.actions[to..]).cloned().collect()
    }

    /// One pass removing windows of `size` steps, sliding by `stride`; true if anything went.
    fn windows(&mut self, size: usize, stride: usize) -> bool {
        let mut changed = false;
        let mut start = 0;
        while start < self.actions.len() && self.budget > 0 {
            let end = (start + size).min(self.actions.len());
            if self.try_keep(self.without(start, end)) {
                changed = true;
            } else {
                start += stride;
            }
        }
        changed
    }

    /// One pass removing pairs of steps at most 8 apart; true if anything went.
    fn pairs(&mut self) -> bool {
        let mut changed = false;
        let mut i = 0;
        while i < self.actions.len() && self.budget > 0 {
            let mut removed = false;
            for j in i + 2..(i + 9).min(self.actions.len()) {
                let trial: Vec<Action> = self
                    .actions
                    .iter()
                    .enumerate()
                    .filter(|(k, _)| *k != i && *k != j)
                    .map(|(_, a)| a.clone())
                    .collect();
                if self.try_keep(trial) {
                    removed = true;
                    break;
                }
            }
            changed |= removed;
            if !removed {
                i += 1;
            }
        }
        changed
    }
}

/// Reduces `trace`, which fails against the implementation with `faults`, to a locally minimal failing
/// trace. Returns the trace unchanged if it does not fail. At most `budget` replays are spent.
pub fn shrink(trace: &Trace, faults: Faults, budget: usize) -> Trace {
    shrink_with(trace, budget, |candidate| failing_step(&replay(candidate, faults)))
}

/// Reduces `trace` to a locally minimal trace that still fails by `fails_at` (`Some(step)`: the
/// candidate fails at that step), spending at most `budget` judgements. Any implementation can be
/// shrunk against: the in-process cluster, or a broker over the wire.
pub fn shrink_with(trace: &Trace, budget: usize, mut fails_at: impl FnMut(&Trace) -> Option<usize>) -> Trace {
    let Some(step) = fails_at(trace) else { return trace.clone() };
    // Everything after the first failing step is irrelevant.
    let actions = trace.actions().into_iter().take(step.max(1)).collect();
    let mut s = Shrinker { original: trace, fails_at, actions, budget };
    loop {
        let mut changed = false;
        let mut chunk = (s.actions.len() / 2).max(1);
        while chunk > 4 {
            changed |= s.windows(chunk, chunk);
            chunk /= 2;
        }
        for size in (1..=4).rev() {
            changed |= s.windows(size, 1);
        }
        changed |= s.pairs();
        if !changed || s.budget == 0 {
            break;
        }
    }
    s.trace(&s.actions).unwrap_or_else(|| trace.clone())
}
