//! Seeded faults, **for testing only**: deliberate bugs that the conformance harness switches on
//! one at a time to prove it notices a divergence from the model. All are off by default and a
//! correct deployment never enables one. Each is checked at exactly one place in the code,
//! marked `// fault:` with its name.

use serde::{Deserialize, Serialize};

/// One deliberate bug.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// (1) A partition leader skips the producer-epoch check of Produce and markers
    /// (specs/eos.md 5.1 step 4, 5.2 step 1), so a fenced zombie can append.
    SkipPartitionEpochCheck,
    /// (2) ABORT markers never add an entry to the aborted-transaction index, so read_committed
    /// consumers return aborted records.
    ForgetAbortedIndex,
    /// (3) The group coordinator materialises pending offsets on ABORT markers as on COMMIT.
    CommitPendingOffsetsOnAbort,
    /// (4) Duplicate detection is skipped: a retried batch is appended again.
    AcceptDuplicateBatch,
    /// (5) The last stable offset ignores open transactions (LSO = high watermark), so
    /// read_committed consumers see undecided records.
    LsoIgnoresOpenTransactions,
    /// (6) Firing the marker-retry timer re-sends nothing: a lost marker is never retried.
    SkipMarkerRetries,
    /// (7) A wrong valid-previous-states entry: in tv1 modes PrepareAbort may follow CompleteAbort
    /// (the tv2-only empty-abort entry leaks into tv1), and a retried EndTxn(abort) that reaches a
    /// CompleteAbort transaction is taken for a new, empty abort (which bumps the epoch) instead of
    /// being answered as the retry it is.
    WrongValidPreviousStates,
    /// (8) A coordinator failover loses the transaction log: the new coordinator starts empty.
    LoseTransactionLogOnFailover,
    /// (9) tv2 EndTxn does not bump the producer epoch.
    Tv2EndTxnKeepsEpoch,
    /// (10) Partition leaders skip the coordinator-epoch check on markers (5.2 step 2).
    SkipCoordinatorEpochCheck,
    /// (11) OffsetFetch(require_stable) ignores pending transactional offsets.
    OffsetFetchIgnoresPending,
    /// (12) Timing: every add to an Ongoing transaction restarts its start time, so the transaction
    /// timeout counts from the last AddPartitionsToTxn (or implicit add) instead of the first.
    TxnTimeoutRestartsOnAdd,
    /// (13) Timing: the coordinator's expiry check is strict (`now > start + timeout`), so the
    /// transaction-timeout timer does nothing when it fires exactly at its deadline.
    TxnTimeoutFiresLate,
    /// (14) Timing: the client's retry backoff counts from when the failed request was last sent,
    /// not from when it failed.
    ClientRetryBackoffFromSend,
    /// (15) Timing: re-sending failed requests (the retry timer) does not restart their request
    /// timeout, which still counts from the lost send.
    RetryKeepsRequestTimer,
    /// (16) Timing: the coordinator re-sends a failed marker at once, without the marker-retry
    /// backoff.
    MarkerRetryWithoutBackoff,
    /// (17) A transaction-log append that fails leaves its prepared transition pending (KAFKA-5351's
    /// bug): every later request of the id is answered CONCURRENT_TRANSACTIONS until a failover.
    AppendFailureKeepsPending,
    /// (18) A transaction-log append in flight (`coordinator_append_round_trip`) that completes
    /// after a coordinator failover is applied by the new coordinator instead of answered
    /// NOT_COORDINATOR (the coordinator-epoch check of Kafka's `appendTransactionToLog` callback is
    /// skipped).
    CompletionIgnoresCoordinatorEpoch,
    /// (19) A marker at the offsets partition ends the producer's transaction in the first group
    /// that has offsets pending only: another group's pending offsets stay pending for ever.
    MarkerCompletesOneGroup,
    /// (20) Timing: a batch's delivery timeout counts from when it was last sent (a retry or a
    /// request timeout's re-send restarts it) instead of from when the batch was made, so a batch
    /// that is re-sent is given up late.
    DeliveryTimeoutFromLastSend,
    /// (21) A batch given up by its delivery timeout marks its partition's sequence unresolved from
    /// the given-up batch's own sequence instead of the one after it (an off-by-one in Java's
    /// `markSequenceUnresolved`), so the batch right after it is taken for a real gap.
    UnresolvedFromGivenUpSequence,
    /// (22) The transaction-log record of an Ongoing transaction is written without its partitions,
    /// while the coordinator's memory keeps them: a later failover rebuilds an Ongoing transaction
    /// with nothing to abort or commit, whose partitions then hang.
    LogRecordWithoutPartitions,
    /// (23) A leader appends a non-transactional batch of a producer whose transaction is open on the
    /// partition (specs 5.1 step 6 skipped), so the batch lands inside the transaction. The model's
    /// clients never send one: only the requests of specs §14.1, handed to the implementation at the
    /// end of every trace, can show it.
    NonTransactionalBatchInsideTransaction,
    /// (24) The client keeps its decision to skip EndTxn (Java 4.x, after INVALID_PRODUCER_ID_MAPPING)
    /// past the transaction it was made for: the next transaction's abort, if there is one, would also
    /// skip EndTxn (its InitProducerId then has to abort the transaction instead).
    SkipEndTxnOutlivesTransaction,
}

impl Fault {
    /// Every fault, in the order of the list above.
    pub const ALL: [Fault; 24] = [
        Fault::SkipPartitionEpochCheck,
        Fault::ForgetAbortedIndex,
        Fault::CommitPendingOffsetsOnAbort,
        Fault::AcceptDuplicateBatch,
        Fault::LsoIgnoresOpenTransactions,
        Fault::SkipMarkerRetries,
        Fault::WrongValidPreviousStates,
        Fault::LoseTransactionLogOnFailover,
        Fault::Tv2EndTxnKeepsEpoch,
        Fault::SkipCoordinatorEpochCheck,
        Fault::OffsetFetchIgnoresPending,
        Fault::TxnTimeoutRestartsOnAdd,
        Fault::TxnTimeoutFiresLate,
        Fault::ClientRetryBackoffFromSend,
        Fault::RetryKeepsRequestTimer,
        Fault::MarkerRetryWithoutBackoff,
        Fault::AppendFailureKeepsPending,
        Fault::CompletionIgnoresCoordinatorEpoch,
        Fault::MarkerCompletesOneGroup,
        Fault::DeliveryTimeoutFromLastSend,
        Fault::UnresolvedFromGivenUpSequence,
        Fault::LogRecordWithoutPartitions,
        Fault::NonTransactionalBatchInsideTransaction,
        Fault::SkipEndTxnOutlivesTransaction,
    ];
}

/// The set of enabled faults (empty by default: correct behaviour). A bit set, cheap to test on
/// hot paths; serialised as a list of fault names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "Vec<Fault>", into = "Vec<Fault>")]
pub struct Faults(u32);

impl Faults {
    /// No faults: the correct implementation.
    pub fn none() -> Self {
        Self::default()
    }

    /// Exactly one fault.
    pub fn only(fault: Fault) -> Self {
        let mut faults = Self::none();
        faults.enable(fault);
        faults
    }

    fn bit(fault: Fault) -> u32 {
        let index = Fault::ALL.iter().position(|f| *f == fault).expect("every fault is in ALL");
        1 << index
    }

    /// Whether `fault` is enabled.
    #[inline]
    pub fn has(&self, fault: Fault) -> bool {
        self.0 != 0 && self.0 & Self::bit(fault) != 0
    }

    /// Enables `fault`.
    pub fn enable(&mut self, fault: Fault) {
        self.0 |= Self::bit(fault);
    }

    /// Disables `fault`.
    pub fn disable(&mut self, fault: Fault) {
        self.0 &= !Self::bit(fault);
    }

    /// The enabled faults in order.
    pub fn iter(&self) -> impl Iterator<Item = Fault> + '_ {
        Fault::ALL.into_iter().filter(|fault| self.has(*fault))
    }
}

impl From<Vec<Fault>> for Faults {
    fn from(list: Vec<Fault>) -> Self {
        let mut faults = Self::none();
        for fault in list {
            faults.enable(fault);
        }
        faults
    }
}

impl From<Faults> for Vec<Fault> {
    fn from(faults: Faults) -> Self {
        faults.iter().collect()
    }
}
