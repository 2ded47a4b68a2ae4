//! A data partition's leader (specs/eos.md §5): the log, per-producer state with duplicate detection,
//! control records, the last stable offset, the aborted-transaction index, and the two reader views.

use crate::collections::{IndexSet, InlineVec, SmallMap};
use crate::config::{Config, Protocol};
use crate::message::Marker;
use crate::types::*;

/// How many batches per producer the leader remembers for duplicate detection (Kafka's 5).
pub const DUPLICATE_WINDOW: usize = 5;

/// One offset of the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LogEntry {
    /// An application record.
    Data {
        /// Producer id (`None` without idempotence).
        producer_id: Option<ProducerId>,
        /// Producer epoch (-1 without idempotence).
        epoch: Epoch,
        /// Sequence number (-1 without idempotence).
        sequence: Sequence,
        /// Whether it was written in a transaction.
        transactional: bool,
        /// The value.
        value: Value,
        /// Ghost: the attempt it was sent in.
        attempt: Attempt,
    },
    /// A transaction marker.
    Control {
        /// Producer id of the transaction.
        producer_id: ProducerId,
        /// Marker epoch.
        epoch: Epoch,
        /// COMMIT (true) or ABORT (false).
        commit: bool,
        /// Coordinator epoch of the coordinator that wrote it.
        coordinator_epoch: i32,
        /// Ghost: the attempts whose transaction it ends.
        ends: IndexSet<Attempt>,
    },
}

impl LogEntry {
    /// The producer id of the entry, if any.
    pub fn producer_id(&self) -> Option<ProducerId> {
        match self {
            LogEntry::Data { producer_id, .. } => *producer_id,
            LogEntry::Control { producer_id, .. } => Some(*producer_id),
        }
    }

    /// The entry's producer epoch.
    pub fn epoch(&self) -> Epoch {
        match self {
            LogEntry::Data { epoch, .. } | LogEntry::Control { epoch, .. } => *epoch,
        }
    }
}

/// The last [`DUPLICATE_WINDOW`] batches of a producer as (sequence, offset), oldest first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BatchWindow {
    batches: [(Sequence, Offset); DUPLICATE_WINDOW],
    len: u8,
}

impl BatchWindow {
    /// Remembers a batch, forgetting the oldest beyond the window.
    pub fn push(&mut self, sequence: Sequence, offset: Offset) {
        if usize::from(self.len) == DUPLICATE_WINDOW {
            self.batches.rotate_left(1);
            self.len -= 1;
        }
        self.batches[usize::from(self.len)] = (sequence, offset);
        self.len += 1;
    }

    /// The offset of the remembered batch with this sequence.
    pub fn find(&self, sequence: Sequence) -> Option<Offset> {
        self.iter().find(|(seq, _)| *seq == sequence).map(|(_, offset)| offset)
    }

    /// The newest batch.
    pub fn last(&self) -> Option<(Sequence, Offset)> {
        self.len.checked_sub(1).map(|i| self.batches[usize::from(i)])
    }

    /// Whether it holds no batch (Kafka's `ProducerStateEntry.isEmpty`).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets every batch (a new epoch).
    pub fn clear(&mut self) {
        *self = BatchWindow::default();
    }

    /// The batches, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = (Sequence, Offset)> + '_ {
        self.batches[..usize::from(self.len)].iter().copied()
    }
}

/// Kafka's `ProducerStateEntry` for one producer id on one partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProducerStateEntry {
    /// The latest epoch seen (data or marker).
    pub epoch: Epoch,
    /// The last batches, for duplicate detection.
    pub batches: BatchWindow,
    /// Coordinator epoch of the last marker (-1 before any).
    pub coordinator_epoch: i32,
    /// First offset of the open transaction, if one is open.
    pub open_transaction: Option<Offset>,
}

impl ProducerStateEntry {
    /// The last sequence appended in the current epoch.
    pub fn last_sequence(&self) -> Option<Sequence> {
        self.batches.last().map(|(seq, _)| seq)
    }
}

/// Whether a marker's epoch is too old for a producer whose latest epoch here is `current` (specs/eos.md
/// §5.2 step 1, Kafka's `ProducerAppendInfo.checkProducerEpoch`). A TV1 marker needs `>=`. KIP-1228
/// (KAFKA-19446): a TV2 marker needs `>`, because the coordinator bumps the epoch before writing it,
/// so a marker at the current epoch is a late duplicate that would end the next transaction; except
/// (KAFKA-19999) when no transaction is open here, which makes it an idempotent retry of a marker
/// already written.
pub fn stale_marker(config: &Config, m: &Marker, current: Epoch, open_transaction: bool) -> bool {
    let fixes = &config.fixes;
    if m.transaction_version < 2 || !fixes.kafka_19446 {
        return m.epoch < current;
    }
    let idempotent_retry = fixes.kafka_19999 && m.epoch == current && !open_transaction;
    m.epoch <= current && !idempotent_retry
}

/// An aborted transaction in the index: records of `producer_id` in `first..=last` are aborted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AbortedTxn {
    /// The producer.
    pub producer_id: ProducerId,
    /// First offset of the transaction on this partition.
    pub first_offset: Offset,
    /// Offset of its ABORT marker.
    pub last_offset: Offset,
}

/// KIP-890's verification state entry of a producer at a partition (Kafka's `VerificationStateEntry`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VerificationEntry {
    /// The guard the verified batch must present.
    pub guard: u8,
    /// The lowest sequence a verification was started for at `epoch` (KAFKA-14920).
    pub lowest_sequence: Sequence,
    /// The highest epoch a verification was started for.
    pub epoch: Epoch,
}

/// A data partition.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionState {
    /// The log; offset = index.
    pub log: InlineVec<LogEntry, 8>,
    /// Producer state per producer id.
    pub producers: SmallMap<ProducerId, ProducerStateEntry>,
    /// The aborted-transaction index, in marker order.
    pub aborted: InlineVec<AbortedTxn, 2>,
    /// KIP-890's verification state (`broker.verification_round_trip`): per producer id, the entry of
    /// the verification in progress, until the producer's next transactional append or marker.
    pub verifications: SmallMap<ProducerId, VerificationEntry>,
    /// Guards handed out so far: a new verification gets the next one (Kafka: a fresh object).
    pub guards_issued: u8,
}

/// The Produce checks that run after verification / implicit add (specs/eos.md §5.1 steps 3–7).
pub struct ProduceRequest {
    /// Producer id (`None` without idempotence).
    pub producer_id: Option<ProducerId>,
    /// Epoch.
    pub epoch: Epoch,
    /// Sequence.
    pub sequence: Sequence,
    /// Transactional batch.
    pub transactional: bool,
    /// Value.
    pub value: Value,
    /// Ghost attempt.
    pub attempt: Attempt,
    /// The verification guard the append must present (a Produce held for a verification round
    /// trip); `None` when no verification ran or it was synchronous.
    pub guard: Option<u8>,
}

impl PartitionState {
    /// The high watermark (log end offset: one replica).
    pub fn high_watermark(&self) -> Offset {
        self.log.len() as Offset
    }

    /// The last stable offset: the first offset of the earliest open transaction, else the high watermark.
    pub fn last_stable_offset(&self) -> Offset {
        self.producers
            .values()
            .filter_map(|entry| entry.open_transaction)
            .min()
            .unwrap_or_else(|| self.high_watermark())
    }

    /// Whether `pid` has a transaction open here at `epoch` (verification and the implicit add are
    /// skipped then). The epoch matters in tv2: a record of the next transaction (epoch+1) that arrives
    /// before the previous transaction's marker must not join it (Kafka's epoch-aware
    /// `hasOngoingTransaction`, KAFKA-19690).
    pub fn has_open_transaction(&self, pid: ProducerId, epoch: Epoch) -> bool {
        self.producers.get(&pid).is_some_and(|e| e.open_transaction.is_some() && e.epoch == epoch)
    }

    /// Starts the verification of a transactional Produce of `pid` with `sequence` at `epoch` (Kafka's
    /// `UnifiedLog.maybeStartTransactionVerification`, `ProducerStateManager.
    /// maybeCreateVerificationStateEntry`): the guard of the verification in progress, whose lowest
    /// sequence goes down to `sequence` at the same epoch and restarts at a higher one
    /// (`VerificationStateEntry.maybeUpdateLowestSequenceAndEpoch`), or a new entry.
    pub fn start_verification(&mut self, pid: ProducerId, sequence: Sequence, epoch: Epoch) -> u8 {
        if let Some(entry) = self.verifications.get_mut(&pid) {
            if epoch == entry.epoch {
                entry.lowest_sequence = entry.lowest_sequence.min(sequence);
            } else if epoch > entry.epoch {
                (entry.epoch, entry.lowest_sequence) = (epoch, sequence);
            }
            return entry.guard;
        }
        self.guards_issued += 1;
        let guard = self.guards_issued;
        self.verifications.insert(pid, VerificationEntry { guard, lowest_sequence: sequence, epoch });
        guard
    }

    /// KAFKA-14884's verification guard (`UnifiedLog.analyzeAndValidateProducerState`): a
    /// transactional batch that opens a transaction here must present the guard of the verification
    /// still in progress; a marker or another transactional append cleared it.
    fn misses_verification(&self, config: &Config, pid: ProducerId, request: &ProduceRequest) -> bool {
        config.fixes.kafka_14884
            && request.transactional
            && request.guard.is_some()
            && !self.has_open_transaction(pid, request.epoch)
            && self.verifications.get(&pid).map(|v| v.guard) != request.guard
    }

    /// Expires the state of `pid` (`ProducerStateManager.removeExpiredProducers`: only a producer with
    /// no transaction open here); `None` if there is none to expire.
    pub fn expire_producer(&mut self, pid: ProducerId) -> Option<()> {
        let entry = self.producers.get(&pid)?;
        if entry.open_transaction.is_some() {
            return None;
        }
        self.producers.remove(&pid);
        Some(())
    }

    fn append(&mut self, entry: LogEntry) -> Offset {
        let offset = self.high_watermark();
        self.log.push(entry);
        offset
    }

    /// Produce, from the duplicate check on (specs/eos.md §5.1 steps 1 and 3–7).
    pub fn produce(&mut self, config: &Config, request: ProduceRequest) -> (ErrorCode, Option<Offset>) {
        let misses_verification =
            request.producer_id.is_some_and(|pid| self.misses_verification(config, pid, &request));
        let ProduceRequest { producer_id, epoch, sequence, transactional, value, attempt, guard: _ } = request;
        let data = LogEntry::Data { producer_id, epoch, sequence, transactional, value, attempt };
        let Some(pid) = producer_id else {
            return (ErrorCode::None, Some(self.append(data)));
        };
        let entry = self.producers.get(&pid);
        // A batch among the producer's last five of this epoch is a duplicate: answered with its
        // original offset and not appended again (`ProducerStateEntry.findDuplicateBatch`; Kafka's
        // broker answers NONE, the client's DUPLICATE_SEQUENCE_NUMBER handling is the same success).
        // Without the window (redpanda_3039 off) only the in-sequence check below remains.
        let window = config.fixes.redpanda_3039;
        if let Some(entry) = entry.filter(|e| window && e.epoch == epoch) {
            if let Some(offset) = entry.batches.find(sequence) {
                return (ErrorCode::None, Some(offset));
            }
        }
        // The epoch before the guard (KAFKA-19690: a fenced producer must learn it is fenced).
        if misses_verification && !config.fixes.kafka_19690 {
            return (ErrorCode::InvalidTxnState, None);
        }
        if config.guards.fencing && entry.is_some_and(|e| epoch < e.epoch) {
            return (ErrorCode::InvalidProducerEpoch, None);
        }
        if misses_verification {
            return (ErrorCode::InvalidTxnState, None);
        }
        // KAFKA-18202 (transactions V2): a transactional batch the leader verifies must start at
        // sequence 0 when the leader holds no batch of its producer (`ProducerAppendInfo.checkSequence`:
        // a verification entry that supports epoch bumps and an empty producer entry).
        // KAFKA-14920: while a verification of the pid is in progress, a batch above the lowest
        // sequence it was started for waits for that one (`ProducerAppendInfo.checkSequence`'s first
        // check; the client retries, `TransactionManager.canRetry`).
        let above_lowest_verified = self.verifications.get(&pid).is_some_and(|v| sequence > v.lowest_sequence);
        if config.fixes.kafka_14920 && above_lowest_verified {
            return (ErrorCode::OutOfOrderSequenceNumber, None);
        }
        let holds_no_batch = entry.is_none_or(|e| e.batches.is_empty());
        if config.fixes.kafka_18202
            && config.protocol == Protocol::Tv2
            && transactional
            && holds_no_batch
            && sequence != 0
        {
            return (ErrorCode::OutOfOrderSequenceNumber, None);
        }
        if let Some(entry) = entry {
            let in_sequence = if epoch != entry.epoch {
                sequence == 0
            } else {
                sequence == entry.last_sequence().map_or(0, |last| last + 1)
            };
            if !in_sequence {
                return (ErrorCode::OutOfOrderSequenceNumber, None);
            }
            if !transactional && entry.open_transaction.is_some() {
                return (ErrorCode::InvalidTxnState, None);
            }
        }
        let offset = self.append(data);
        let entry = self.producers.get_or_insert_with(pid, || ProducerStateEntry {
            epoch,
            batches: BatchWindow::default(),
            coordinator_epoch: -1,
            open_transaction: None,
        });
        if entry.epoch != epoch {
            entry.epoch = epoch;
            entry.batches.clear();
        }
        entry.batches.push(sequence, offset);
        if transactional && entry.open_transaction.is_none() {
            entry.open_transaction = Some(offset);
        }
        if transactional {
            // The transaction is open here now: verification is over (`updateProducers`).
            self.verifications.remove(&pid);
        }
        (ErrorCode::None, Some(offset))
    }

    /// WriteTxnMarker (specs/eos.md §5.2).
    pub fn write_marker(&mut self, config: &Config, m: &Marker) -> ErrorCode {
        let pid = m.producer_id;
        if let Some(entry) = self.producers.get(&pid) {
            if config.guards.fencing && stale_marker(config, m, entry.epoch, entry.open_transaction.is_some()) {
                return ErrorCode::InvalidProducerEpoch;
            }
            if m.coordinator_epoch < entry.coordinator_epoch {
                return ErrorCode::TransactionCoordinatorFenced;
            }
        }
        let offset = self.append(LogEntry::Control {
            producer_id: pid,
            epoch: m.epoch,
            commit: m.commit,
            coordinator_epoch: m.coordinator_epoch,
            ends: m.ends,
        });
        let entry = self.producers.get_or_insert_with(pid, || ProducerStateEntry {
            epoch: m.epoch,
            batches: BatchWindow::default(),
            coordinator_epoch: m.coordinator_epoch,
            open_transaction: None,
        });
        if let Some(first_offset) = entry.open_transaction.take() {
            if !m.commit {
                self.aborted.push(AbortedTxn { producer_id: pid, first_offset, last_offset: offset });
            }
        }
        if entry.epoch != m.epoch {
            entry.epoch = m.epoch;
            entry.batches.clear();
        }
        entry.coordinator_epoch = m.coordinator_epoch;
        // The transaction is over: a verification started before the marker no longer counts.
        self.verifications.remove(&pid);
        ErrorCode::None
    }

    /// Whether the record of `pid` at `offset` is in an aborted transaction (the consumer's filter).
    pub fn is_aborted(&self, pid: ProducerId, offset: Offset) -> bool {
        self.aborted.iter().any(|a| a.producer_id == pid && a.first_offset <= offset && offset <= a.last_offset)
    }

    /// What a read_committed reader fetching from offset 0 gets: (offset, entry) of data records.
    pub fn read_committed(&self) -> Vec<(Offset, &LogEntry)> {
        self.committed_records().collect()
    }

    /// [`PartitionState::read_committed`], one record at a time.
    pub fn committed_records(&self) -> impl Iterator<Item = (Offset, &LogEntry)> {
        let lso = self.last_stable_offset();
        self.data_records().filter(move |(offset, entry)| *offset < lso && self.is_readable_committed(*offset, entry))
    }

    /// Whether a read_committed reader below the LSO gets the data record `entry` at `offset` (it is not
    /// in an aborted transaction).
    pub fn is_readable_committed(&self, offset: Offset, entry: &LogEntry) -> bool {
        match entry {
            LogEntry::Data { producer_id: Some(pid), transactional: true, .. } => !self.is_aborted(*pid, offset),
            _ => true,
        }
    }

    /// What a read_uncommitted reader gets: every data record below the high watermark.
    pub fn read_uncommitted(&self) -> Vec<(Offset, &LogEntry)> {
        self.data_records().collect()
    }

    /// Every data record, with its offset.
    pub fn data_records(&self) -> impl Iterator<Item = (Offset, &LogEntry)> {
        self.log.iter().enumerate().map(|(i, e)| (i as Offset, e)).filter(|(_, e)| matches!(e, LogEntry::Data { .. }))
    }

    /// For each data record, the marker that ends its transaction: the first later control record of
    /// the same producer id (`None` while open or for a non-transactional record).
    pub fn fate(&self, offset: Offset) -> Option<&LogEntry> {
        let entry = &self.log[usize::try_from(offset).expect("offsets are non-negative")];
        let LogEntry::Data { producer_id: Some(pid), transactional: true, .. } = entry else {
            return None;
        };
        self.log[usize::try_from(offset).expect("offsets are non-negative") + 1..]
            .iter()
            .find(|e| matches!(e, LogEntry::Control { producer_id, .. } if producer_id == pid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario;

    fn config() -> Config {
        scenario::load("basic").unwrap()
    }

    fn request(pid: ProducerId, epoch: Epoch, sequence: Sequence, transactional: bool) -> ProduceRequest {
        let attempt = Attempt { producer: 0, index: 0 };
        let value = Value::Produced { attempt, partition: 0, batch: 0 };
        ProduceRequest { producer_id: Some(pid), epoch, sequence, transactional, value, attempt, guard: None }
    }

    fn marker(pid: ProducerId, epoch: Epoch, commit: bool, coordinator_epoch: i32) -> Marker {
        Marker {
            target: TxnPartition::Data(0),
            txn: 0,
            producer_id: pid,
            epoch,
            commit,
            coordinator_epoch,
            transaction_version: 1,
            ends: IndexSet::new(),
        }
    }

    /// A retried batch is answered with its original offset and not appended again.
    #[test]
    fn duplicate_returns_the_original_offset() {
        let mut p = PartitionState::default();
        assert_eq!(p.produce(&config(), request(1000, 0, 0, false)), (ErrorCode::None, Some(0)));
        assert_eq!(p.produce(&config(), request(1000, 0, 1, false)), (ErrorCode::None, Some(1)));
        assert_eq!(p.produce(&config(), request(1000, 0, 0, false)), (ErrorCode::None, Some(0)));
        assert_eq!(p.high_watermark(), 2);
    }

    /// Stale epochs are fenced; gaps and a new epoch not starting at 0 are out of order.
    #[test]
    fn epoch_and_sequence_checks() {
        let mut p = PartitionState::default();
        p.produce(&config(), request(1000, 1, 0, false));
        assert_eq!(p.produce(&config(), request(1000, 0, 1, false)).0, ErrorCode::InvalidProducerEpoch);
        assert_eq!(p.produce(&config(), request(1000, 1, 2, false)).0, ErrorCode::OutOfOrderSequenceNumber);
        assert_eq!(p.produce(&config(), request(1000, 2, 3, false)).0, ErrorCode::OutOfOrderSequenceNumber);
        assert_eq!(p.produce(&config(), request(1000, 2, 0, false)).0, ErrorCode::None);
        assert_eq!(p.high_watermark(), 2);
    }

    /// KAFKA-18202: under transactions V2 a transactional batch from a producer the leader holds no
    /// batch of must start at sequence 0; under V1, and with the fix off, any first sequence goes.
    #[test]
    fn tv2_first_transactional_batch_starts_at_zero() {
        let mut tv2 = config();
        tv2.protocol = Protocol::Tv2;
        let mut p = PartitionState::default();
        assert_eq!(p.produce(&tv2, request(1000, 0, 1, true)).0, ErrorCode::OutOfOrderSequenceNumber);
        assert_eq!(p.produce(&tv2, request(1000, 0, 1, false)).0, ErrorCode::None, "idempotent only: no rule");
        let mut q = PartitionState::default();
        assert_eq!(q.produce(&tv2, request(1000, 0, 0, true)), (ErrorCode::None, Some(0)));
        assert_eq!(q.produce(&tv2, request(1000, 0, 1, true)), (ErrorCode::None, Some(1)));
        let mut tv1 = config();
        tv1.protocol = Protocol::Tv1;
        assert_eq!(PartitionState::default().produce(&tv1, request(1000, 0, 1, true)).0, ErrorCode::None);
        let mut unfixed = tv2.clone();
        unfixed.fixes.kafka_18202 = false;
        assert_eq!(PartitionState::default().produce(&unfixed, request(1000, 0, 1, true)).0, ErrorCode::None);
    }

    /// The LSO stops at an open transaction; an ABORT marker indexes it and read_committed drops it.
    #[test]
    fn lso_aborted_index_and_read_committed() {
        let mut p = PartitionState::default();
        p.produce(&config(), request(1000, 0, 0, true));
        p.produce(&config(), request(2000, 0, 0, false));
        assert_eq!((p.last_stable_offset(), p.high_watermark()), (0, 2));
        assert!(p.read_committed().is_empty());
        assert_eq!(p.write_marker(&config(), &marker(1000, 0, false, 0)), ErrorCode::None);
        assert_eq!(p.last_stable_offset(), 3);
        assert_eq!(p.aborted[..], [AbortedTxn { producer_id: 1000, first_offset: 0, last_offset: 2 }]);
        let offsets: Vec<Offset> = p.read_committed().iter().map(|(o, _)| *o).collect();
        assert_eq!(offsets, vec![1], "only the non-transactional record");
        assert_eq!(p.read_uncommitted().len(), 2);
    }

    /// Markers from an older coordinator epoch or an older producer epoch are refused.
    #[test]
    fn stale_markers_are_fenced() {
        let mut p = PartitionState::default();
        p.produce(&config(), request(1000, 1, 0, true));
        assert_eq!(p.write_marker(&config(), &marker(1000, 0, true, 0)), ErrorCode::InvalidProducerEpoch);
        assert_eq!(p.write_marker(&config(), &marker(1000, 1, true, 1)), ErrorCode::None);
        assert_eq!(p.write_marker(&config(), &marker(1000, 1, true, 0)), ErrorCode::TransactionCoordinatorFenced);
    }

    /// KIP-1228 and KAFKA-19999: a TV2 marker at the partition's epoch is refused while a transaction
    /// is open there (a late copy), accepted when none is (an idempotent retry); the TV1 rule and the
    /// fixes switched off accept it.
    #[test]
    fn tv2_marker_epoch_rule() {
        let tv2 = |epoch| Marker { transaction_version: 2, ..marker(1000, epoch, true, 0) };
        let mut p = PartitionState::default();
        p.produce(&config(), request(1000, 1, 0, true));
        assert_eq!(p.clone().write_marker(&config(), &tv2(1)), ErrorCode::InvalidProducerEpoch);
        assert_eq!(p.clone().write_marker(&config(), &marker(1000, 1, true, 0)), ErrorCode::None, "TV1");
        let mut lax = config();
        lax.fixes.kafka_19446 = false;
        assert_eq!(p.clone().write_marker(&lax, &tv2(1)), ErrorCode::None, "KAFKA-19446 off");
        assert_eq!(p.write_marker(&config(), &tv2(2)), ErrorCode::None);
        assert_eq!(p.clone().write_marker(&config(), &tv2(2)), ErrorCode::None, "an idempotent retry");
        let mut strict = config();
        strict.fixes.kafka_19999 = false;
        assert_eq!(p.write_marker(&strict, &tv2(2)), ErrorCode::InvalidProducerEpoch, "KAFKA-19999 off");
    }

    /// A record of a newer epoch does not count as part of the open transaction of an older one (tv2).
    #[test]
    fn open_transaction_is_epoch_aware() {
        let mut p = PartitionState::default();
        p.produce(&config(), request(1000, 0, 0, true));
        assert!(p.has_open_transaction(1000, 0));
        assert!(!p.has_open_transaction(1000, 1));
    }

    /// KAFKA-14884: a Produce held for its verification presents its guard; a marker in between clears
    /// it and the append is refused (the fix off appends); a stale epoch is answered before the guard
    /// (KAFKA-19690); a new verification after the marker gets a new guard.
    #[test]
    fn verification_guard() {
        let guarded = |epoch, guard| ProduceRequest { guard: Some(guard), ..request(1000, epoch, 0, true) };
        let mut p = PartitionState::default();
        let g = p.start_verification(1000, 0, 0);
        assert_eq!(p.start_verification(1000, 0, 0), g, "a verification in progress keeps its guard");
        assert_eq!(p.clone().produce(&config(), guarded(0, g)), (ErrorCode::None, Some(0)));
        assert_eq!(p.write_marker(&config(), &marker(1000, 1, false, 0)), ErrorCode::None);
        assert_eq!(p.clone().produce(&config(), guarded(1, g)), (ErrorCode::InvalidTxnState, None));
        assert_eq!(p.clone().produce(&config(), guarded(0, g)).0, ErrorCode::InvalidProducerEpoch, "KAFKA-19690");
        let mut unfixed = config();
        unfixed.fixes.kafka_14884 = false;
        assert_eq!(p.clone().produce(&unfixed, guarded(1, g)), (ErrorCode::None, Some(1)), "KAFKA-14884 off");
        let mut guard_first = config();
        guard_first.fixes.kafka_19690 = false;
        assert_eq!(p.clone().produce(&guard_first, guarded(0, g)).0, ErrorCode::InvalidTxnState, "KAFKA-19690 off");
        let next = p.start_verification(1000, 0, 1);
        assert_ne!(next, g);
        assert_eq!(p.produce(&config(), guarded(1, next)), (ErrorCode::None, Some(1)));
        assert!(p.verifications.is_empty(), "the append ends the verification");
    }

    /// KAFKA-14920: the verification entry keeps the lowest sequence it was started for (a higher
    /// epoch restarts it, a lower one changes nothing); a batch above it is refused until the entry
    /// ends (the fix off appends it, under tv1-verified, as the producer's first).
    #[test]
    fn verification_keeps_the_lowest_sequence() {
        let guarded = |sequence, guard| ProduceRequest { guard: Some(guard), ..request(1000, 0, sequence, true) };
        let lowest = |p: &PartitionState| p.verifications.get(&1000).map(|v| (v.lowest_sequence, v.epoch));
        let config = config().with_protocol(Protocol::Tv1Verified);
        let mut p = PartitionState::default();
        let g = p.start_verification(1000, 1, 0);
        assert_eq!(p.start_verification(1000, 0, 0), g);
        assert_eq!(lowest(&p), Some((0, 0)));
        assert_eq!(p.clone().produce(&config, guarded(1, g)), (ErrorCode::OutOfOrderSequenceNumber, None));
        let mut unfixed = config.clone();
        unfixed.fixes.kafka_14920 = false;
        assert_eq!(p.clone().produce(&unfixed, guarded(1, g)), (ErrorCode::None, Some(0)), "KAFKA-14920 off");
        assert_eq!(p.produce(&config, guarded(0, g)), (ErrorCode::None, Some(0)));
        assert_eq!(p.produce(&config, request(1000, 0, 1, true)), (ErrorCode::None, Some(1)), "in the transaction");
        let mut q = PartitionState::default();
        q.start_verification(1000, 3, 0);
        q.start_verification(1000, 2, 1);
        assert_eq!(lowest(&q), Some((2, 1)), "a higher epoch restarts the lowest sequence");
        q.start_verification(1000, 0, 0);
        assert_eq!(lowest(&q), Some((2, 1)), "an older epoch changes nothing");
    }

    /// Producer-state expiry forgets a producer without an open transaction: its retry appends again.
    #[test]
    fn expiry_forgets_the_producer() {
        let mut p = PartitionState::default();
        p.produce(&config(), request(1000, 0, 0, false));
        p.produce(&config(), request(2000, 0, 0, true));
        assert_eq!(p.expire_producer(2000), None, "a transaction is open");
        assert_eq!(p.expire_producer(3000), None, "never seen");
        assert_eq!(p.expire_producer(1000), Some(()));
        assert_eq!(p.produce(&config(), request(1000, 0, 0, false)), (ErrorCode::None, Some(2)));
    }

    /// The duplicate window holds the last five batches.
    #[test]
    fn batch_window_keeps_five() {
        let mut w = BatchWindow::default();
        for seq in 0..7 {
            w.push(seq, i64::from(seq) * 10);
        }
        assert_eq!(w.iter().map(|(s, _)| s).collect::<Vec<_>>(), vec![2, 3, 4, 5, 6]);
        assert_eq!((w.find(1), w.find(4)), (None, Some(40)));
    }
}
