//! How the transaction manager reacts to each response (specs/eos.md section 7, "Responses"):
//! success moves the transaction on, CONCURRENT_TRANSACTIONS re-sends at once, Produce and
//! TxnOffsetCommit errors are abortable (a fenced TxnOffsetCommit is fatal), the rest is fatal.
//! A response is matched to its request by correlation id; one that answers no outstanding
//! request is ignored.

use super::outstanding::{ClientRequest, OutstandingRequest, RequestId};
use super::transaction_manager::{OffsetsState, TransactionManager, TransactionProgress};
use super::{ClientRole, ClientVersion, Phase};
use crate::config::ProtocolMode;
use crate::error::ErrorCode;
use crate::mutation::Fault;
use crate::protocol::{EndTxnResponse, Message, OffsetCommitRequest, ProduceRequest, ProduceResponse};
use crate::types::{TimestampMs, TopicPartition};

impl TransactionManager {
    /// Handles a response; returns the requests it sends in reaction (same step).
    pub fn handle_response(
        &mut self,
        now_ms: TimestampMs,
        correlation: RequestId,
        response: &Message,
    ) -> Vec<ClientRequest> {
        let mut out = Vec::new();
        if matches!(self.phase, Phase::Crashed | Phase::FatalError) {
            return out;
        }
        let Some(request) = self.outstanding.take(correlation) else {
            return out; // Answers a request given up (abort, crash) or already answered (a retry's copy).
        };
        if request.message.request_key() != response.answer_key() {
            debug_assert!(false, "a response of another kind under correlation {correlation:?}");
            return out;
        }
        let error = response.error().expect("a response carries an error code");
        if !error.is_none() {
            self.last_error = Some(error);
        }
        if matches!(
            error,
            ErrorCode::ConcurrentTransactions | ErrorCode::CoordinatorNotAvailable | ErrorCode::NotCoordinator
        ) {
            // Retriable for every request (specs 7, as Java's client): re-send it at once. A failed
            // transaction-log append answers COORDINATOR_NOT_AVAILABLE, one completed after a
            // failover NOT_COORDINATOR (specs 4.5).
            self.resend_request(now_ms, request, &mut out);
            return out;
        }
        match response {
            Message::InitProducerIdResponse(r) => {
                if error.is_none() {
                    self.adopt(r.producer_id, r.producer_epoch);
                    self.epoch_bump_required = false;
                    self.phase =
                        if self.config.role == ClientRole::Copier { Phase::FetchingOffsets } else { Phase::Ready };
                } else {
                    self.fatal();
                }
            }
            Message::AddPartitionsToTxnResponse(r) => self.on_partition_added(now_ms, &r.partition, error, &mut out),
            Message::AddOffsetsToTxnResponse(_) => match (error, self.transaction.offsets) {
                (ErrorCode::None, Some(OffsetsState::Adding(offset))) => {
                    self.send_txn_offset_commit(now_ms, offset, &mut out)
                }
                (ErrorCode::None, _) => {}
                (ErrorCode::InvalidProducerIdMapping, _) => self.producer_id_mapping_lost(),
                _ => self.fatal(),
            },
            Message::ProduceResponse(r) => self.on_produce(now_ms, request, r),
            Message::TxnOffsetCommitResponse(_) => match (error, self.transaction.offsets) {
                (ErrorCode::None, Some(OffsetsState::Committing(offset))) => {
                    self.transaction.offsets = Some(OffsetsState::Acknowledged(offset));
                }
                (ErrorCode::None, _) => {}
                // Java's client: a fenced producer is fatal; a group mismatch or TRANSACTION_ABORTABLE
                // is abortable; anything else is unexpected: fatal for 4.x, abortable for older ones.
                (ErrorCode::InvalidProducerEpoch | ErrorCode::ProducerFenced, _) => self.fatal(),
                (ErrorCode::UnknownMemberId | ErrorCode::IllegalGeneration | ErrorCode::TransactionAbortable, _) => {
                    self.abortable(error)
                }
                _ if self.config.version == ClientVersion::Java4 => self.fatal(),
                _ => self.abortable(error),
            },
            Message::OffsetCommitResponse(_) => {
                if error.is_none() {
                    if let Message::OffsetCommit(sent) = &request.message {
                        self.position = sent.offset;
                    }
                    self.phase = Phase::Ready;
                } else {
                    self.fatal();
                }
            }
            Message::EndTxnResponse(r) => self.on_end_txn(now_ms, r, &mut out),
            _ => unreachable!("answer_key is Some only for client responses"),
        }
        self.resolve_sequences(now_ms);
        out
    }

    fn fatal(&mut self) {
        self.phase = Phase::FatalError;
        self.outstanding.clear();
    }

    /// An error only an abort recovers from (a transactional client in a transaction); a
    /// non-transactional producer cannot recover from it.
    fn abortable(&mut self, error: ErrorCode) {
        if !self.is_transactional() {
            self.fatal();
            return;
        }
        let bump = match self.config.version {
            ClientVersion::Java4 => true,
            ClientVersion::Legacy => {
                matches!(error, ErrorCode::OutOfOrderSequenceNumber | ErrorCode::InvalidProducerEpoch)
            }
        };
        if bump && self.config.protocol != ProtocolMode::Tv2 {
            self.epoch_bump_required = true;
        }
        if error == ErrorCode::InvalidProducerIdMapping {
            self.skip_end_txn = true;
        }
        if matches!(self.phase, Phase::InTransaction | Phase::CommittingTransaction) {
            self.phase = Phase::AbortableError;
        }
    }

    /// INVALID_PRODUCER_ID_MAPPING from the coordinator: Java 4.x's `abortableErrorIfPossible` (bump the
    /// epoch, abort without EndTxn); older clients fail.
    fn producer_id_mapping_lost(&mut self) {
        if self.config.version == ClientVersion::Legacy {
            self.fatal();
            return;
        }
        self.epoch_bump_required = true;
        self.abortable(ErrorCode::InvalidProducerIdMapping);
        if self.phase == Phase::AbortingTransaction {
            self.phase = Phase::AbortableError;
        }
    }

    fn on_partition_added(
        &mut self,
        now_ms: TimestampMs,
        partition: &TopicPartition,
        error: ErrorCode,
        out: &mut Vec<ClientRequest>,
    ) {
        if error == ErrorCode::InvalidProducerIdMapping {
            self.producer_id_mapping_lost();
            return;
        }
        if !error.is_none() {
            self.fatal();
            return;
        }
        self.transaction.added.insert(partition.clone());
        let held = self.transaction.held.remove(partition).unwrap_or_default();
        for record in held {
            self.send_produce(now_ms, partition.clone(), record, out);
        }
    }

    /// Whether the Produce `message` carries the sequence right after the last acknowledged one of its
    /// partition (Java's `isNextSequence`); without pipelining every earlier batch was answered first.
    fn is_next_sequence(&self, message: &Message) -> bool {
        let Message::Produce(batch) = message else { return true };
        !self.tracks_acks() || self.is_next(&batch.partition, batch.sequence)
    }

    fn on_produce(&mut self, now_ms: TimestampMs, request: OutstandingRequest, response: &ProduceResponse) {
        match response.error {
            ErrorCode::None => {
                if let Message::Produce(batch) = &request.message {
                    if self.tracks_acks() {
                        let last = self.last_acked.entry(batch.partition.clone()).or_insert(batch.sequence);
                        *last = (*last).max(batch.sequence);
                    }
                }
            }
            // Java's `TransactionManager.canRetry`: retried when the partition's sequence is not
            // unresolved and the batch is not the next sequence after the last acknowledged (the gap
            // may be an earlier batch, still on its way).
            ErrorCode::OutOfOrderSequenceNumber
                if !self.is_unresolved_batch(&request.message) && !self.is_next_sequence(&request.message) =>
            {
                self.outstanding.reinsert_failed(request, now_ms)
            }
            // An idempotent Java producer retries a real gap too (unresolved.rs).
            ErrorCode::OutOfOrderSequenceNumber
                if !self.is_transactional() && self.config.version == ClientVersion::Java4 =>
            {
                self.on_idempotent_gap(now_ms, request)
            }
            ErrorCode::InvalidTxnState if self.config.streams => self.fatal(),
            ErrorCode::InvalidProducerEpoch
            | ErrorCode::OutOfOrderSequenceNumber
            | ErrorCode::InvalidTxnState
            | ErrorCode::InvalidProducerIdMapping
            | ErrorCode::TransactionAbortable => self.abortable(response.error),
            _ => self.fatal(),
        }
    }

    /// Java's `bumpIdempotentProducerEpoch` after a sequence gap: the epoch goes up by one locally,
    /// and the outstanding batches, `failed` among them, get sequences from 0 in their order under
    /// the new epoch (`TxnPartitionMap.startSequencesAtBeginning`) and wait for the retry timer;
    /// answers to their earlier sends are ignored. At epoch 32767 Java would ask for a new producer
    /// id; eos's client fails instead.
    pub(crate) fn bump_idempotent_epoch(&mut self, now_ms: TimestampMs, failed: Option<OutstandingRequest>) {
        let Some(epoch) = self.producer_epoch.checked_add(1) else {
            self.fatal();
            return;
        };
        self.producer_epoch = epoch;
        self.sequences.clear();
        self.last_acked.clear();
        self.unresolved.clear();
        let mut batches: Vec<ProduceRequest> = failed
            .into_iter()
            .chain(self.outstanding.take_produces())
            .filter_map(|r| match r.message {
                Message::Produce(p) => Some(p),
                _ => None,
            })
            .collect();
        batches.sort_by(|a, b| (&a.partition, a.sequence).cmp(&(&b.partition, b.sequence)));
        for batch in batches {
            let next = self.sequences.entry(batch.partition.clone()).or_insert(0);
            let sequence = *next;
            *next += 1;
            let message = Message::Produce(ProduceRequest { producer_epoch: epoch, sequence, ..batch });
            self.outstanding.insert_failed(message, now_ms);
        }
    }

    fn on_end_txn(&mut self, now_ms: TimestampMs, response: &EndTxnResponse, out: &mut Vec<ClientRequest>) {
        if response.error == ErrorCode::InvalidProducerIdMapping {
            self.producer_id_mapping_lost();
            return;
        }
        if !response.error.is_none() {
            self.fatal();
            return;
        }
        if self.config.protocol.is_tv2() && response.producer_id >= 0 && response.producer_epoch >= 0 {
            self.adopt(response.producer_id, response.producer_epoch);
        }
        self.finish_transaction(now_ms, response.commit, out);
    }

    /// The attempt is over (EndTxn answered NONE, or nothing was sent): move the copier's
    /// position, commit offsets outside the transaction, re-initialise after KIP-360 errors.
    pub(crate) fn finish_transaction(&mut self, now_ms: TimestampMs, commit: bool, out: &mut Vec<ClientRequest>) {
        let offsets = self.transaction.offsets;
        self.transaction = TransactionProgress::default();
        // fault: SkipEndTxnOutlivesTransaction
        if !self.faults.has(Fault::SkipEndTxnOutlivesTransaction) {
            self.skip_end_txn = false;
        }
        let copier = self.config.role == ClientRole::Copier;
        if !commit && self.epoch_bump_required {
            self.phase = Phase::Initializing;
            let request = self.init_request(true);
            self.send_request(now_ms, request, out);
            return;
        }
        self.phase = match (commit, copier, offsets) {
            (true, true, Some(OffsetsState::Acknowledged(offset))) => {
                self.position = offset;
                Phase::Ready
            }
            (true, true, Some(OffsetsState::Deferred(offset))) => {
                self.send_offset_commit(now_ms, offset, out);
                Phase::CommittingOffsets
            }
            (false, true, _) => Phase::FetchingOffsets,
            _ => Phase::Ready,
        };
    }

    fn send_offset_commit(&mut self, now_ms: TimestampMs, offset: crate::types::Offset, out: &mut Vec<ClientRequest>) {
        let membership = self.membership(0);
        let request = Message::OffsetCommit(OffsetCommitRequest {
            group: membership.group,
            generation: membership.generation,
            member_id: membership.member_id,
            partition: TopicPartition::input(),
            offset,
        });
        self.send_request(now_ms, request, out);
    }
}
