//! The transaction states of a transactional id and the transition relation as data: for each
//! target state, the states it may follow (Kafka's `TransactionState.validPreviousStates`,
//! version-aware for KIP-890 part 2). specs/eos.md 4.1 is the source; the model keeps its own copy
//! and the conformance harness checks that the two agree.

use crate::config::ProtocolMode;
use crate::mutation::{Fault, Faults};
use serde::{Deserialize, Serialize};

/// The state of a transactional id at the coordinator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TxnState {
    /// No transaction: after InitProducerId.
    Empty,
    /// A transaction with at least one partition (or the offsets) added.
    Ongoing,
    /// EndTxn(commit) is durable; markers are being written.
    PrepareCommit,
    /// EndTxn(abort), a timeout or a fence is durable; markers are being written.
    PrepareAbort,
    /// Every COMMIT marker was acknowledged.
    CompleteCommit,
    /// Every ABORT marker was acknowledged.
    CompleteAbort,
    /// Expired transactional id (no transition enters it in eos).
    Dead,
    /// A fence in progress: never logged, immediately followed by PrepareAbort.
    PrepareEpochFence,
}

use TxnState::{CompleteAbort, CompleteCommit, Dead, Empty, Ongoing, PrepareAbort, PrepareCommit, PrepareEpochFence};

impl TxnState {
    /// Every state.
    pub const ALL: [TxnState; 8] =
        [Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort, Dead, PrepareEpochFence];

    /// The states this one may follow (specs 4.1), one line per trigger.
    pub const fn valid_previous_states(self, protocol: ProtocolMode) -> &'static [TxnState] {
        match (self, protocol) {
            // InitProducerId: epoch bump or new producer id.
            (Empty, _) => &[Empty, CompleteCommit, CompleteAbort],
            // AddPartitionsToTxn / AddOffsetsToTxn / tv2 implicit add.
            (Ongoing, _) => &[Empty, Ongoing, CompleteCommit, CompleteAbort],
            // EndTxn(commit).
            (PrepareCommit, _) => &[Ongoing],
            // EndTxn(abort), timeout, fence; tv2 also the empty abort.
            (PrepareAbort, ProtocolMode::Tv2) => &[Ongoing, PrepareEpochFence, Empty, CompleteCommit, CompleteAbort],
            (PrepareAbort, _) => &[Ongoing, PrepareEpochFence],
            // The last COMMIT marker acknowledged.
            (CompleteCommit, _) => &[PrepareCommit],
            // The last ABORT marker acknowledged.
            (CompleteAbort, _) => &[PrepareAbort],
            // Transactional-id expiry.
            (Dead, _) => &[Empty, CompleteCommit, CompleteAbort],
            // A fence of an ongoing transaction.
            (PrepareEpochFence, _) => &[Ongoing],
        }
    }

    /// Whether `from -> self` is allowed. Fault 7 adds CompleteAbort to PrepareAbort's tv1 entry.
    pub fn may_follow(self, from: TxnState, protocol: ProtocolMode, faults: Faults) -> bool {
        // fault: WrongValidPreviousStates
        if self == PrepareAbort
            && from == CompleteAbort
            && !protocol.is_tv2()
            && faults.has(Fault::WrongValidPreviousStates)
        {
            return true;
        }
        self.valid_previous_states(protocol).contains(&from)
    }

    /// PrepareCommit or PrepareAbort.
    pub fn is_prepare(self) -> bool {
        matches!(self, PrepareCommit | PrepareAbort)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_the_specification() {
        // Proves the table is specs 4.1 row by row, including the tv2-only empty-abort edges.
        let tv1 = ProtocolMode::Tv1;
        assert_eq!(PrepareAbort.valid_previous_states(tv1), &[Ongoing, PrepareEpochFence]);
        assert!(PrepareAbort.may_follow(Empty, ProtocolMode::Tv2, Faults::none()));
        assert!(!PrepareAbort.may_follow(Empty, ProtocolMode::Tv1Verified, Faults::none()));
        assert!(!PrepareCommit.may_follow(Empty, ProtocolMode::Tv2, Faults::none()));
        assert!(CompleteCommit.may_follow(PrepareCommit, tv1, Faults::none()));
        assert!(!CompleteCommit.may_follow(PrepareAbort, tv1, Faults::none()));
        for state in TxnState::ALL {
            assert!(!state.valid_previous_states(tv1).contains(&Dead), "nothing follows Dead");
        }
    }

    #[test]
    fn fault_seven_adds_exactly_one_edge() {
        // Proves the seeded fault changes only CompleteAbort -> PrepareAbort, and only in tv1 modes.
        let faulty = Faults::only(Fault::WrongValidPreviousStates);
        for protocol in [ProtocolMode::Tv1, ProtocolMode::Tv1Verified, ProtocolMode::Tv2] {
            for to in TxnState::ALL {
                for from in TxnState::ALL {
                    let correct = to.may_follow(from, protocol, Faults::none());
                    let wrong = to.may_follow(from, protocol, faulty);
                    let expected = (from, to) == (CompleteAbort, PrepareAbort) && !protocol.is_tv2();
                    assert_eq!(correct != wrong, expected, "{protocol:?}: {from:?} -> {to:?}");
                }
            }
        }
    }
}
