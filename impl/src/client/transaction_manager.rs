//! The transaction manager of one producer instance (Java's `TransactionManager`; specs/eos.md
//! section 7): phases, producer id and epoch, per-partition sequence numbers, the current
//! transaction's partitions, held records and offsets, and the outstanding requests. Every
//! operation is checked against the phase and returns a `ClientError` value when not allowed.

use super::outstanding::{ClientRequest, Outstanding, RequestId};
use super::{ClientConfig, ClientRole, ClientVersion, ClientView, Membership, Phase};
use crate::error::{ClientError, ErrorCode};
use crate::mutation::{Fault, Faults};
use crate::protocol::{
    AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, EndTxnRequest, InitProducerIdRequest, Message, ProduceRequest,
    TxnOffsetCommitRequest,
};
use crate::types::{
    ClientId, Generation, Offset, ProducerEpoch, ProducerId, Record, Sequence, TimestampMs, TopicPartition,
    NO_PRODUCER_EPOCH, NO_PRODUCER_ID, NO_SEQUENCE,
};
use std::collections::{BTreeMap, BTreeSet};

/// Java's default `transaction.timeout.ms`.
pub const DEFAULT_TRANSACTION_TIMEOUT_MS: i32 = 60_000;

/// Where the transaction's consumed offsets stand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OffsetsState {
    /// tv1: AddOffsetsToTxn sent; TxnOffsetCommit follows its NONE.
    Adding(Offset),
    /// TxnOffsetCommit sent.
    Committing(Offset),
    /// TxnOffsetCommit acknowledged.
    Acknowledged(Offset),
    /// Offsets outside the transaction: committed with OffsetCommit after EndTxn.
    Deferred(Offset),
}

/// The state of the open transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TransactionProgress {
    /// tv1: partitions whose AddPartitionsToTxn was acknowledged.
    pub added: BTreeSet<TopicPartition>,
    /// tv1: records waiting for their partition's AddPartitionsToTxn.
    pub held: BTreeMap<TopicPartition, Vec<Record>>,
    /// Whether any request was sent in this transaction (else commit/abort complete locally).
    pub sent_anything: bool,
    /// The offsets of the group `offsets_group` indexes in the copier's memberships.
    pub offsets: Option<OffsetsState>,
    /// Which group `offsets` is for: a copier in more than one group sends its offsets group after
    /// group, each once the one before is acknowledged (Java's `sendOffsetsToTransaction` blocks).
    pub offsets_group: usize,
}

/// One producer instance's transaction manager.
#[derive(Clone, Debug)]
pub struct TransactionManager {
    pub(crate) id: ClientId,
    pub(crate) config: ClientConfig,
    pub(crate) phase: Phase,
    pub(crate) producer_id: ProducerId,
    pub(crate) producer_epoch: ProducerEpoch,
    pub(crate) sequences: BTreeMap<TopicPartition, Sequence>,
    /// Pipelining (`max_in_flight` > 1): the highest sequence acknowledged per partition in the
    /// current epoch (Java's `lastAckedSequence`).
    pub(crate) last_acked: BTreeMap<TopicPartition, Sequence>,
    /// Partitions whose sequence is unresolved, with the sequence after the batch given up (Java's
    /// `partitionsWithUnresolvedSequences`).
    pub(crate) unresolved: BTreeMap<TopicPartition, Sequence>,
    pub(crate) transaction: TransactionProgress,
    pub(crate) outstanding: Outstanding,
    /// KIP-360: an abort must be followed by InitProducerId with the current (pid, epoch).
    pub(crate) epoch_bump_required: bool,
    /// The last coordinator error was INVALID_PRODUCER_ID_MAPPING: the abort skips EndTxn, which the
    /// coordinator would refuse, and goes straight to InitProducerId (Java 4.x).
    pub(crate) skip_end_txn: bool,
    /// A copier's groups, in the order it sends their offsets (the first is the one it takes its
    /// position from).
    pub(crate) memberships: Vec<Membership>,
    pub(crate) position: Offset,
    pub(crate) last_error: Option<ErrorCode>,
    /// Seeded faults (testing only).
    pub(crate) faults: Faults,
}

impl TransactionManager {
    /// A client that has not started.
    pub fn new(id: ClientId, config: ClientConfig) -> Self {
        Self {
            id,
            config,
            phase: Phase::Uninitialized,
            producer_id: NO_PRODUCER_ID,
            producer_epoch: NO_PRODUCER_EPOCH,
            sequences: BTreeMap::new(),
            last_acked: BTreeMap::new(),
            unresolved: BTreeMap::new(),
            transaction: TransactionProgress::default(),
            outstanding: Outstanding::default(),
            epoch_bump_required: false,
            skip_end_txn: false,
            memberships: Vec::new(),
            position: 0,
            last_error: None,
            faults: Faults::none(),
        }
    }

    /// Its id.
    pub fn id(&self) -> ClientId {
        self.id
    }

    /// Its settings.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Switches seeded faults (testing only).
    pub fn set_faults(&mut self, faults: Faults) {
        self.faults = faults;
    }

    /// Its phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Its producer id and epoch.
    pub fn producer_id_and_epoch(&self) -> (ProducerId, ProducerEpoch) {
        (self.producer_id, self.producer_epoch)
    }

    /// Copier: the next input offset to copy.
    pub fn position(&self) -> Offset {
        self.position
    }

    /// Whether it runs a transactional id.
    pub fn is_transactional(&self) -> bool {
        self.config.transactional_id.is_some()
    }

    /// Whether a failed batch makes this client bump its epoch after the abort (Java 4.x on tv1).
    pub(crate) fn bumps_after_any_failed_batch(&self) -> bool {
        self.config.version == ClientVersion::Java4 && self.config.protocol.client_adds_partitions()
    }

    /// Whether this client knows TRANSACTION_ABORTABLE (KIP-1050).
    fn knows_transaction_abortable(&self) -> bool {
        self.config.version == ClientVersion::Java4
    }

    fn is_copier(&self) -> bool {
        self.config.role == ClientRole::Copier
    }

    fn require(&self, operation: &'static str, allowed: &[Phase]) -> Result<(), ClientError> {
        if allowed.contains(&self.phase) {
            Ok(())
        } else {
            Err(ClientError::InvalidPhase { operation, phase: self.phase })
        }
    }

    fn require_transactional(&self, operation: &'static str) -> Result<(), ClientError> {
        if self.is_transactional() {
            Ok(())
        } else {
            Err(ClientError::Unsupported { operation, reason: "the client has no transactional id" })
        }
    }

    /// Records an outgoing request as outstanding and returns it for sending.
    pub(crate) fn send_request(&mut self, now_ms: TimestampMs, message: Message, out: &mut Vec<ClientRequest>) {
        let id = self.outstanding.insert(message.clone(), now_ms);
        out.push(ClientRequest { id, message, resends: 0 });
    }

    /// Re-sends an outstanding request under its own correlation id (CONCURRENT_TRANSACTIONS).
    pub(crate) fn resend_request(
        &mut self,
        now_ms: TimestampMs,
        request: super::OutstandingRequest,
        out: &mut Vec<ClientRequest>,
    ) {
        let (id, message, resends) = (request.id, request.message.clone(), request.resends);
        self.outstanding.reinsert(request, now_ms);
        out.push(ClientRequest { id, message, resends });
    }

    pub(crate) fn init_request(&self, expected: bool) -> Message {
        Message::InitProducerId(InitProducerIdRequest {
            transactional_id: self.config.transactional_id.clone(),
            transaction_timeout_ms: self.config.transaction_timeout_ms.unwrap_or(DEFAULT_TRANSACTION_TIMEOUT_MS),
            expected: expected.then_some(crate::protocol::ProducerIdAndEpoch {
                producer_id: self.producer_id,
                producer_epoch: self.producer_epoch,
            }),
        })
    }

    /// Starts the instance: InitProducerId (none for a non-idempotent producer). A copier has
    /// joined its groups first (`memberships`).
    pub fn start(
        &mut self,
        now_ms: TimestampMs,
        memberships: Vec<Membership>,
    ) -> Result<Vec<ClientRequest>, ClientError> {
        self.require("start", &[Phase::Uninitialized])?;
        if self.is_copier() && (memberships.is_empty() || !self.is_transactional()) {
            return Err(ClientError::Unsupported {
                operation: "start",
                reason: "a copier needs a transactional id and a group",
            });
        }
        if !self.config.idempotence && self.is_transactional() {
            return Err(ClientError::Unsupported { operation: "start", reason: "transactions need idempotence" });
        }
        self.memberships = memberships;
        let mut out = Vec::new();
        if !self.config.idempotence {
            self.phase = Phase::Ready;
            return Ok(out);
        }
        self.phase = Phase::Initializing;
        let request = self.init_request(false);
        self.send_request(now_ms, request, &mut out);
        Ok(out)
    }

    /// Resets per-epoch sequence numbers (new producer id or epoch).
    pub(crate) fn adopt(&mut self, producer_id: ProducerId, producer_epoch: ProducerEpoch) {
        if (producer_id, producer_epoch) != (self.producer_id, self.producer_epoch) {
            self.sequences.clear();
            self.last_acked.clear();
            self.unresolved.clear();
        }
        self.producer_id = producer_id;
        self.producer_epoch = producer_epoch;
    }

    fn begin_if_needed(&mut self) {
        if self.is_transactional() && self.phase == Phase::Ready {
            self.phase = Phase::InTransaction;
            self.transaction = TransactionProgress::default();
        }
    }

    /// Sends one record to `partition` (beginning the transaction if needed). tv1 modes hold the
    /// record until AddPartitionsToTxn for the partition is acknowledged.
    pub fn send(
        &mut self,
        now_ms: TimestampMs,
        partition: TopicPartition,
        record: Record,
    ) -> Result<Vec<ClientRequest>, ClientError> {
        let allowed: &[Phase] =
            if self.is_transactional() { &[Phase::Ready, Phase::InTransaction] } else { &[Phase::Ready] };
        self.require("send", allowed)?;
        self.begin_if_needed();
        let mut out = Vec::new();
        if self.is_transactional()
            && self.config.protocol.client_adds_partitions()
            && !self.transaction.added.contains(&partition)
        {
            let first_hold = !self.transaction.held.contains_key(&partition);
            self.transaction.held.entry(partition.clone()).or_default().push(record);
            if first_hold {
                let request = Message::AddPartitionsToTxn(AddPartitionsToTxnRequest {
                    transactional_id: self.config.transactional_id.clone().expect("transactional"),
                    producer_id: self.producer_id,
                    producer_epoch: self.producer_epoch,
                    partition,
                });
                self.transaction.sent_anything = true;
                self.send_request(now_ms, request, &mut out);
            }
            return Ok(out);
        }
        self.send_produce(now_ms, partition, record, &mut out);
        Ok(out)
    }

    /// Sends a Produce with the next sequence of (epoch, partition).
    pub(crate) fn send_produce(
        &mut self,
        now_ms: TimestampMs,
        partition: TopicPartition,
        record: Record,
        out: &mut Vec<ClientRequest>,
    ) {
        let sequence = if self.config.idempotence {
            let next = self.sequences.entry(partition.clone()).or_insert(0);
            let sequence = *next;
            *next = if *next == Sequence::MAX { 0 } else { *next + 1 };
            sequence
        } else {
            NO_SEQUENCE
        };
        let request = Message::Produce(ProduceRequest {
            partition,
            transactional_id: self.config.transactional_id.clone(),
            producer_id: self.producer_id,
            producer_epoch: self.producer_epoch,
            sequence,
            transactional: self.is_transactional(),
            records: vec![record],
            transaction_abortable: self.knows_transaction_abortable(),
        });
        self.transaction.sent_anything = true;
        self.send_request(now_ms, request, out);
    }

    /// Copier: commits `offset` (the next input offset) with the transaction — AddOffsetsToTxn
    /// then TxnOffsetCommit (tv1 modes), TxnOffsetCommit (tv2), or, offsets outside the
    /// transaction, remembered for an OffsetCommit after EndTxn. A copier in more than one group
    /// sends them for its next group once the previous group's are acknowledged (the first group
    /// again after the last).
    pub fn send_offsets(&mut self, now_ms: TimestampMs, offset: Offset) -> Result<Vec<ClientRequest>, ClientError> {
        self.require("send_offsets", &[Phase::Ready, Phase::InTransaction])?;
        self.require_transactional("send_offsets")?;
        if !self.is_copier() {
            return Err(ClientError::Unsupported { operation: "send_offsets", reason: "only the copier consumes" });
        }
        if matches!(self.transaction.offsets, Some(OffsetsState::Adding(_) | OffsetsState::Committing(_))) {
            return Err(ClientError::NotFlushed { outstanding: self.outstanding.len() });
        }
        self.begin_if_needed();
        self.transaction.offsets_group = match self.transaction.offsets {
            Some(OffsetsState::Acknowledged(_)) if self.transaction.offsets_group + 1 < self.memberships.len() => {
                self.transaction.offsets_group + 1
            }
            _ => 0,
        };
        let mut out = Vec::new();
        if !self.config.offsets_in_transaction {
            self.transaction.offsets = Some(OffsetsState::Deferred(offset));
            return Ok(out);
        }
        self.transaction.sent_anything = true;
        if self.config.protocol.client_adds_partitions() {
            self.transaction.offsets = Some(OffsetsState::Adding(offset));
            let request = Message::AddOffsetsToTxn(AddOffsetsToTxnRequest {
                transactional_id: self.config.transactional_id.clone().expect("transactional"),
                producer_id: self.producer_id,
                producer_epoch: self.producer_epoch,
                group: self.membership(self.transaction.offsets_group).group,
            });
            self.send_request(now_ms, request, &mut out);
        } else {
            self.send_txn_offset_commit(now_ms, offset, &mut out);
        }
        Ok(out)
    }

    pub(crate) fn send_txn_offset_commit(&mut self, now_ms: TimestampMs, offset: Offset, out: &mut Vec<ClientRequest>) {
        let membership = self.membership(self.transaction.offsets_group);
        self.transaction.offsets = Some(OffsetsState::Committing(offset));
        let request = Message::TxnOffsetCommit(TxnOffsetCommitRequest {
            transactional_id: self.config.transactional_id.clone().expect("transactional"),
            producer_id: self.producer_id,
            producer_epoch: self.producer_epoch,
            group: membership.group,
            generation: membership.generation,
            member_id: membership.member_id,
            partition: TopicPartition::input(),
            offset,
            transaction_abortable: self.knows_transaction_abortable(),
        });
        self.send_request(now_ms, request, out);
    }

    /// Copier in FetchingOffsets: the answer of OffsetFetch(require_stable). Unstable offsets keep
    /// it there (an error value); otherwise its position becomes the committed offset (0 if none).
    pub fn apply_offset_fetch(&mut self, result: Result<Option<Offset>, ErrorCode>) -> Result<Offset, ClientError> {
        self.require("fetch_offsets", &[Phase::FetchingOffsets])?;
        match result {
            Err(code) => {
                self.last_error = Some(code);
                Err(ClientError::UnstableOffsets(code))
            }
            Ok(committed) => {
                self.position = committed.unwrap_or(0);
                self.phase = Phase::Ready;
                Ok(self.position)
            }
        }
    }

    fn unflushed(&self) -> usize {
        let held: usize = self.transaction.held.values().map(Vec::len).sum();
        let offsets = usize::from(matches!(
            self.transaction.offsets,
            Some(OffsetsState::Adding(_) | OffsetsState::Committing(_))
        ));
        self.outstanding.len() + held + offsets
    }

    /// Commits the transaction once every record and the offsets are acknowledged.
    pub fn commit(&mut self, now_ms: TimestampMs) -> Result<Vec<ClientRequest>, ClientError> {
        self.require_transactional("commit")?;
        self.require("commit", &[Phase::InTransaction])?;
        let outstanding = self.unflushed();
        if outstanding > 0 {
            return Err(ClientError::NotFlushed { outstanding });
        }
        self.end(now_ms, true)
    }

    /// Aborts the transaction (from InTransaction or AbortableError); outstanding requests are
    /// given up.
    pub fn abort(&mut self, now_ms: TimestampMs) -> Result<Vec<ClientRequest>, ClientError> {
        self.require_transactional("abort")?;
        self.require("abort", &[Phase::InTransaction, Phase::AbortableError])?;
        // Records given up (batches the delivery timeout expires) are failed batches: a Java 4.x
        // client on tv1 bumps its epoch after the abort (KIP-360); tv2 leaves the bump to EndTxn.
        let gave_up_batches = self.outstanding.iter().any(|r| matches!(r.message, Message::Produce(_)));
        if gave_up_batches && self.bumps_after_any_failed_batch() {
            self.epoch_bump_required = true;
        }
        self.outstanding.clear();
        self.transaction.held.clear();
        self.resolve_sequences(now_ms);
        if self.skip_end_txn {
            // Java's `beginCompletingTransaction`: straight to InitProducerId with (pid, epoch).
            self.epoch_bump_required = true;
            let mut out = Vec::new();
            self.finish_transaction(now_ms, false, &mut out);
            return Ok(out);
        }
        self.end(now_ms, false)
    }

    /// Whether the coordinator can know of the current transaction, so that ending it needs an
    /// EndTxn (specs 7): tv1 modes once an AddPartitionsToTxn / AddOffsetsToTxn was acknowledged
    /// (Java sends EndTxn only for a started transaction); tv2 once anything was sent.
    fn coordinator_may_know(&self) -> bool {
        if self.config.protocol.client_adds_partitions() {
            !self.transaction.added.is_empty()
                || self.transaction.offsets_group > 0
                || matches!(self.transaction.offsets, Some(OffsetsState::Committing(_) | OffsetsState::Acknowledged(_)))
        } else {
            self.transaction.sent_anything
        }
    }

    fn end(&mut self, now_ms: TimestampMs, commit: bool) -> Result<Vec<ClientRequest>, ClientError> {
        let mut out = Vec::new();
        if !self.coordinator_may_know() {
            self.finish_transaction(now_ms, commit, &mut out);
            return Ok(out);
        }
        self.phase = if commit { Phase::CommittingTransaction } else { Phase::AbortingTransaction };
        let request = Message::EndTxn(EndTxnRequest {
            transactional_id: self.config.transactional_id.clone().expect("transactional"),
            producer_id: self.producer_id,
            producer_epoch: self.producer_epoch,
            commit,
        });
        self.send_request(now_ms, request, &mut out);
        Ok(out)
    }

    /// A copier's membership of its `index`th group (it joined them all at start).
    pub(crate) fn membership(&self, index: usize) -> Membership {
        self.memberships.get(index).cloned().expect("a copier joined its groups at start")
    }

    /// A copier's consumer rejoined `group` in a rebalance (the same member id, a new
    /// generation): offset commits sent from now on carry `generation`; one already sent keeps the
    /// old generation and its retries too, as Java's `TxnOffsetCommitHandler` built it once.
    pub fn rejoined(&mut self, group: &str, generation: Generation) -> Result<(), ClientError> {
        self.require(
            "rejoin",
            &[
                Phase::Initializing,
                Phase::Ready,
                Phase::InTransaction,
                Phase::CommittingTransaction,
                Phase::AbortingTransaction,
                Phase::AbortableError,
                Phase::FetchingOffsets,
                Phase::CommittingOffsets,
            ],
        )?;
        let membership = self.memberships.iter_mut().find(|m| m.group == group).ok_or(ClientError::Unsupported {
            operation: "rejoin",
            reason: "only a copier that joined its group rejoins it",
        })?;
        membership.generation = generation;
        Ok(())
    }

    /// The instance crashes: it stops, its outstanding requests are forgotten.
    pub fn crash(&mut self) -> Result<(), ClientError> {
        if self.phase == Phase::Crashed {
            return Err(ClientError::InvalidPhase { operation: "crash", phase: self.phase });
        }
        self.phase = Phase::Crashed;
        self.outstanding.clear();
        self.transaction = TransactionProgress::default();
        Ok(())
    }

    /// A request of this client, or its response, was lost: mark it failed.
    /// The request with correlation id `request`, or its response, was lost.
    pub fn request_lost(&mut self, now_ms: TimestampMs, request: RequestId) -> bool {
        self.outstanding.fail(request, now_ms)
    }

    /// The retry timer: re-send every failed request.
    pub fn retry(&mut self, now_ms: TimestampMs) -> Vec<ClientRequest> {
        if matches!(self.phase, Phase::Crashed | Phase::FatalError) {
            return Vec::new();
        }
        // fault: RetryKeepsRequestTimer
        let restart_timers = !self.faults.has(Fault::RetryKeepsRequestTimer);
        self.outstanding.retry_failed(now_ms, restart_timers)
    }

    /// The request-timeout timer of one request: re-send it while the original may still be in
    /// flight (a duplicate).
    pub fn request_timeout(&mut self, now_ms: TimestampMs, request: RequestId) -> Option<ClientRequest> {
        self.outstanding.resend(request, now_ms)
    }

    /// Whether the retry timer would re-send a request now (a failed Produce waits while an earlier
    /// batch of its partition is unresolved).
    pub fn has_retriable_requests(&self) -> bool {
        self.outstanding.has_retriable()
    }

    /// The earliest failure among outstanding requests (the retry timer's base).
    pub fn earliest_failure(&self) -> Option<TimestampMs> {
        self.outstanding.earliest_failure()
    }

    /// The outstanding requests, oldest first.
    pub fn outstanding(&self) -> impl Iterator<Item = &super::OutstandingRequest> {
        self.outstanding.iter()
    }

    /// What specs section 11 observes of this client.
    pub fn view(&self) -> ClientView {
        ClientView {
            phase: self.phase,
            transactional_id: self.config.transactional_id.clone(),
            producer_id: self.producer_id,
            producer_epoch: self.producer_epoch,
            outstanding: self.outstanding.iter().cloned().collect(),
            held_records: self.transaction.held.values().map(Vec::len).sum(),
            position: self.position,
            sequences: self.sequences.clone(),
            last_acked: self.last_acked.clone(),
            unresolved: self.unresolved.clone(),
            epoch_bump_required: self.epoch_bump_required,
            last_error: self.last_error,
            added: self.transaction.added.clone(),
            skip_end_txn: self.skip_end_txn,
            generations: self.memberships.iter().map(|m| m.generation).collect(),
        }
    }
}
