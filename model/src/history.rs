//! Ghost state: facts about the run that Kafka does not store but the properties judge by.
//!
//! Decisions and acknowledgements are keyed by the client's transaction [`Attempt`], so a property can
//! ask "did this record end the way the transaction it was sent in ended?". Transition-level checks
//! (valid coordinator transitions, epoch and LSO monotonicity) are recorded as violations when a step
//! breaks them, because a state predicate cannot see the previous state.

use crate::types::{Attempt, TxnId};
use std::collections::{BTreeMap, BTreeSet};

/// A transition-level invariant broken by some step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Violation {
    /// A transactional id moved to a state whose valid previous states exclude the old one.
    InvalidTransition,
    /// A transactional id's (producer id, epoch) went backwards.
    EpochRegressed,
    /// An EndTxn sent in one attempt ended the transaction another attempt opened.
    WrongTransactionEnded,
    /// A partition's last stable offset decreased.
    LsoRegressed,
}

/// Something interesting that happened, for the `sometimes` properties.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Milestone {
    /// The coordinator aborted a timed-out transaction of this transactional id.
    TimeoutAbort(TxnId),
    /// A transaction aborted by its timeout reached CompleteAbort.
    TimeoutAbortCompleted,
    /// A failover found this transactional id in Prepare* and resumed its markers.
    FailoverResumedPrepare(TxnId),
    /// A transaction resumed after a failover reached Complete*.
    FailoverCompletedPrepare,
}

/// The ghost record of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct History {
    /// The coordinator's decision (true = commit) for the transaction each attempt took part in (first
    /// wins).
    pub decisions: BTreeMap<Attempt, bool>,
    /// The outcome each client was told by a successful EndTxn.
    pub acknowledged: BTreeMap<Attempt, bool>,
    /// Transactional offsets materialised (true) or dropped (false) by a marker, per attempt.
    pub offset_fates: BTreeMap<Attempt, bool>,
    /// Transition-level invariants broken so far.
    pub violations: BTreeSet<Violation>,
    /// Milestones reached so far.
    pub milestones: BTreeSet<Milestone>,
}

impl History {
    /// Records the coordinator's decision for a transaction that `attempt` took part in; the first
    /// decision stands.
    pub fn decide(&mut self, attempt: Attempt, commit: bool) {
        self.decisions.entry(attempt).or_insert(commit);
    }

    /// [`History::decide`] for every member of a decided transaction.
    pub fn decide_all(&mut self, members: &BTreeSet<Attempt>, commit: bool) {
        for member in members {
            self.decide(*member, commit);
        }
    }

    /// Records a broken transition-level invariant.
    pub fn violate(&mut self, violation: Violation) {
        self.violations.insert(violation);
    }
}
