//! Ghost state: facts about the run that Kafka does not store but the properties judge by.
//!
//! Decisions and acknowledgements are keyed by the client's transaction [`Attempt`], so a property can
//! ask "did this record end the way the transaction it was sent in ended?". Transition-level checks
//! (valid coordinator transitions, epoch and LSO monotonicity) are recorded as violations when a step
//! breaks them, because a state predicate cannot see the previous state.

use crate::collections::{IndexSet, Indexed};
use crate::types::{Attempt, ProducerIndex, TxnId};

/// A transition-level invariant broken by some step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
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

impl Indexed for Violation {
    fn index(self) -> u32 {
        self as u32
    }
    fn from_index(index: u32) -> Self {
        [
            Violation::InvalidTransition,
            Violation::EpochRegressed,
            Violation::WrongTransactionEnded,
            Violation::LsoRegressed,
        ][index as usize]
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl Indexed for Milestone {
    fn index(self) -> u32 {
        match self {
            Milestone::TimeoutAbort(t) => u32::from(t),
            Milestone::FailoverResumedPrepare(t) => 8 + u32::from(t),
            Milestone::TimeoutAbortCompleted => 16,
            Milestone::FailoverCompletedPrepare => 17,
        }
    }
    fn from_index(index: u32) -> Self {
        match index {
            0..8 => Milestone::TimeoutAbort(index as u8),
            8..16 => Milestone::FailoverResumedPrepare((index - 8) as u8),
            16 => Milestone::TimeoutAbortCompleted,
            _ => Milestone::FailoverCompletedPrepare,
        }
    }
}

impl std::fmt::Display for Milestone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

/// An outcome (commit or abort) per attempt, first one recorded wins.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Outcomes {
    known: IndexSet<Attempt>,
    committed: IndexSet<Attempt>,
}

impl Outcomes {
    /// The outcome of `attempt`, if recorded.
    pub fn get(&self, attempt: &Attempt) -> Option<bool> {
        self.known.contains(attempt).then(|| self.committed.contains(attempt))
    }

    /// Records `commit` for `attempt` unless an outcome is already recorded.
    pub fn record(&mut self, attempt: Attempt, commit: bool) {
        if self.known.insert(attempt) && commit {
            self.committed.insert(attempt);
        }
    }

    /// (attempt, outcome) pairs in attempt order.
    pub fn iter(&self) -> impl Iterator<Item = (Attempt, bool)> + '_ {
        self.known.iter().map(|a| (a, self.committed.contains(&a)))
    }

    /// The attempts with an outcome, and those of them that committed.
    pub fn sets(&self) -> (IndexSet<Attempt>, IndexSet<Attempt>) {
        (self.known, self.committed)
    }

    /// The same outcomes with attempts renamed by `f`.
    pub fn map(&self, f: impl Fn(Attempt) -> Attempt) -> Outcomes {
        Outcomes { known: self.known.map(&f), committed: self.committed.map(&f) }
    }
}

/// The ghost record of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct History {
    /// The coordinator's decision (true = commit) for the transaction each attempt took part in (first
    /// wins).
    pub decisions: Outcomes,
    /// The outcome each client was told by a successful EndTxn.
    pub acknowledged: Outcomes,
    /// Transactional offsets materialised (true) or dropped (false) by a marker, per attempt.
    pub offset_fates: Outcomes,
    /// Transition-level invariants broken so far.
    pub violations: IndexSet<Violation>,
    /// Milestones reached so far.
    pub milestones: IndexSet<Milestone>,
    /// Producer instances legitimately fenced: a newer instance of their transactional id initialised
    /// (bumping or fencing the epoch), or the coordinator timed their transaction out.
    pub fenced_instances: IndexSet<ProducerIndex>,
}

impl History {
    /// Records the coordinator's decision for a transaction that `attempt` took part in; the first
    /// decision stands.
    pub fn decide(&mut self, attempt: Attempt, commit: bool) {
        self.decisions.record(attempt, commit);
    }

    /// [`History::decide`] for every member of a decided transaction.
    pub fn decide_all(&mut self, members: &IndexSet<Attempt>, commit: bool) {
        for member in members.iter() {
            self.decide(member, commit);
        }
    }

    /// Records a broken transition-level invariant.
    pub fn violate(&mut self, violation: Violation) {
        self.violations.insert(violation);
    }
}
