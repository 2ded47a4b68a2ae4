//! Per-producer state of a partition leader (KIP-98, Kafka's `ProducerStateEntry` and
//! `ProducerAppendInfo`): the producer's epoch, its last five batches for duplicate detection,
//! the coordinator epoch of its last marker, and the first offset of its open transaction. The
//! checks of specs/eos.md 5.1 steps 3 to 6 and 5.2 steps 1 and 2 live here, in that order.

use crate::error::ErrorCode;
use crate::mutation::{Fault, Faults};
use crate::types::{CoordinatorEpoch, Offset, ProducerEpoch, ProducerId, Sequence, NO_PRODUCER_EPOCH, NO_SEQUENCE};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// How many recent batches a producer entry remembers for duplicate detection (Kafka: 5).
pub const NUM_BATCHES_TO_RETAIN: usize = 5;

/// Who appends a batch: a client (sequence numbers checked) or a coordinator writing on a
/// client's behalf (the offsets partition: only the epoch is checked), as Kafka's `AppendOrigin`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendOrigin {
    /// A producer's Produce.
    Client,
    /// The group coordinator writing a TxnOffsetCommit.
    Coordinator,
}

/// One remembered batch: its sequence range and where it landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchMetadata {
    /// First sequence of the batch.
    pub first_sequence: Sequence,
    /// Last sequence of the batch.
    pub last_sequence: Sequence,
    /// Offset of its first record.
    pub first_offset: Offset,
}

/// What a partition leader knows about one producer id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerStateEntry {
    /// The producer id.
    pub producer_id: ProducerId,
    /// The latest epoch seen (from data or a marker); -1 if none.
    pub producer_epoch: ProducerEpoch,
    /// The last (up to) five batches of this epoch, oldest first.
    pub batches: VecDeque<BatchMetadata>,
    /// The coordinator epoch of the last marker; -1 if none.
    pub coordinator_epoch: CoordinatorEpoch,
    /// First offset of the open transaction, if one is open.
    pub current_txn_first_offset: Option<Offset>,
}

impl ProducerStateEntry {
    /// A producer the leader has never seen.
    pub fn new(producer_id: ProducerId) -> Self {
        Self {
            producer_id,
            producer_epoch: NO_PRODUCER_EPOCH,
            batches: VecDeque::with_capacity(NUM_BATCHES_TO_RETAIN),
            coordinator_epoch: -1,
            current_txn_first_offset: None,
        }
    }

    /// The last sequence appended in this epoch, or -1.
    pub fn last_sequence(&self) -> Sequence {
        self.batches.back().map_or(NO_SEQUENCE, |batch| batch.last_sequence)
    }

    /// The remembered batch with exactly this sequence range, if any.
    pub fn find_duplicate(&self, first: Sequence, last: Sequence) -> Option<&BatchMetadata> {
        self.batches.iter().find(|batch| batch.first_sequence == first && batch.last_sequence == last)
    }

    /// Moves to `epoch`, forgetting the batches of an older one.
    fn set_epoch(&mut self, epoch: ProducerEpoch) {
        if self.producer_epoch != epoch {
            self.producer_epoch = epoch;
            self.batches.clear();
        }
    }

    /// Remembers a batch, keeping only the last five.
    fn remember(&mut self, batch: BatchMetadata) {
        if self.batches.len() == NUM_BATCHES_TO_RETAIN {
            self.batches.pop_front();
        }
        self.batches.push_back(batch);
        debug_assert!(self.batches.len() <= NUM_BATCHES_TO_RETAIN);
    }
}

/// The data batch a check looks at (only the fields the producer state cares about).
#[derive(Clone, Copy, Debug)]
pub struct BatchHeader {
    /// Producer id (>= 0 here).
    pub producer_id: ProducerId,
    /// Producer epoch.
    pub producer_epoch: ProducerEpoch,
    /// First sequence.
    pub first_sequence: Sequence,
    /// Last sequence.
    pub last_sequence: Sequence,
    /// Transactional flag.
    pub is_transactional: bool,
}

/// The verdict on a data batch that passed the checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendDecision {
    /// Append it.
    Append,
    /// A retry of a batch already in the log at this offset: answer it, append nothing.
    Duplicate {
        /// Offset of the original batch's first record.
        first_offset: Offset,
    },
}

/// The epoch checks that apply (the `fencing` guard and fault 1 switch them off), and whether the
/// duplicate window is consulted.
#[derive(Clone, Copy, Debug)]
pub struct EpochChecks {
    /// Compare producer epochs at all.
    pub enabled: bool,
    /// KIP-1228 (KAFKA-19446): a transaction-version-2 marker needs an epoch above the producer's.
    pub strict_tv2_markers: bool,
    /// KAFKA-19999: under the strict rule, a TV2 marker at the producer's epoch with no transaction
    /// open is an idempotent retry and is accepted.
    pub idempotent_marker_retry: bool,
    /// KAFKA-19690: a batch's epoch is checked before its verification guard.
    pub epoch_before_guard: bool,
    /// redpanda-data/redpanda#3039's fix: a batch among the producer's last five is a duplicate
    /// (off: no window, only the in-sequence check, so an older retry is OUT_OF_ORDER_SEQUENCE_NUMBER).
    pub duplicate_window: bool,
    /// KAFKA-18202 (transactions V2 only): a transactional batch from a producer this leader holds no
    /// batch of must start at sequence 0.
    pub first_sequence_zero: bool,
}

/// Every producer entry of one partition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProducerStateManager {
    entries: BTreeMap<ProducerId, ProducerStateEntry>,
}

impl ProducerStateManager {
    /// The entry of a producer, if the leader has seen it.
    pub fn entry(&self, producer_id: ProducerId) -> Option<&ProducerStateEntry> {
        self.entries.get(&producer_id)
    }

    /// Forgets a producer with no transaction open (Kafka's `removeExpiredProducers`, whose
    /// `isProducerExpired` never expires one with `currentTxnFirstOffset` set); whether it did.
    pub fn expire(&mut self, producer_id: ProducerId) -> bool {
        let expirable = self.entries.get(&producer_id).is_some_and(|e| e.current_txn_first_offset.is_none());
        if expirable {
            self.entries.remove(&producer_id);
        }
        expirable
    }

    /// Every entry, by producer id.
    pub fn entries(&self) -> &BTreeMap<ProducerId, ProducerStateEntry> {
        &self.entries
    }

    /// Whether `producer_id` has an open transaction begun at `producer_epoch` (KIP-890: a
    /// transactional append needs verification, or tv2's implicit add, unless it does).
    pub fn has_ongoing_transaction(&self, producer_id: ProducerId, producer_epoch: ProducerEpoch) -> bool {
        self.entries
            .get(&producer_id)
            .is_some_and(|entry| entry.current_txn_first_offset.is_some() && entry.producer_epoch == producer_epoch)
    }

    /// Specs 5.1 steps 3 to 6: duplicate, epoch, sequence, non-transactional-in-transaction.
    #[cfg(test)]
    pub fn check_data_batch(
        &self,
        batch: &BatchHeader,
        origin: AppendOrigin,
        epochs: EpochChecks,
        faults: Faults,
    ) -> Result<AppendDecision, ErrorCode> {
        check_data_batch(self.entries.get(&batch.producer_id), batch, origin, epochs, VerificationCheck::NONE, faults)
    }

    /// Records an appended data batch (after [`Self::check_data_batch`] said Append). Returns
    /// whether it opened a transaction.
    pub fn update_after_data(&mut self, batch: &BatchHeader, first_offset: Offset) -> bool {
        let entry = self.entries.entry(batch.producer_id).or_insert_with(|| ProducerStateEntry::new(batch.producer_id));
        entry.set_epoch(batch.producer_epoch);
        if batch.first_sequence >= 0 {
            entry.remember(BatchMetadata {
                first_sequence: batch.first_sequence,
                last_sequence: batch.last_sequence,
                first_offset,
            });
        }
        let opens = batch.is_transactional && entry.current_txn_first_offset.is_none();
        if opens {
            entry.current_txn_first_offset = Some(first_offset);
        }
        opens
    }

    /// Specs 5.2 steps 1 and 2 for a marker of (pid, epoch, coordinator epoch, transaction version),
    /// as Kafka's `ProducerAppendInfo.checkProducerEpoch` and `checkCoordinatorEpoch`.
    pub fn check_marker(
        &self,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
        coordinator_epoch: CoordinatorEpoch,
        transaction_version: i16,
        epochs: EpochChecks,
        faults: Faults,
    ) -> Result<(), ErrorCode> {
        let Some(entry) = self.entries.get(&producer_id) else {
            return Ok(());
        };
        let current = entry.producer_epoch;
        let too_old = if transaction_version >= 2 && epochs.strict_tv2_markers {
            // The coordinator bumps the epoch before writing a TV2 marker, so one at the current epoch
            // is a duplicate from the previous transaction, unless nothing is open (a retry).
            let retry =
                epochs.idempotent_marker_retry && producer_epoch == current && entry.current_txn_first_offset.is_none();
            producer_epoch <= current && !retry
        } else {
            producer_epoch < current
        };
        if epochs.enabled && too_old {
            return Err(ErrorCode::InvalidProducerEpoch);
        }
        // fault: SkipCoordinatorEpochCheck
        if !faults.has(Fault::SkipCoordinatorEpochCheck) && coordinator_epoch < entry.coordinator_epoch {
            return Err(ErrorCode::TransactionCoordinatorFenced);
        }
        Ok(())
    }

    /// Records an appended marker; returns the first offset of the transaction it closed, if any.
    pub fn update_after_marker(
        &mut self,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
        coordinator_epoch: CoordinatorEpoch,
    ) -> Option<Offset> {
        let entry = self.entries.entry(producer_id).or_insert_with(|| ProducerStateEntry::new(producer_id));
        entry.set_epoch(producer_epoch);
        entry.coordinator_epoch = coordinator_epoch;
        entry.current_txn_first_offset.take()
    }
}

/// What the partition's verification state says of a batch (specs 5.1 steps 4a and 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerificationCheck {
    /// The batch's verification guard still matches, or none applies (KAFKA-14884).
    pub guard_ok: bool,
    /// A verification of the producer is in progress for a lower sequence (KAFKA-14920).
    pub above_lowest_sequence: bool,
}

impl VerificationCheck {
    /// No verification state concerns the batch.
    pub const NONE: VerificationCheck = VerificationCheck { guard_ok: true, above_lowest_sequence: false };
}

/// Specs 5.1 steps 3 to 6 against a producer's entry (`None`: never seen): duplicate, epoch,
/// sequence, non-transactional-in-transaction. A batch whose verification guard no longer matches
/// (specs 5.1 step 4a, KAFKA-14884) is refused after the epoch check, before the sequence check; one
/// above the lowest sequence of a verification in progress (KAFKA-14920) at the sequence check.
pub fn check_data_batch(
    entry: Option<&ProducerStateEntry>,
    batch: &BatchHeader,
    origin: AppendOrigin,
    epochs: EpochChecks,
    verification: VerificationCheck,
    faults: Faults,
) -> Result<AppendDecision, ErrorCode> {
    debug_assert!(batch.producer_id >= 0, "non-idempotent batches skip producer state");
    let verified = verification.guard_ok;
    let Some(entry) = entry else {
        if !verified {
            return Err(ErrorCode::InvalidTxnState);
        }
        if verification.above_lowest_sequence {
            return Err(ErrorCode::OutOfOrderSequenceNumber);
        }
        // A producer never seen: any sequence is accepted (step 5), but under transactions V2 a
        // transactional batch must start at 0 (KAFKA-18202).
        if epochs.first_sequence_zero && batch.is_transactional && batch.first_sequence != 0 {
            return Err(ErrorCode::OutOfOrderSequenceNumber);
        }
        return Ok(AppendDecision::Append);
    };
    // Step 3: duplicate.
    if origin == AppendOrigin::Client && epochs.duplicate_window && entry.producer_epoch == batch.producer_epoch {
        if let Some(original) = entry.find_duplicate(batch.first_sequence, batch.last_sequence) {
            // fault: AcceptDuplicateBatch (the retry is appended again)
            if faults.has(Fault::AcceptDuplicateBatch) {
                return Ok(AppendDecision::Append);
            }
            return Ok(AppendDecision::Duplicate { first_offset: original.first_offset });
        }
    }
    // Before KAFKA-19690's fix the verification guard came before the epoch.
    if !verified && !epochs.epoch_before_guard {
        return Err(ErrorCode::InvalidTxnState);
    }
    // Step 4: epoch.
    if epochs.enabled && batch.producer_epoch < entry.producer_epoch {
        return Err(ErrorCode::InvalidProducerEpoch);
    }
    // Step 4a: the verification guard, after the epoch so that a fenced producer learns it is
    // fenced (KAFKA-19690: `UnifiedLog.analyzeAndValidateProducerState`).
    if !verified {
        return Err(ErrorCode::InvalidTxnState);
    }
    // Step 5: sequence (KAFKA-14920 first: a lower sequence is being verified; then KAFKA-18202: no
    // batch of the producer held here, transactions V2).
    if origin == AppendOrigin::Client {
        if verification.above_lowest_sequence {
            return Err(ErrorCode::OutOfOrderSequenceNumber);
        }
        if epochs.first_sequence_zero && batch.is_transactional && entry.batches.is_empty() && batch.first_sequence != 0
        {
            return Err(ErrorCode::OutOfOrderSequenceNumber);
        }
        check_sequence(entry, batch)?;
    }
    // Step 6: a non-transactional batch inside an open transaction.
    // fault: NonTransactionalBatchInsideTransaction (step 6 skipped)
    let inside = !batch.is_transactional && entry.current_txn_first_offset.is_some();
    if inside && !faults.has(Fault::NonTransactionalBatchInsideTransaction) {
        return Err(ErrorCode::InvalidTxnState);
    }
    Ok(AppendDecision::Append)
}

/// Specs 5.1 step 5.
fn check_sequence(entry: &ProducerStateEntry, batch: &BatchHeader) -> Result<(), ErrorCode> {
    if batch.producer_epoch != entry.producer_epoch {
        // A new epoch starts at 0, unless the entry never had an epoch.
        if entry.producer_epoch != NO_PRODUCER_EPOCH && batch.first_sequence != 0 {
            return Err(ErrorCode::OutOfOrderSequenceNumber);
        }
        return Ok(());
    }
    let last = entry.last_sequence();
    let expected = if last == Sequence::MAX { 0 } else { last + 1 };
    if batch.first_sequence != expected {
        return Err(ErrorCode::OutOfOrderSequenceNumber);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(epoch: ProducerEpoch, sequence: Sequence, transactional: bool) -> BatchHeader {
        BatchHeader {
            producer_id: 7,
            producer_epoch: epoch,
            first_sequence: sequence,
            last_sequence: sequence,
            is_transactional: transactional,
        }
    }

    const ON: EpochChecks = EpochChecks {
        enabled: true,
        strict_tv2_markers: true,
        idempotent_marker_retry: true,
        epoch_before_guard: true,
        duplicate_window: true,
        first_sequence_zero: false,
    };

    fn check(state: &ProducerStateManager, batch: &BatchHeader) -> Result<AppendDecision, ErrorCode> {
        state.check_data_batch(batch, AppendOrigin::Client, ON, Faults::none())
    }

    #[test]
    fn ring_keeps_the_last_five_batches() {
        // Proves duplicate detection covers exactly the last five batches.
        let mut state = ProducerStateManager::default();
        for sequence in 0..7 {
            let batch = header(0, sequence, false);
            assert_eq!(check(&state, &batch), Ok(AppendDecision::Append));
            state.update_after_data(&batch, i64::from(sequence) * 10);
        }
        assert_eq!(check(&state, &header(0, 6, false)), Ok(AppendDecision::Duplicate { first_offset: 60 }));
        assert_eq!(check(&state, &header(0, 2, false)), Ok(AppendDecision::Duplicate { first_offset: 20 }));
        // Sequence 1 fell out of the ring: it is now simply out of order.
        assert_eq!(check(&state, &header(0, 1, false)), Err(ErrorCode::OutOfOrderSequenceNumber));
    }

    #[test]
    fn tv2_transactional_batch_with_no_batch_held_starts_at_zero() {
        // Proves KAFKA-18202's rule: only with the check on, only for transactional batches, and only
        // while the leader holds no batch of the producer.
        let tv2 = EpochChecks { first_sequence_zero: true, ..ON };
        let mut state = ProducerStateManager::default();
        let check_tv2 = |state: &ProducerStateManager, batch: &BatchHeader| {
            state.check_data_batch(batch, AppendOrigin::Client, tv2, Faults::none())
        };
        assert_eq!(check_tv2(&state, &header(0, 1, true)), Err(ErrorCode::OutOfOrderSequenceNumber));
        assert_eq!(check_tv2(&state, &header(0, 1, false)), Ok(AppendDecision::Append));
        assert_eq!(check(&state, &header(0, 1, true)), Ok(AppendDecision::Append), "V1: any first sequence");
        state.update_after_data(&header(0, 0, true), 0);
        assert_eq!(check_tv2(&state, &header(0, 1, true)), Ok(AppendDecision::Append));
    }

    #[test]
    fn new_epoch_must_start_at_zero_unless_never_seen() {
        // Proves step 5: an unknown producer may start anywhere; a known one's new epoch starts at 0.
        let mut state = ProducerStateManager::default();
        assert_eq!(check(&state, &header(3, 42, false)), Ok(AppendDecision::Append));
        state.update_after_data(&header(3, 42, false), 0);
        assert_eq!(check(&state, &header(4, 1, false)), Err(ErrorCode::OutOfOrderSequenceNumber));
        assert_eq!(check(&state, &header(4, 0, false)), Ok(AppendDecision::Append));
        assert_eq!(check(&state, &header(2, 0, false)), Err(ErrorCode::InvalidProducerEpoch));
    }

    #[test]
    fn marker_closes_the_open_transaction_and_sets_epochs() {
        // Proves 5.2: a marker closes the open transaction, moves the epoch and records the coordinator epoch.
        let mut state = ProducerStateManager::default();
        assert!(state.update_after_data(&header(0, 0, true), 5));
        assert!(state.has_ongoing_transaction(7, 0));
        assert!(!state.has_ongoing_transaction(7, 1));
        assert_eq!(state.update_after_marker(7, 1, 2), Some(5));
        let entry = state.entry(7).expect("entry");
        assert_eq!((entry.producer_epoch, entry.coordinator_epoch, entry.batches.len()), (1, 2, 0));
        assert_eq!(state.check_marker(7, 0, 2, 1, ON, Faults::none()), Err(ErrorCode::InvalidProducerEpoch));
        assert_eq!(state.check_marker(7, 1, 1, 1, ON, Faults::none()), Err(ErrorCode::TransactionCoordinatorFenced));
        assert_eq!(state.check_marker(7, 1, 2, 1, ON, Faults::none()), Ok(()));
    }

    #[test]
    fn tv2_markers_need_a_newer_epoch_unless_they_retry_a_finished_transaction() {
        // Proves KIP-1228 and KAFKA-19999: a TV2 marker at the current epoch is refused while a
        // transaction is open (a late duplicate), accepted when none is (an idempotent retry), and
        // accepted either way by the TV1 rule or with the fixes switched off.
        let mut state = ProducerStateManager::default();
        state.update_after_data(&header(1, 0, true), 0);
        assert_eq!(state.check_marker(7, 1, 0, 2, ON, Faults::none()), Err(ErrorCode::InvalidProducerEpoch));
        assert_eq!(state.check_marker(7, 1, 0, 1, ON, Faults::none()), Ok(()), "TV1 needs >= only");
        let legacy = EpochChecks { strict_tv2_markers: false, ..ON };
        assert_eq!(state.check_marker(7, 1, 0, 2, legacy, Faults::none()), Ok(()), "KAFKA-19446 off");
        assert_eq!(state.check_marker(7, 2, 0, 2, ON, Faults::none()), Ok(()));
        state.update_after_marker(7, 2, 0);
        assert_eq!(state.check_marker(7, 2, 0, 2, ON, Faults::none()), Ok(()), "an idempotent retry");
        let strict = EpochChecks { idempotent_marker_retry: false, ..ON };
        assert_eq!(state.check_marker(7, 2, 0, 2, strict, Faults::none()), Err(ErrorCode::InvalidProducerEpoch));
    }
}
