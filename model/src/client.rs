//! A producer instance: the transaction manager and its script (specs/eos.md §7).
//!
//! Phases follow Java's `TransactionManager`. The script is fixed by the scenario: attempt k writes
//! `batches_per_partition` batches (one record each) to each of its partitions (partitions in any
//! order, a partition's batches in order, at most `max_in_flight` of them unanswered); the copier reads
//! input `position`, writes it to `out-{position mod partitions}` and sends offset `position + 1`.

use crate::collections::{IndexSet, SmallMap};
use crate::config::{ClientVersion, Config, MAX_GROUPS};
use crate::group::GroupState;
use crate::history::History;
use crate::message::{Message, Reply, Request, RequestBody};
use crate::types::*;

/// The transaction manager's phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum Phase {
    Uninitialized,
    Initializing,
    /// Copier: waiting for a stable committed offset.
    FetchingOffsets,
    Ready,
    InTransaction,
    CommittingTransaction,
    AbortingTransaction,
    AbortableError,
    /// Copier with offsets outside the transaction: the plain OffsetCommit is in flight.
    CommittingOffsets,
    FatalError,
    Crashed,
}

impl Phase {
    /// Whether the instance still runs (it may send requests).
    pub fn is_alive(self) -> bool {
        !matches!(self, Phase::Uninitialized | Phase::FatalError | Phase::Crashed)
    }

    /// Whether the instance has a transaction it may still end.
    pub fn in_transaction(self) -> bool {
        matches!(
            self,
            Phase::InTransaction | Phase::CommittingTransaction | Phase::AbortingTransaction | Phase::AbortableError
        )
    }
}

/// How far the copier's offsets have gone in the current transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OffsetsProgress {
    /// Not sent.
    NotSent,
    /// AddOffsetsToTxn or TxnOffsetCommit in flight.
    Sent,
    /// TxnOffsetCommit acknowledged.
    Acknowledged,
    /// Offsets outside the transaction (the pitfall): handed over, to be committed with a plain
    /// OffsetCommit once the transaction commits.
    Deferred,
}

/// Whether a request awaits its response or failed and waits for the retry tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RequestStatus {
    /// Sent; no answer yet.
    InFlight,
    /// The request or its response was lost.
    Failed,
}

/// Whether a tv1 client bumps its epoch after every failed batch (Java 4.x's `epochBumpRequired` with a
/// coordinator that supports KIP-360's bump; TV2 clients leave the bump to EndTxn).
pub(crate) fn bumps_after_any_failed_batch(config: &Config) -> bool {
    config.producers.client == ClientVersion::Java4 && config.protocol.explicit_add()
}

/// Whether the client keeps `lastAckedSequence` per partition: with pipelining, and when batches
/// may expire (whether an unresolved sequence resolved is read from it). With one Produce in flight
/// per partition and no expiry, acknowledgements come in sequence order and it would only split states.
pub(crate) fn tracks_acks(config: &Config) -> bool {
    config.producers.max_in_flight > 1 || config.faults.batch_expirations > 0
}

/// A producer instance.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Client {
    /// The phase.
    pub phase: Phase,
    /// Producer id (after InitProducerId).
    pub producer_id: Option<ProducerId>,
    /// Producer epoch.
    pub epoch: Epoch,
    /// Attempts finished so far (the current attempt's index).
    pub attempt: u8,
    /// Batches already written (or held for AddPartitionsToTxn) per partition in this attempt.
    pub sent: SmallMap<PartitionIndex, u8>,
    /// tv1 modes: partitions acknowledged by AddPartitionsToTxn / AddOffsetsToTxn in this attempt.
    pub added: IndexSet<TxnPartition>,
    /// Copier: the offsets of this attempt for group `offsets_group`.
    pub offsets: OffsetsProgress,
    /// Copier: the group whose offsets it hands over now (`copier.groups` > 1: one
    /// sendOffsetsToTransaction per group, in group order, each waiting for the one before, as Java's
    /// blocking `sendOffsetsToTransaction` does).
    pub offsets_group: GroupIndex,
    /// Next sequence per partition, for the current epoch.
    pub next_sequence: SmallMap<PartitionIndex, Sequence>,
    /// The highest sequence acknowledged per partition in the current epoch (Java's
    /// `lastAckedSequence`), kept only where [`tracks_acks`] says.
    pub last_acked: SmallMap<PartitionIndex, Sequence>,
    /// Partitions whose sequence is unresolved, with the sequence after the given-up batch (Java's
    /// `partitionsWithUnresolvedSequences`): a batch expired unanswered, so whether it landed is
    /// unknown until the partition's other batches are answered (`maybeResolveSequences`).
    pub unresolved: SmallMap<PartitionIndex, Sequence>,
    /// Requests awaiting a response.
    pub awaiting: SmallMap<Request, RequestStatus>,
    /// KIP-360: bump the epoch with InitProducerId before the next transaction.
    pub needs_epoch_bump: bool,
    /// The last error was INVALID_PRODUCER_ID_MAPPING: the coordinator would refuse an EndTxn, so
    /// the abort goes straight to InitProducerId (Java's `beginCompletingTransaction`).
    pub skip_end_txn: bool,
    /// Copier: the input offset to process next.
    pub position: u8,
    /// Copier: the generation of each group it joined.
    pub generations: [i32; MAX_GROUPS as usize],
    /// Ghost: it was told PRODUCER_FENCED or INVALID_PRODUCER_EPOCH.
    pub fenced: bool,
    /// Ghost: it failed fatally with an error that says it was fenced (PRODUCER_FENCED,
    /// INVALID_PRODUCER_EPOCH, or KIP-447's ILLEGAL_GENERATION), as opposed to any other fatal error.
    pub fatal_by_fence: bool,
}

/// What a client step needs besides the client.
pub struct ClientContext<'a> {
    /// The scenario.
    pub config: &'a Config,
    /// The instance.
    pub me: ProducerIndex,
    /// Ghost state.
    pub history: &'a mut History,
    /// Messages to put in flight.
    pub outbox: &'a mut Vec<Message>,
}

impl Default for Client {
    fn default() -> Self {
        Client {
            phase: Phase::Uninitialized,
            producer_id: None,
            epoch: NO_EPOCH,
            attempt: 0,
            sent: SmallMap::new(),
            added: IndexSet::new(),
            offsets: OffsetsProgress::NotSent,
            offsets_group: 0,
            next_sequence: SmallMap::new(),
            last_acked: SmallMap::new(),
            unresolved: SmallMap::new(),
            awaiting: SmallMap::new(),
            needs_epoch_bump: false,
            skip_end_txn: false,
            position: 0,
            generations: [0; MAX_GROUPS as usize],
            fenced: false,
            fatal_by_fence: false,
        }
    }
}

impl Client {
    fn request(&mut self, cx: &mut ClientContext, body: RequestBody) {
        let request = Request { from: cx.me, attempt: self.attempt, send: 0, body };
        self.awaiting.insert(request, RequestStatus::InFlight);
        cx.outbox.push(Message::Request(request));
    }

    fn txn(&self, cx: &ClientContext) -> Option<TxnId> {
        cx.config.producers.transactional.then(|| cx.config.txn_id_of(cx.me))
    }

    /// Whether the script has nothing left to do.
    pub fn script_done(&self, config: &Config) -> bool {
        if !config.producers.transactional {
            return self.script_partitions(config).iter().all(|p| self.all_batches_sent(config, p));
        }
        let out_of_input = config.copier.as_ref().is_some_and(|c| self.position >= c.input_records);
        out_of_input || self.attempt >= config.producers.transactions
    }

    /// The partitions the current attempt writes to.
    pub fn script_partitions(&self, config: &Config) -> IndexSet<PartitionIndex> {
        if config.is_copier() {
            IndexSet::from([self.position % config.partitions.count])
        } else {
            (0..config.partitions_per_transaction()).collect()
        }
    }

    /// Batches written to `partition` in this attempt.
    pub fn batches_sent(&self, partition: PartitionIndex) -> u8 {
        self.sent.get(&partition).copied().unwrap_or(0)
    }

    fn all_batches_sent(&self, config: &Config, partition: PartitionIndex) -> bool {
        self.batches_sent(partition) >= config.producers.batches_per_partition
    }

    /// The value instance `me` writes next to `partition` in its current attempt (the script's record).
    pub fn value_for(&self, config: &Config, me: ProducerIndex, partition: PartitionIndex) -> Value {
        self.value_of_batch(config, me, partition, self.batches_sent(partition))
    }

    /// The value of batch `batch` of the current attempt to `partition`.
    fn value_of_batch(&self, config: &Config, me: ProducerIndex, partition: PartitionIndex, batch: u8) -> Value {
        if config.is_copier() {
            Value::Copied { input: self.position }
        } else {
            Value::Produced { attempt: Attempt { producer: me, index: self.attempt }, partition, batch }
        }
    }

    /// The unanswered Produce requests to `partition` (in flight or failed and waiting for a retry).
    fn produces_to(&self, partition: PartitionIndex) -> impl Iterator<Item = (&Request, &RequestStatus)> {
        self.awaiting
            .iter()
            .filter(move |(r, _)| matches!(r.body, RequestBody::Produce { partition: p, .. } if p == partition))
    }

    /// Whether `partition` has fewer than `max_in_flight` unanswered Produces, none of them waiting for
    /// a retry (one pass over `awaiting`: this runs for every partition of every state).
    fn has_free_in_flight_slot(&self, config: &Config, partition: PartitionIndex) -> bool {
        let mut unanswered = 0;
        for (_, status) in self.produces_to(partition) {
            if *status != RequestStatus::InFlight {
                return false;
            }
            unanswered += 1;
        }
        unanswered < usize::from(config.producers.max_in_flight)
    }

    /// Start: (copier: join its groups) then InitProducerId; without idempotence, ready at once.
    pub fn start(&mut self, cx: &mut ClientContext, groups: &mut GroupState) {
        assert_eq!(self.phase, Phase::Uninitialized, "an instance starts once");
        for g in cx.config.copier.iter().flat_map(|c| c.group_indices()) {
            let group = groups.group_mut(g);
            group.join(cx.me);
            self.generations[usize::from(g)] = group.generation;
        }
        if !cx.config.guards.idempotence {
            self.phase = Phase::Ready;
            return;
        }
        self.phase = Phase::Initializing;
        let txn = self.txn(cx);
        self.request(cx, RequestBody::InitProducerId { txn, expected: None });
    }

    /// Whether the script lets it write (its next batch) to `partition` now. A later batch waits for
    /// the partition to be added (tv1 modes), for a free in-flight slot (`max_in_flight`), while an
    /// earlier batch waits to be retried, and while the partition's sequence is unresolved: Java's
    /// `RecordAccumulator.shouldStopDrainBatchesForPartition` drains a retried batch before any new
    /// one, and no new one while `hasUnresolvedSequence`.
    pub fn can_send(&self, config: &Config, partition: PartitionIndex) -> bool {
        let first = self.batches_sent(partition) == 0;
        let explicit_add = config.producers.transactional && config.protocol.explicit_add();
        matches!(self.phase, Phase::Ready | Phase::InTransaction)
            && !self.script_done(config)
            && self.script_partitions(config).contains(&partition)
            && !self.all_batches_sent(config, partition)
            && (first || !explicit_add || self.added.contains(&TxnPartition::Data(partition)))
            && self.has_free_in_flight_slot(config, partition)
            && !self.unresolved.contains_key(&partition)
    }

    fn begin(&mut self, config: &Config) {
        if config.producers.transactional && self.phase == Phase::Ready {
            self.phase = Phase::InTransaction;
        }
    }

    /// Send the next batch (one record) to `partition` (tv1 modes: the first after AddPartitionsToTxn).
    pub fn send(&mut self, cx: &mut ClientContext, partition: PartitionIndex) {
        self.begin(cx.config);
        let value = self.value_for(cx.config, cx.me, partition);
        *self.sent.get_or_insert_with(partition, || 0) += 1;
        let target = TxnPartition::Data(partition);
        match (self.txn(cx), self.producer_id) {
            (Some(txn), Some(producer_id)) if cx.config.protocol.explicit_add() && !self.added.contains(&target) => {
                let epoch = self.epoch;
                self.request(cx, RequestBody::AddPartitionsToTxn { txn, producer_id, epoch, partition });
            }
            _ => self.send_produce(cx, partition, value),
        }
    }

    /// A Produce of `value` with the partition's next sequence: the sequence is assigned at send
    /// (Java's `Sender` sets it when it drains the batch) and kept by every retry.
    fn send_produce(&mut self, cx: &mut ClientContext, partition: PartitionIndex, value: Value) {
        let sequence = if cx.config.guards.idempotence {
            let next = self.next_sequence.get_or_insert_with(partition, || 0);
            *next += 1;
            *next - 1
        } else {
            -1
        };
        let body = RequestBody::Produce {
            partition,
            txn: self.txn(cx),
            producer_id: self.producer_id,
            epoch: self.epoch,
            sequence,
            value,
        };
        self.request(cx, body);
    }

    /// Copier: whether it may hand over its offsets now (to the transaction, or to be committed after
    /// it when offsets are outside the transaction).
    pub fn can_send_offsets(&self, config: &Config) -> bool {
        config.is_copier()
            && matches!(self.phase, Phase::Ready | Phase::InTransaction)
            && !self.script_done(config)
            && self.offsets == OffsetsProgress::NotSent
    }

    /// sendOffsetsToTransaction: offset `position + 1` (tv1 modes: after AddOffsetsToTxn).
    pub fn send_offsets(&mut self, cx: &mut ClientContext) {
        self.begin(cx.config);
        if !cx.config.guards.offsets_in_transaction {
            self.offsets = OffsetsProgress::Deferred;
            return;
        }
        self.offsets = OffsetsProgress::Sent;
        if cx.config.protocol.explicit_add() {
            // Java sends AddOffsetsToTxn at every sendOffsetsToTransaction, also when the offsets
            // partition is already in the transaction (another group's offsets put it there).
            let (txn, producer_id, epoch) = self.identity(cx);
            let group = self.offsets_group;
            self.request(cx, RequestBody::AddOffsetsToTxn { txn, producer_id, epoch, group });
        } else {
            self.send_txn_offset_commit(cx);
        }
    }

    fn identity(&self, cx: &ClientContext) -> (TxnId, ProducerId, Epoch) {
        let txn = self.txn(cx).expect("transactional");
        (txn, self.producer_id.expect("initialised"), self.epoch)
    }

    fn send_txn_offset_commit(&mut self, cx: &mut ClientContext) {
        let (txn, producer_id, epoch) = self.identity(cx);
        let body = RequestBody::TxnOffsetCommit {
            txn,
            producer_id,
            epoch,
            group: self.offsets_group,
            generation: self.generations[usize::from(self.offsets_group)],
            offset: Offset::from(self.position) + 1,
        };
        self.request(cx, body);
    }

    fn outstanding_blocks_commit(&self) -> bool {
        self.awaiting.keys().any(|r| r.body.blocks_commit())
    }

    /// Whether everything is sent and acknowledged, so the transaction may commit.
    pub fn can_commit(&self, config: &Config) -> bool {
        let offsets_done =
            !config.is_copier() || matches!(self.offsets, OffsetsProgress::Acknowledged | OffsetsProgress::Deferred);
        self.phase == Phase::InTransaction
            && self.script_partitions(config).iter().all(|p| self.all_batches_sent(config, p))
            && offsets_done
            && !self.outstanding_blocks_commit()
    }

    /// Whether it may abort now.
    pub fn can_abort(&self, config: &Config) -> bool {
        let p = &config.producers;
        self.phase == Phase::AbortableError
            || (self.phase == Phase::InTransaction
                && p.client_aborts
                && (p.abort_with_outstanding || !self.outstanding_blocks_commit()))
    }

    /// commitTransaction: EndTxn(commit).
    pub fn commit(&mut self, cx: &mut ClientContext) {
        let (txn, producer_id, epoch) = self.identity(cx);
        self.phase = Phase::CommittingTransaction;
        self.request(cx, RequestBody::EndTxn { txn, producer_id, epoch, commit: true });
    }

    /// abortTransaction: give up outstanding requests; EndTxn(abort) unless nothing was sent (or, after
    /// INVALID_PRODUCER_ID_MAPPING, InitProducerId at once).
    pub fn abort(&mut self, cx: &mut ClientContext) {
        // Giving up a Produce (a batch expired by the delivery timeout) is a failed batch: a Java 4.x
        // tv1 client bumps its epoch after the abort (KIP-360; TV2 bumps on the coordinator's side).
        let gave_up_batch = self.awaiting.keys().any(|r| matches!(r.body, RequestBody::Produce { .. }));
        if gave_up_batch && bumps_after_any_failed_batch(cx.config) {
            self.needs_epoch_bump = true;
        }
        self.awaiting.clear();
        self.resolve_sequences(cx);
        if self.skip_end_txn {
            // Java's `beginCompletingTransaction`: straight to InitProducerId with (pid, epoch).
            self.needs_epoch_bump = true;
            self.end_attempt(cx, false);
            return;
        }
        let sent_anything = if cx.config.protocol.explicit_add() {
            !self.added.is_empty()
        } else {
            !self.sent.is_empty()
                || self.offsets_group > 0
                || matches!(self.offsets, OffsetsProgress::Sent | OffsetsProgress::Acknowledged)
        };
        if !sent_anything {
            self.end_attempt(cx, false);
            return;
        }
        let (txn, producer_id, epoch) = self.identity(cx);
        self.phase = Phase::AbortingTransaction;
        self.request(cx, RequestBody::EndTxn { txn, producer_id, epoch, commit: false });
    }

    /// The attempt is over: start the next one (copier: advance, commit offsets, or re-read).
    fn end_attempt(&mut self, cx: &mut ClientContext, commit: bool) {
        self.attempt += 1;
        self.skip_end_txn = false;
        self.sent.clear();
        self.added.clear();
        self.offsets = OffsetsProgress::NotSent;
        self.offsets_group = 0;
        self.phase = Phase::Ready;
        if cx.config.is_copier() {
            if !commit {
                self.phase = Phase::FetchingOffsets;
            } else if cx.config.guards.offsets_in_transaction {
                self.position += 1;
            } else {
                self.phase = Phase::CommittingOffsets;
                let body = RequestBody::OffsetCommit {
                    generation: self.generations[0],
                    offset: Offset::from(self.position) + 1,
                };
                self.request(cx, body);
                return;
            }
        }
        if self.needs_epoch_bump {
            self.phase = Phase::Initializing;
            let expected = Some((self.producer_id.expect("initialised"), self.epoch));
            let txn = self.txn(cx);
            self.request(cx, RequestBody::InitProducerId { txn, expected });
        }
    }

    /// Copier: OffsetFetch(require_stable); unchanged while offsets are pending.
    /// OffsetFetch(require_stable) of `copier-group`, the group whose position the copier consumes from.
    pub fn fetch_offsets(&mut self, groups: &GroupState) {
        if let Ok(committed) = groups.group(0).offset_fetch() {
            self.position = committed.map_or(0, |c| u8::try_from(c).expect("small offsets"));
            self.phase = Phase::Ready;
        }
    }

    /// Whether an unanswered Produce of the same partition, producer id and epoch as `request` has a
    /// lower sequence: an earlier batch still unresolved (Java's `TxnPartitionMap`: it is in flight or
    /// waits for its retry, and `lastAckedSequence` is below it).
    fn has_earlier_unresolved(&self, request: &Request) -> bool {
        let RequestBody::Produce { partition, producer_id, epoch, sequence, .. } = request.body else { return false };
        self.awaiting.keys().any(|r| {
            matches!(r.body, RequestBody::Produce { partition: p, producer_id: pid, epoch: e, sequence: s, .. }
                if (p, pid, e) == (partition, producer_id, epoch) && s < sequence)
        })
    }

    /// Whether the Produce `request` carries the sequence right after the last acknowledged one of its
    /// partition (Java's `isNextSequence`). With one Produce in flight per partition and no expiry
    /// every earlier batch was answered before it was sent, so it always is.
    fn is_next_sequence(&self, config: &Config, request: &Request) -> bool {
        let RequestBody::Produce { partition, sequence, .. } = request.body else { return true };
        !tracks_acks(config) || self.is_next(partition, sequence)
    }

    /// Whether `sequence` follows the last acknowledged one of `partition` (from 0 when none is).
    fn is_next(&self, partition: PartitionIndex, sequence: Sequence) -> bool {
        sequence == self.last_acked.get(&partition).map_or(0, |last| last + 1)
    }

    /// The delivery timeout gives up the unanswered Produce `request` (Java's `Sender.sendProducerData`:
    /// `expiredBatches` and `getExpiredInflightBatches`, each failed with a `TimeoutException`). The
    /// instance stops awaiting it; a copy on its way may still land, and its answer is ignored. The
    /// partition's sequence becomes unresolved (`markSequenceUnresolved`, next sequence after the
    /// batch). A transactional producer's transaction becomes abortable and, where KIP-360's bump is the
    /// client's (tv1 modes, Java 4.x), it bumps its epoch after the abort
    /// (`TransactionManager.handleFailedBatch` → `maybeTransitionToErrorState`). Then the partition
    /// may already be resolved (`maybeResolveSequences`).
    pub fn expire_batch(&mut self, cx: &mut ClientContext, request: &Request) {
        let RequestBody::Produce { partition, sequence, txn, .. } = request.body else { return };
        if self.awaiting.remove(request).is_none() {
            return;
        }
        if cx.config.guards.idempotence {
            let next = self.unresolved.get_or_insert_with(partition, || sequence + 1);
            *next = (*next).max(sequence + 1);
        }
        if txn.is_some() {
            if matches!(self.phase, Phase::InTransaction | Phase::CommittingTransaction) {
                self.phase = Phase::AbortableError;
            }
            self.needs_epoch_bump |= bumps_after_any_failed_batch(cx.config);
        }
        self.resolve_sequences(cx);
    }

    /// Java's `TransactionManager.maybeResolveSequences`: an unresolved partition with no batch left
    /// unanswered is resolved if its last acknowledged sequence is the one before its next sequence
    /// (later batches landed after the given-up one); otherwise an idempotent producer bumps its epoch
    /// (`requestEpochBumpForPartition`), and a transactional one's transaction is abortable and, in tv1
    /// modes, its epoch is bumped after the abort (TV2's EndTxn bumps it anyway).
    fn resolve_sequences(&mut self, cx: &mut ClientContext) {
        if self.unresolved.is_empty() || !self.phase.is_alive() {
            return;
        }
        let drained: Vec<PartitionIndex> =
            self.unresolved.keys().copied().filter(|p| self.produces_to(*p).next().is_none()).collect();
        for partition in drained {
            self.unresolved.remove(&partition);
            let next = self.next_sequence.get(&partition).copied().unwrap_or(0);
            if self.is_next(partition, next) {
                continue;
            }
            if self.txn(cx).is_none() {
                self.bump_idempotent_epoch(None);
                continue;
            }
            if matches!(self.phase, Phase::InTransaction | Phase::CommittingTransaction) {
                self.phase = Phase::AbortableError;
            }
            self.needs_epoch_bump |= cx.config.protocol.explicit_add();
        }
    }

    /// Whether the retry tick re-sends `request` now: it failed, and (a Produce) no earlier batch of
    /// its partition is unresolved, since Java re-sends a partition's batches in sequence order
    /// (`RecordAccumulator.shouldStopDrainBatchesForPartition`: a retried batch goes only when it is
    /// the first in flight, `TransactionManager.firstInFlightSequence`).
    fn retries_now(&self, request: &Request, status: RequestStatus) -> bool {
        status == RequestStatus::Failed && !self.has_earlier_unresolved(request)
    }

    /// The retry tick: re-send every failed request that may go now.
    pub fn retry(&mut self, outbox: &mut Vec<Message>) {
        let due: Vec<Request> =
            self.awaiting.iter().filter(|(r, s)| self.retries_now(r, **s)).map(|(r, _)| *r).collect();
        for request in due {
            self.awaiting.insert(request, RequestStatus::InFlight);
            outbox.push(Message::Request(request));
        }
    }

    /// A request timeout: `request`, still in flight, is sent again as its next send; an answer to
    /// the earlier send will be ignored. `None` if it is not awaited in flight.
    pub fn request_timeout(&mut self, request: &Request, outbox: &mut Vec<Message>) -> Option<()> {
        if self.awaiting.get(request) != Some(&RequestStatus::InFlight) {
            return None;
        }
        self.awaiting.remove(request);
        let again = Request { send: request.send.checked_add(1)?, ..*request };
        self.awaiting.insert(again, RequestStatus::InFlight);
        outbox.push(Message::Request(again));
        Some(())
    }

    /// Whether some request failed and the retry tick would re-send it now.
    pub fn has_failed_requests(&self) -> bool {
        self.awaiting.iter().any(|(r, s)| self.retries_now(r, *s))
    }

    /// A request or its response was lost.
    pub fn on_lost(&mut self, request: &Request) {
        if let Some(status) = self.awaiting.get_mut(request) {
            *status = RequestStatus::Failed;
        }
    }

    /// The instance crashes.
    pub fn crash(&mut self) {
        self.phase = Phase::Crashed;
        self.awaiting.clear();
    }

    fn fatal(&mut self, error: ErrorCode) {
        self.phase = Phase::FatalError;
        self.fenced |= error == ErrorCode::ProducerFenced;
        self.fatal_by_fence =
            matches!(error, ErrorCode::ProducerFenced | ErrorCode::InvalidProducerEpoch | ErrorCode::IllegalGeneration)
                || error == ErrorCode::UnknownMemberId;
        self.awaiting.clear();
    }

    fn abortable(&mut self, cx: &ClientContext, error: ErrorCode) {
        self.fenced |= error == ErrorCode::InvalidProducerEpoch;
        if matches!(self.phase, Phase::InTransaction | Phase::CommittingTransaction) {
            self.phase = Phase::AbortableError;
        }
        let bump = match cx.config.producers.client {
            ClientVersion::Java4 => true,
            ClientVersion::Legacy => {
                matches!(error, ErrorCode::OutOfOrderSequenceNumber | ErrorCode::InvalidProducerEpoch)
            }
        };
        if bump && cx.config.protocol.explicit_add() {
            self.needs_epoch_bump = true;
        }
        if error == ErrorCode::InvalidProducerIdMapping {
            self.skip_end_txn = true;
        }
    }

    /// Java 4.x's answer to INVALID_PRODUCER_ID_MAPPING from the coordinator (`abortableErrorIfPossible`):
    /// abortable, and the abort skips EndTxn; before, fatal.
    fn on_pid_mapping_error(&mut self, cx: &ClientContext) {
        match cx.config.producers.client {
            ClientVersion::Java4 => {
                self.needs_epoch_bump = true;
                self.abortable(cx, ErrorCode::InvalidProducerIdMapping);
                if self.phase == Phase::AbortingTransaction {
                    self.phase = Phase::AbortableError; // The abort is tried again, without EndTxn.
                }
            }
            ClientVersion::Legacy => self.fatal(ErrorCode::InvalidProducerIdMapping),
        }
    }

    /// Java's idempotent epoch bump after a sequence gap: the epoch goes up by one locally (no
    /// request), and the unanswered batches, `failed` among them, get sequences from 0 in their order
    /// under the new epoch and wait for the retry tick (`TxnPartitionMap.startSequencesAtBeginning`);
    /// answers to their earlier sends are ignored. At epoch 32767 Java asks for a new producer id
    /// instead; the model's idempotent producers never get there, so it fails then.
    fn bump_idempotent_epoch(&mut self, failed: Option<Request>) {
        let Some(epoch) = self.epoch.checked_add(1) else {
            return self.fatal(ErrorCode::OutOfOrderSequenceNumber);
        };
        self.epoch = epoch;
        self.next_sequence.clear();
        self.last_acked.clear();
        self.unresolved.clear();
        let mut batches: Vec<Request> = self.awaiting.keys().copied().collect();
        batches.extend(failed);
        batches.sort_by_key(|r| match r.body {
            RequestBody::Produce { partition, sequence, .. } => (partition, sequence),
            _ => (PartitionIndex::MAX, Sequence::MAX),
        });
        for old in batches {
            let RequestBody::Produce { partition, txn, producer_id, value, .. } = old.body else { continue };
            self.awaiting.remove(&old);
            let next = self.next_sequence.get_or_insert_with(partition, || 0);
            let sequence = *next;
            *next += 1;
            let body = RequestBody::Produce { partition, txn, producer_id, epoch, sequence, value };
            self.awaiting.insert(Request { send: 0, body, ..old }, RequestStatus::Failed);
        }
    }

    /// An idempotent producer's OUT_OF_ORDER_SEQUENCE_NUMBER for `request` that `canRetry` does not
    /// retry as is (Java's `TransactionManager.canRetry`, idempotent branch). With the partition's
    /// sequence unresolved and `request` not the batch right after the given-up one, it is retried
    /// without a bump: the gap may resolve. Otherwise Java bumps the epoch at once and renumbers every
    /// unanswered batch of the partition, also one whose earlier send has landed (KAFKA-14034); with
    /// KAFKA-14034's proposed fix (`fixes.kafka_14034`, apache/kafka#13796) it marks the sequence
    /// unresolved instead and retries, so the bump waits until no batch of the partition is unanswered
    /// (`resolve_sequences`), and only a batch that can no longer have landed is ever renumbered.
    fn on_idempotent_gap(&mut self, config: &Config, request: Request) {
        let RequestBody::Produce { partition, sequence, .. } = request.body else { return };
        let unresolved = self.unresolved.get(&partition).copied();
        if unresolved.is_some_and(|next| next != sequence) {
            self.awaiting.insert(request, RequestStatus::Failed);
        } else if config.fixes.kafka_14034 {
            let next = self.unresolved.get_or_insert_with(partition, || sequence + 1);
            *next = (*next).max(sequence + 1);
            self.awaiting.insert(request, RequestStatus::Failed);
        } else {
            self.bump_idempotent_epoch(Some(request))
        }
    }

    /// A response arrives for `request` (ignored unless it is awaited).
    pub fn on_response(&mut self, cx: &mut ClientContext, request: Request, reply: Reply) {
        if !self.phase.is_alive() || self.awaiting.remove(&request).is_none() {
            return;
        }
        // Retriable, re-sent at once: CONCURRENT_TRANSACTIONS, and COORDINATOR_NOT_AVAILABLE (a failed
        // transaction-log append) or NOT_COORDINATOR (an append completed after a failover): Java's
        // handlers look the coordinator up again and re-enqueue.
        if matches!(
            reply.error,
            ErrorCode::ConcurrentTransactions | ErrorCode::CoordinatorNotAvailable | ErrorCode::NotCoordinator
        ) {
            self.awaiting.insert(request, RequestStatus::InFlight);
            cx.outbox.push(Message::Request(request));
            return;
        }
        let ok = reply.error == ErrorCode::None;
        match request.body {
            RequestBody::InitProducerId { .. } if ok => {
                self.producer_id = reply.producer_id;
                self.epoch = reply.epoch.expect("a granted InitProducerId has an epoch");
                self.next_sequence.clear();
                self.last_acked.clear();
                self.unresolved.clear();
                self.needs_epoch_bump = false;
                self.phase = if cx.config.is_copier() { Phase::FetchingOffsets } else { Phase::Ready };
            }
            RequestBody::AddPartitionsToTxn { partition, .. } if ok => {
                self.added.insert(TxnPartition::Data(partition));
                // Only the first batch waits for the add (later ones are sent after it).
                let value = self.value_of_batch(cx.config, cx.me, partition, 0);
                self.send_produce(cx, partition, value);
            }
            RequestBody::AddOffsetsToTxn { .. } if ok => {
                self.added.insert(TxnPartition::Offsets);
                self.send_txn_offset_commit(cx);
            }
            RequestBody::Produce { partition, sequence, .. } if ok => {
                if tracks_acks(cx.config) {
                    let last = self.last_acked.get_or_insert_with(partition, || sequence);
                    *last = (*last).max(sequence);
                }
            }
            RequestBody::TxnOffsetCommit { group, .. } if ok => {
                let groups = cx.config.copier.as_ref().map_or(1, |c| c.groups);
                if group + 1 < groups {
                    // The next group's sendOffsetsToTransaction may start.
                    self.offsets_group = group + 1;
                    self.offsets = OffsetsProgress::NotSent;
                } else {
                    self.offsets = OffsetsProgress::Acknowledged;
                }
            }
            RequestBody::TxnOffsetCommit { .. } => match (reply.error, cx.config.producers.client) {
                // Java: a fenced producer is fatal; a group mismatch (unknown member, other generation)
                // or TRANSACTION_ABORTABLE is abortable; anything else is unexpected, so fatal (4.x), abortable before.
                (ErrorCode::InvalidProducerEpoch | ErrorCode::ProducerFenced, _) => {
                    self.fatal(ErrorCode::ProducerFenced)
                }
                (ErrorCode::UnknownMemberId | ErrorCode::IllegalGeneration | ErrorCode::TransactionAbortable, _)
                | (_, ClientVersion::Legacy) => self.abortable(cx, reply.error),
                (error, ClientVersion::Java4) => self.fatal(error),
            },
            // Java's `TransactionManager.canRetry`: OUT_OF_ORDER_SEQUENCE_NUMBER is retried when the
            // partition's sequence is not unresolved and the batch is not the next sequence after the
            // last acknowledged one: the gap may be an earlier batch, still on its way.
            RequestBody::Produce { partition, .. }
                if reply.error == ErrorCode::OutOfOrderSequenceNumber
                    && !self.unresolved.contains_key(&partition)
                    && !self.is_next_sequence(cx.config, &request) =>
            {
                self.awaiting.insert(request, RequestStatus::Failed);
            }
            // An idempotent (non-transactional) Java producer retries a real gap too, after bumping its
            // epoch locally (`requestEpochBumpForPartition`, `bumpIdempotentProducerEpoch`).
            RequestBody::Produce { txn: None, producer_id: Some(_), .. }
                if reply.error == ErrorCode::OutOfOrderSequenceNumber
                    && cx.config.producers.client == ClientVersion::Java4 =>
            {
                self.on_idempotent_gap(cx.config, request)
            }
            // Kafka Streams: INVALID_TXN_STATE is fatal (KAFKA-19690's symptom).
            RequestBody::Produce { txn: Some(_), .. }
                if cx.config.producers.streams && reply.error == ErrorCode::InvalidTxnState =>
            {
                self.fatal(reply.error)
            }
            RequestBody::Produce { txn: Some(_), .. } => self.abortable(cx, reply.error),
            RequestBody::AddPartitionsToTxn { .. }
            | RequestBody::AddOffsetsToTxn { .. }
            | RequestBody::EndTxn { .. }
                if reply.error == ErrorCode::InvalidProducerIdMapping =>
            {
                self.on_pid_mapping_error(cx)
            }
            RequestBody::OffsetCommit { .. } if ok => {
                self.position += 1;
                self.phase = Phase::Ready;
            }
            RequestBody::EndTxn { commit, .. } if ok => {
                let attempt = Attempt { producer: cx.me, index: request.attempt };
                cx.history.acknowledged.record(attempt, commit);
                if !cx.config.protocol.explicit_add() {
                    // tv2: the bumped epoch, or after a rotation the next producer id at epoch 0.
                    self.producer_id = reply.producer_id;
                    self.epoch = reply.epoch.expect("a successful EndTxn has an epoch");
                    self.next_sequence.clear();
                    self.last_acked.clear();
                    self.unresolved.clear();
                }
                self.end_attempt(cx, commit);
            }
            _ => self.fatal(reply.error),
        }
        self.resolve_sequences(cx);
    }
}
