//! The leader of one partition (KIP-98, KIP-890 part 1): an append-only log of record batches on
//! a [`LogStorage`], the producer state used for idempotence and fencing, the open transactions
//! that define the last stable offset, the aborted-transaction index, and fetch at both isolation
//! levels. The checks run in the order of specs/eos.md 5.1 and 5.2; step 2, the KIP-890
//! verification (or tv2's implicit add), is a callback of [`PartitionLog::append_verified`] that
//! the broker supplies (it reaches the coordinator), run only when the producer has no
//! transaction open here at this epoch.

pub mod aborted_index;
pub mod fetch;
pub mod last_stable_offset;
pub mod log;
pub mod producer_state;
pub mod verification;

pub use aborted_index::{AbortedIndex, AbortedTxn};
pub use fetch::{FetchRequest, FetchResponse};
pub use last_stable_offset::OpenTransactions;
pub use log::{ControlRecord, LogEntry, RecordBatch};
pub use producer_state::{AppendOrigin, ProducerStateEntry, ProducerStateManager};

use crate::config::Fixes;
use crate::error::ErrorCode;
use crate::mutation::{Fault, Faults};
use crate::storage::LogStorage;
use crate::types::{
    CoordinatorEpoch, Offset, ProducerEpoch, ProducerId, Record, Sequence, TopicPartition, TransactionResult,
};
use producer_state::{AppendDecision, BatchHeader, EpochChecks, VerificationCheck};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::ControlFlow;
use verification::VerificationEntry;

/// A data batch as a producer sends it.
#[derive(Clone, Debug)]
pub struct ProducerBatch {
    /// Producer id (-1: non-idempotent).
    pub producer_id: ProducerId,
    /// Producer epoch.
    pub producer_epoch: ProducerEpoch,
    /// First sequence (-1: none).
    pub base_sequence: Sequence,
    /// Transactional flag.
    pub is_transactional: bool,
    /// The records (at least one).
    pub records: Vec<Record>,
}

/// The answer to an append.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppendInfo {
    /// Offset of the batch's first record (of the original, for a duplicate).
    pub first_offset: Offset,
    /// Whether this was a duplicate (nothing appended).
    pub duplicate: bool,
}

/// The answer to a marker write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarkerInfo {
    /// Offset of the control record.
    pub offset: Offset,
    /// First offset of the transaction the marker closed, if one was open.
    pub closed_first_offset: Option<Offset>,
}

/// A producer's state as specs section 11 observes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerStateView {
    /// Latest epoch seen.
    pub producer_epoch: ProducerEpoch,
    /// Last sequence of this epoch (-1 if none).
    pub last_sequence: Sequence,
    /// First offset of the open transaction.
    pub current_txn_first_offset: Option<Offset>,
    /// Coordinator epoch of the last marker (-1 if none).
    pub coordinator_epoch: CoordinatorEpoch,
    /// The duplicate-detection window: the last (up to 5) batches of this epoch, oldest first.
    pub batches: Vec<producer_state::BatchMetadata>,
}

/// The leader of one partition.
#[derive(Debug)]
pub struct PartitionLog {
    topic_partition: TopicPartition,
    storage: Box<dyn LogStorage<RecordBatch>>,
    /// Base offset of the batch at each storage position (Kafka's offset index).
    batch_base_offsets: Vec<Offset>,
    /// The log end offset; with one replica it is also the high watermark.
    high_watermark: Offset,
    producers: ProducerStateManager,
    open_transactions: OpenTransactions,
    aborted_index: AbortedIndex,
    /// The last LSO reported, to assert it never decreases.
    lso_floor: Offset,
    /// KIP-890's verification state: per producer, the verification in progress (Kafka's
    /// `VerificationStateEntry`), until its next transactional append or marker.
    verification_guards: BTreeMap<ProducerId, VerificationEntry>,
    /// Guards handed out so far (a new verification takes the next one).
    guards_issued: u64,
    fencing: bool,
    /// Whether producers here use transactions V2 (KAFKA-18202's rule needs it: Kafka reads it from the
    /// verification entry, `VerificationStateEntry.supportsEpochBump`).
    transactions_v2: bool,
    fixes: Fixes,
    faults: Faults,
}

impl PartitionLog {
    /// An empty partition on `storage` (which must be empty).
    pub fn new(
        topic_partition: TopicPartition,
        storage: Box<dyn LogStorage<RecordBatch>>,
        fencing: bool,
        faults: Faults,
    ) -> Self {
        assert!(storage.is_empty(), "recovery from a non-empty log is a later issue");
        Self {
            topic_partition,
            storage,
            batch_base_offsets: Vec::new(),
            high_watermark: 0,
            producers: ProducerStateManager::default(),
            open_transactions: OpenTransactions::default(),
            aborted_index: AbortedIndex::default(),
            lso_floor: 0,
            verification_guards: BTreeMap::new(),
            guards_issued: 0,
            fencing,
            transactions_v2: false,
            fixes: Fixes::default(),
            faults,
        }
    }

    /// The same partition, its producers on transactions V2 or not (default: not).
    pub fn with_transactions_v2(mut self, transactions_v2: bool) -> Self {
        self.transactions_v2 = transactions_v2;
        self
    }

    /// The same partition with Kafka's fixes as given (all on by default).
    pub fn with_fixes(mut self, fixes: Fixes) -> Self {
        self.fixes = fixes;
        self
    }

    /// The partition this log belongs to.
    pub fn topic_partition(&self) -> &TopicPartition {
        &self.topic_partition
    }

    fn epoch_checks(&self) -> EpochChecks {
        // fault: SkipPartitionEpochCheck
        EpochChecks {
            enabled: self.fencing && !self.faults.has(Fault::SkipPartitionEpochCheck),
            strict_tv2_markers: self.fixes.kafka_19446,
            idempotent_marker_retry: self.fixes.kafka_19999,
            epoch_before_guard: self.fixes.kafka_19690,
            duplicate_window: self.fixes.redpanda_3039,
            first_sequence_zero: self.transactions_v2 && self.fixes.kafka_18202,
        }
    }

    /// Specs 5.1 step 2's condition: a transactional batch of a producer with no transaction open
    /// at this epoch on this partition must first be verified (tv1-verified) or added (tv2).
    pub fn needs_verification(
        &self,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
        transactional: bool,
    ) -> bool {
        transactional && producer_id >= 0 && !self.producers.has_ongoing_transaction(producer_id, producer_epoch)
    }

    /// Appends a data batch after the checks of specs 5.1 steps 1 and 3 to 7 (step 2 is the
    /// caller's). A duplicate is answered with the original offset and appends nothing.
    pub fn append(&mut self, batch: ProducerBatch, origin: AppendOrigin) -> Result<AppendInfo, ErrorCode> {
        self.append_verified(batch, origin, || Ok(()))
    }

    /// Expires the state of `producer_id` (`producer.id.expiration.ms`): its epoch, sequences and
    /// duplicate window are forgotten, so its next batch is taken as from a producer never seen.
    /// A producer with a transaction open here is not expired (INVALID_REQUEST), nor an unknown one.
    pub fn expire_producer(&mut self, producer_id: ProducerId) -> Result<(), ErrorCode> {
        if self.producers.expire(producer_id) {
            Ok(())
        } else {
            Err(ErrorCode::InvalidRequest)
        }
    }

    /// Starts the verification of a transactional batch of `producer_id` that has no transaction
    /// open here at its epoch (Kafka's `UnifiedLog.maybeStartTransactionVerification`): the guard of
    /// the verification already in progress, or a new one. The batch must present it when it is
    /// appended ([`Self::append_guarded`]).
    pub fn start_verification(&mut self, producer_id: ProducerId, sequence: Sequence, epoch: ProducerEpoch) -> u64 {
        if let Some(entry) = self.verification_guards.get_mut(&producer_id) {
            entry.saw(sequence, epoch);
            return entry.guard;
        }
        self.guards_issued += 1;
        let entry = VerificationEntry { guard: self.guards_issued, lowest_sequence: sequence, epoch };
        self.verification_guards.insert(producer_id, entry);
        self.guards_issued
    }

    /// Appends a batch whose verification ran as a round trip, presenting the guard
    /// [`Self::start_verification`] gave it (specs 5.1 step 4a, KAFKA-14884): if the producer has no
    /// transaction open here at the batch's epoch and its verification in progress is not this one
    /// (a marker or another transactional append cleared it meanwhile), the batch is refused with
    /// INVALID_TXN_STATE, after the epoch check (KAFKA-19690).
    pub fn append_guarded(
        &mut self,
        batch: ProducerBatch,
        origin: AppendOrigin,
        guard: u64,
    ) -> Result<AppendInfo, ErrorCode> {
        self.append_checked(batch, origin, || Ok(()), Some(guard))
    }

    /// [`Self::append`] with specs 5.1 step 2 too: `verify` (KIP-890 verification or tv2's
    /// implicit add) runs first when [`Self::needs_verification`] says so; its error is the answer.
    pub fn append_verified(
        &mut self,
        batch: ProducerBatch,
        origin: AppendOrigin,
        verify: impl FnOnce() -> Result<(), ErrorCode>,
    ) -> Result<AppendInfo, ErrorCode> {
        self.append_checked(batch, origin, verify, None)
    }

    fn append_checked(
        &mut self,
        batch: ProducerBatch,
        origin: AppendOrigin,
        verify: impl FnOnce() -> Result<(), ErrorCode>,
        guard: Option<u64>,
    ) -> Result<AppendInfo, ErrorCode> {
        if batch.records.is_empty() || (batch.producer_id < 0 && batch.is_transactional) {
            return Err(ErrorCode::InvalidRequest);
        }
        let count = i32::try_from(batch.records.len()).map_err(|_| ErrorCode::InvalidRequest)?;
        let header = BatchHeader {
            producer_id: batch.producer_id,
            producer_epoch: batch.producer_epoch,
            first_sequence: batch.base_sequence,
            last_sequence: if batch.base_sequence < 0 {
                batch.base_sequence
            } else {
                batch.base_sequence.wrapping_add(count - 1)
            },
            is_transactional: batch.is_transactional,
        };
        if batch.producer_id >= 0 {
            // One lookup serves step 2's condition and steps 3 to 6.
            let entry = self.producers.entry(batch.producer_id);
            let ongoing =
                entry.is_some_and(|e| e.current_txn_first_offset.is_some() && e.producer_epoch == batch.producer_epoch);
            if batch.is_transactional && !ongoing {
                verify()?;
            }
            let verifying = self.verification_guards.get(&batch.producer_id);
            let verification = VerificationCheck {
                guard_ok: !(self.fixes.kafka_14884
                    && batch.is_transactional
                    && !ongoing
                    && guard.is_some()
                    && verifying.map(|v| v.guard) != guard),
                above_lowest_sequence: self.fixes.kafka_14920
                    && verifying.is_some_and(|v| header.first_sequence > v.lowest_sequence),
            };
            let epochs = self.epoch_checks();
            let decision = producer_state::check_data_batch(entry, &header, origin, epochs, verification, self.faults)?;
            if let AppendDecision::Duplicate { first_offset } = decision {
                return Ok(AppendInfo { first_offset, duplicate: true });
            }
        }
        let first_offset = self.high_watermark;
        self.append_batch(RecordBatch {
            base_offset: first_offset,
            producer_id: batch.producer_id,
            producer_epoch: batch.producer_epoch,
            base_sequence: batch.base_sequence,
            is_transactional: batch.is_transactional,
            control: None,
            records: batch.records,
        })?;
        if batch.producer_id >= 0 && self.producers.update_after_data(&header, first_offset) {
            self.open_transactions.open(first_offset, batch.producer_id);
        }
        if batch.is_transactional {
            // The transaction is open here now: its verification is over (`UnifiedLog.updateProducers`).
            self.verification_guards.remove(&batch.producer_id);
        }
        self.after_mutation();
        Ok(AppendInfo { first_offset, duplicate: false })
    }

    /// Writes a transaction-version-1 marker (see [`Self::write_versioned_marker`]).
    #[cfg(test)]
    pub fn write_marker(
        &mut self,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
        result: TransactionResult,
        coordinator_epoch: CoordinatorEpoch,
    ) -> Result<MarkerInfo, ErrorCode> {
        self.write_versioned_marker(producer_id, producer_epoch, result, coordinator_epoch, 1)
    }

    /// Writes a transaction marker after the checks of specs 5.2 (KIP-1228: the epoch check depends
    /// on the marker's transaction version): closes the producer's open transaction and, on ABORT,
    /// indexes it as aborted.
    pub fn write_versioned_marker(
        &mut self,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
        result: TransactionResult,
        coordinator_epoch: CoordinatorEpoch,
        transaction_version: i16,
    ) -> Result<MarkerInfo, ErrorCode> {
        if producer_id < 0 || producer_epoch < 0 {
            return Err(ErrorCode::InvalidRequest);
        }
        self.producers.check_marker(
            producer_id,
            producer_epoch,
            coordinator_epoch,
            transaction_version,
            self.epoch_checks(),
            self.faults,
        )?;
        let offset = self.high_watermark;
        self.append_batch(RecordBatch {
            base_offset: offset,
            producer_id,
            producer_epoch,
            base_sequence: -1,
            is_transactional: true,
            control: Some(ControlRecord { result, coordinator_epoch }),
            records: Vec::new(),
        })?;
        let closed = self.producers.update_after_marker(producer_id, producer_epoch, coordinator_epoch);
        // The transaction is over: a verification started before the marker no longer counts.
        self.verification_guards.remove(&producer_id);
        if let Some(first_offset) = closed {
            self.open_transactions.close(first_offset, producer_id);
            // fault: ForgetAbortedIndex
            if result == TransactionResult::Abort && !self.faults.has(Fault::ForgetAbortedIndex) {
                self.aborted_index.push(AbortedTxn { producer_id, first_offset, last_offset: offset });
            }
        }
        self.after_mutation();
        Ok(MarkerInfo { offset, closed_first_offset: closed })
    }

    fn append_batch(&mut self, batch: RecordBatch) -> Result<(), ErrorCode> {
        debug_assert_eq!(batch.base_offset, self.high_watermark, "batches are appended at the log end");
        let next = batch.next_offset();
        let base = batch.base_offset;
        let position = self.storage.append(batch).map_err(|_| ErrorCode::KafkaStorageError)?;
        assert_eq!(position as usize, self.batch_base_offsets.len(), "storage positions are dense");
        self.batch_base_offsets.push(base);
        self.high_watermark = next;
        Ok(())
    }

    /// Asserts the offset invariants after every change.
    fn after_mutation(&mut self) {
        let lso = self.last_stable_offset();
        assert!(lso <= self.high_watermark, "lso_bounded_and_monotone: LSO <= high watermark");
        assert!(lso >= self.lso_floor, "lso_bounded_and_monotone: the LSO never decreases");
        self.lso_floor = lso;
    }

    /// The high watermark (= log end offset: one replica).
    pub fn high_watermark(&self) -> Offset {
        self.high_watermark
    }

    /// The last stable offset.
    pub fn last_stable_offset(&self) -> Offset {
        // fault: LsoIgnoresOpenTransactions
        if self.faults.has(Fault::LsoIgnoresOpenTransactions) {
            return self.high_watermark;
        }
        self.open_transactions.last_stable_offset(self.high_watermark)
    }

    /// The aborted-transaction index.
    pub fn aborted_index(&self) -> &[AbortedTxn] {
        self.aborted_index.entries()
    }

    /// The producer state manager.
    pub fn producers(&self) -> &ProducerStateManager {
        &self.producers
    }

    /// Every producer's state, as specs section 11 observes it.
    pub fn producer_states(&self) -> BTreeMap<ProducerId, ProducerStateView> {
        self.producers
            .entries()
            .iter()
            .map(|(pid, entry)| {
                (
                    *pid,
                    ProducerStateView {
                        producer_epoch: entry.producer_epoch,
                        last_sequence: entry.last_sequence(),
                        current_txn_first_offset: entry.current_txn_first_offset,
                        coordinator_epoch: entry.coordinator_epoch,
                        batches: entry.batches.iter().copied().collect(),
                    },
                )
            })
            .collect()
    }

    /// Every batch, in order.
    pub fn batches(&self) -> Result<Vec<RecordBatch>, ErrorCode> {
        crate::storage::read_all(self.storage.as_ref()).map_err(|_| ErrorCode::KafkaStorageError)
    }

    /// Every offset of the log: data and control records.
    pub fn entries(&self) -> Result<Vec<LogEntry>, ErrorCode> {
        Ok(self.batches()?.iter().flat_map(RecordBatch::entries).collect())
    }

    /// Fetch from `request.fetch_offset` at its isolation level.
    pub fn fetch(&self, request: &FetchRequest) -> Result<FetchResponse, ErrorCode> {
        let committed = request.isolation == crate::types::IsolationLevel::ReadCommitted;
        let upper = if committed { self.last_stable_offset() } else { self.high_watermark };
        let start = request.fetch_offset.max(0);
        // The batch holding `start`: the last one whose base offset is <= start.
        let position = self.batch_base_offsets.partition_point(|base| *base <= start).saturating_sub(1);
        let mut batches = Vec::new();
        self.storage
            .scan(position as u64, &mut |_, batch| {
                if batch.base_offset >= upper || batches.len() >= request.max_batches {
                    return ControlFlow::Break(());
                }
                if batch.last_offset() >= start {
                    batches.push(batch.clone());
                }
                ControlFlow::Continue(())
            })
            .map_err(|_| ErrorCode::KafkaStorageError)?;
        let aborted_transactions = committed.then(|| {
            let end = batches.last().map_or(start, RecordBatch::next_offset);
            self.aborted_index.overlapping(start, end)
        });
        Ok(FetchResponse {
            high_watermark: self.high_watermark,
            last_stable_offset: self.last_stable_offset(),
            batches,
            aborted_transactions,
        })
    }
}

#[cfg(test)]
mod tests;
