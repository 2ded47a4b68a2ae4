//! Unresolved sequences (specs/eos.md 7, "batch expiry"): a batch the application gives up by its
//! delivery timeout while its request may still land, and how the client finds out whether the
//! partition's sequence is still whole (Java's `TransactionManager.markSequenceUnresolved`,
//! `maybeResolveSequences`, and the idempotent branch of `canRetry`).

use super::outstanding::{OutstandingRequest, RequestId};
use super::transaction_manager::TransactionManager;
use super::Phase;
use crate::config::ProtocolMode;
use crate::mutation::Fault;
use crate::protocol::Message;
use crate::types::{Sequence, TimestampMs, TopicPartition};
use crate::ClientError;

impl TransactionManager {
    /// Whether the client keeps the last acknowledged sequence per partition: with pipelining, and
    /// when batches may expire.
    pub(crate) fn tracks_acks(&self) -> bool {
        self.config.max_in_flight > 1 || self.config.expires_batches
    }

    /// Whether `sequence` follows the last acknowledged one of `partition` (from 0 when none is).
    pub(crate) fn is_next(&self, partition: &TopicPartition, sequence: Sequence) -> bool {
        sequence == self.last_acked.get(partition).map_or(0, |s| s + 1)
    }

    /// Whether the partition's sequence is unresolved: no new batch is sent to it
    /// (`RecordAccumulator.shouldStopDrainBatchesForPartition`).
    pub fn is_unresolved(&self, partition: &TopicPartition) -> bool {
        self.unresolved.contains_key(partition)
    }

    /// Whether `message` is a Produce to a partition whose sequence is unresolved.
    pub(crate) fn is_unresolved_batch(&self, message: &Message) -> bool {
        matches!(message, Message::Produce(batch) if self.is_unresolved(&batch.partition))
    }

    /// Marks `partition`'s sequence unresolved, waiting for sequence `next` (the one after a batch
    /// whose fate is unknown).
    fn mark_unresolved(&mut self, partition: &TopicPartition, next: Sequence) {
        let unresolved = self.unresolved.entry(partition.clone()).or_insert(next);
        *unresolved = (*unresolved).max(next);
    }

    /// The delivery timeout gives up the outstanding Produce `request` (Java's `Sender`:
    /// `expiredBatches`, `getExpiredInflightBatches`, each failed with a `TimeoutException`): it is
    /// no longer awaited, and an answer to it is ignored; its partition's sequence is unresolved. A
    /// transactional client's transaction becomes abortable, with an epoch bump after the abort where
    /// a failed batch asks for one (`handleFailedBatch` → `maybeTransitionToErrorState`).
    pub fn expire_batch(&mut self, now_ms: TimestampMs, request: RequestId) -> Result<(), ClientError> {
        let Some(outstanding) = self.outstanding.iter().find(|r| r.id == request) else {
            return Err(ClientError::Unsupported { operation: "expire a batch", reason: "no such request" });
        };
        let Message::Produce(batch) = &outstanding.message else {
            return Err(ClientError::Unsupported { operation: "expire a batch", reason: "only a Produce expires" });
        };
        let (partition, sequence) = (batch.partition.clone(), batch.sequence);
        self.outstanding.take(request);
        if self.config.idempotence {
            // fault: UnresolvedFromGivenUpSequence
            let after = if self.faults.has(Fault::UnresolvedFromGivenUpSequence) { sequence } else { sequence + 1 };
            self.mark_unresolved(&partition, after);
        }
        if self.is_transactional() {
            if matches!(self.phase, Phase::InTransaction | Phase::CommittingTransaction) {
                self.phase = Phase::AbortableError;
            }
            self.epoch_bump_required |= self.bumps_after_any_failed_batch();
        }
        self.resolve_sequences(now_ms);
        Ok(())
    }

    /// Java's `maybeResolveSequences`: an unresolved partition with no outstanding batch is resolved
    /// if its last acknowledged sequence is the one before its next; otherwise an idempotent client
    /// bumps its epoch, and a transactional one's transaction is abortable, with an epoch bump after
    /// the abort in tv1 modes (TV2's EndTxn bumps it anyway).
    pub(crate) fn resolve_sequences(&mut self, now_ms: TimestampMs) {
        if self.unresolved.is_empty() || matches!(self.phase, Phase::Crashed | Phase::FatalError) {
            return;
        }
        let drained: Vec<TopicPartition> = self
            .unresolved
            .keys()
            .filter(|p| {
                !self.outstanding.iter().any(|r| matches!(&r.message, Message::Produce(b) if &b.partition == *p))
            })
            .cloned()
            .collect();
        for partition in drained {
            self.unresolved.remove(&partition);
            let next = self.sequences.get(&partition).copied().unwrap_or(0);
            if self.is_next(&partition, next) {
                continue;
            }
            if !self.is_transactional() {
                self.bump_idempotent_epoch(now_ms, None);
                continue;
            }
            if matches!(self.phase, Phase::InTransaction | Phase::CommittingTransaction) {
                self.phase = Phase::AbortableError;
            }
            self.epoch_bump_required |= self.config.protocol != ProtocolMode::Tv2;
        }
    }

    /// An idempotent client's OUT_OF_ORDER_SEQUENCE_NUMBER that `canRetry` does not retry as is: with
    /// the sequence unresolved and `request` not the batch right after the given-up one, retried
    /// without a bump; otherwise Java bumps the epoch at once (KAFKA-14034), and with the proposed fix
    /// (`kafka_14034`) the sequence is marked unresolved and the batch retried.
    pub(crate) fn on_idempotent_gap(&mut self, now_ms: TimestampMs, request: OutstandingRequest) {
        let Message::Produce(batch) = &request.message else { return };
        let (partition, sequence) = (batch.partition.clone(), batch.sequence);
        if self.unresolved.get(&partition).is_some_and(|next| *next != sequence) {
            self.outstanding.reinsert_failed(request, now_ms);
        } else if self.config.kafka_14034 {
            self.mark_unresolved(&partition, sequence + 1);
            self.outstanding.reinsert_failed(request, now_ms);
        } else {
            self.bump_idempotent_epoch(now_ms, Some(request));
        }
    }
}
