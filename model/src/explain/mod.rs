//! One line per property saying why the last state of a discovery violates (or, for `sometimes`,
//! satisfies) it: the culprit record, offset or transaction, named as Kafka names it.
//!
//! Every property of the catalogue has an explainer ([`EXPLAINERS`]; a test fails for a property
//! without one). An explainer sees the last step (the state before, the action, the state after),
//! because transition-level properties (an EndTxn that ended another attempt's transaction, an LSO
//! that went back) are about what the step did. It returns `None` when it cannot find the culprit;
//! [`why`] then says so plainly instead of guessing.

use crate::coordinator::TxnState;
use crate::history::Violation;
use crate::model::EosModel;
use crate::partition::{LogEntry, PartitionState};
use crate::state::{Action, State};
use crate::types::*;

/// The last step of a discovery.
pub struct Step<'a> {
    /// The model (its scenario).
    pub model: &'a EosModel,
    /// The state before the last action (None for a discovery at the initial state).
    pub before: Option<&'a State>,
    /// The last action.
    pub action: Option<&'a Action>,
    /// The state judged.
    pub after: &'a State,
}

/// An explainer: the reason in one line, or None if the culprit cannot be found.
pub type Explainer = fn(&Step) -> Option<String>;

mod liveness;
mod safety;

use liveness::*;
use safety::*;

/// (property, explainer) for every property of the catalogue.
pub const EXPLAINERS: &[(&str, Explainer)] = &[
    ("valid_coordinator_transitions", valid_coordinator_transitions),
    ("epoch_monotonic", epoch_monotonic),
    ("fenced_epochs_never_append", fenced_epochs_never_append),
    ("atomicity", atomicity),
    ("no_hanging_transaction", no_hanging_transaction),
    ("transaction_identity", transaction_identity),
    ("consumer_sees_only_committed", consumer_sees_only_committed),
    ("no_lost_committed_write", no_lost_committed_write),
    ("idempotence", idempotence),
    ("lso_bounded_and_monotone", lso_bounded_and_monotone),
    ("offsets_visible_iff_committed", offsets_visible_iff_committed),
    ("copier_exactly_once", copier_exactly_once),
    ("no_spurious_fence", no_spurious_fence),
    ("prepare_completes", prepare_completes),
    ("ongoing_ends", ongoing_ends),
    ("lso_advances", lso_advances),
    ("committed_eventually_visible", committed_eventually_visible),
    ("live_producer_progresses", live_producer_progresses),
    ("commit_reached", commit_reached),
    ("abort_reached", abort_reached),
    ("producer_fenced_reached", producer_fenced_reached),
    ("timeout_abort_reached", timeout_abort_reached),
    ("failover_completes_prepare", failover_completes_prepare),
    ("copier_completed", copier_completed),
];

/// The explainer of `property`, if it has one.
pub fn explainer(property: &str) -> Option<Explainer> {
    EXPLAINERS.iter().find(|(name, _)| *name == property).map(|(_, f)| *f)
}

/// Why the last state of `path` violates (or satisfies, for `sometimes`) `property`, in one line.
pub fn why(model: &EosModel, property: &str, path: &stateright::Path<State, Action>) -> String {
    let steps = path.clone().into_vec();
    let (after, _) = steps.last().expect("a path has a state");
    let (before, action) = match steps.len() {
        0 | 1 => (None, None),
        n => (Some(&steps[n - 2].0), steps[n - 2].1.as_ref()),
    };
    explain(&Step { model, before, action, after }, property)
}

/// [`why`] for one step.
pub fn explain(step: &Step, property: &str) -> String {
    let found = explainer(property).and_then(|f| f(step));
    found.unwrap_or_else(|| format!("the last state {} {property} (no finer explanation found)", verb(property)))
}

fn verb(property: &str) -> &'static str {
    let sometimes = ["_reached", "copier_completed", "failover_completes_prepare"];
    if sometimes.iter().any(|s| property.ends_with(s)) {
        "satisfies"
    } else {
        "violates"
    }
}

/// Liveness properties are judged at terminal states: say so first.
pub(super) fn terminal(step: &Step, what: String) -> String {
    let terminal = step.model.is_terminal(step.after);
    let prefix = if terminal { "the state is terminal (nothing can happen any more but retry loops) and " } else { "" };
    format!("{prefix}{what}")
}

pub(super) fn newly(step: &Step, violation: Violation) -> bool {
    step.after.history.violations.contains(&violation)
        && step.before.is_none_or(|b| !b.history.violations.contains(&violation))
}

pub(super) fn txn_records(state: &State) -> impl Iterator<Item = (TxnId, &crate::coordinator::TxnRecord)> {
    state.coordinator.log.iter().enumerate().filter_map(|(t, r)| r.as_ref().map(|r| (t as TxnId, r)))
}

pub(super) fn decision_text(state: &State, attempt: &Attempt) -> &'static str {
    match state.history.decisions.get(attempt) {
        Some(true) => "committed",
        Some(false) => "aborted",
        None => "not decided",
    }
}

pub(super) fn record_text(entry: &LogEntry) -> String {
    match entry {
        LogEntry::Data { value, attempt, .. } => format!("record {value} (sent in attempt {attempt})"),
        LogEntry::Control { commit: true, .. } => "a COMMIT marker".to_string(),
        LogEntry::Control { .. } => "an ABORT marker".to_string(),
    }
}

pub(super) fn partitions(state: &State) -> impl Iterator<Item = (PartitionIndex, &PartitionState)> {
    state.partitions.iter().enumerate().map(|(i, p)| (i as PartitionIndex, &**p))
}

// ---------------------------------------------------------------------------------------------
// Reachability: why the last state is an example.

fn commit_reached(step: &Step) -> Option<String> {
    txn_records(step.after)
        .find(|(_, r)| r.state == TxnState::CompleteCommit)
        .map(|(t, _)| format!("txn-{t} reached CompleteCommit"))
}

fn abort_reached(step: &Step) -> Option<String> {
    txn_records(step.after)
        .find(|(_, r)| r.state == TxnState::CompleteAbort)
        .map(|(t, _)| format!("txn-{t} reached CompleteAbort"))
}

fn producer_fenced_reached(step: &Step) -> Option<String> {
    step.after
        .clients
        .iter()
        .position(|c| c.fenced)
        .map(|i| format!("producer-{i} was told it is fenced (PRODUCER_FENCED or INVALID_PRODUCER_EPOCH)"))
}

fn timeout_abort_reached(step: &Step) -> Option<String> {
    use crate::history::Milestone;
    step.after
        .history
        .milestones
        .contains(&Milestone::TimeoutAbortCompleted)
        .then(|| "a transaction the coordinator aborted on its timeout reached CompleteAbort".to_string())
}

fn failover_completes_prepare(step: &Step) -> Option<String> {
    use crate::history::Milestone;
    step.after
        .history
        .milestones
        .contains(&Milestone::FailoverCompletedPrepare)
        .then(|| "a transaction found in Prepare* by a failover was completed by the new coordinator".to_string())
}

fn copier_completed(step: &Step) -> Option<String> {
    step.after
        .group
        .group(0)
        .committed
        .map(|offset| format!("the copier's group committed offset {offset}: every input processed"))
}
