//! InitProducerId at the coordinator (KIP-98, KIP-360; specs/eos.md 4.2): a fresh producer id for
//! an idempotent producer; for a transactional id, an epoch bump (or a new producer id when the
//! epoch is exhausted), fencing an Ongoing transaction first, with KIP-360's expected (pid,
//! epoch) letting a producer recover from an abortable error and a retried bump return the same
//! epoch.

use super::txn_state::TxnState;
use super::{TransactionCoordinator, TransactionMetadata};
use crate::error::ErrorCode;
use crate::protocol::{InitProducerIdRequest, InitProducerIdResponse, ProducerIdAndEpoch, WriteTxnMarkerRequest};
use crate::types::{ProducerEpoch, ProducerId, TimestampMs, NO_PRODUCER_EPOCH, NO_PRODUCER_ID};

/// What an InitProducerId in Empty / Complete* does to the epoch.
enum EpochBump {
    /// Move to a new producer id at epoch 0.
    Rotate { last_epoch: ProducerEpoch },
    /// Bump to this epoch, remembering `last_epoch`.
    Bump { epoch: ProducerEpoch, last_epoch: ProducerEpoch },
    /// A retry of a bump that succeeded: keep the epoch and the last epoch (no bump), but still
    /// move to Empty, as Kafka's `prepareIncrementProducerEpoch` does in every case.
    Retry,
}

fn answer(error: ErrorCode, producer_id: ProducerId, producer_epoch: ProducerEpoch) -> InitProducerIdResponse {
    InitProducerIdResponse { error, producer_id, producer_epoch }
}

fn error(error: ErrorCode) -> InitProducerIdResponse {
    answer(error, NO_PRODUCER_ID, NO_PRODUCER_EPOCH)
}

impl TransactionCoordinator {
    /// Handles InitProducerId; returns the answer and any markers (of a fenced transaction).
    pub fn handle_init_producer_id(
        &mut self,
        now_ms: TimestampMs,
        request: &InitProducerIdRequest,
    ) -> (InitProducerIdResponse, Vec<WriteTxnMarkerRequest>) {
        // Step 1: an idempotent producer gets a fresh id at epoch 0.
        let Some(id) = request.transactional_id.clone() else {
            return (answer(ErrorCode::None, self.generate_producer_id(), 0), Vec::new());
        };
        // Step 2.
        let timeout = request.transaction_timeout_ms;
        if id.as_str().is_empty() {
            return (error(ErrorCode::InvalidRequest), Vec::new());
        }
        if timeout <= 0 || timeout > self.config().max_transaction_timeout_ms {
            return (error(ErrorCode::InvalidTransactionTimeout), Vec::new());
        }
        // Step 3: a new transactional id gets a producer id (in memory until the bump is logged).
        if !self.transactions.contains_key(&id) {
            let producer_id = self.generate_producer_id();
            self.transactions.insert(id.clone(), TransactionMetadata::new(id.clone(), producer_id, timeout, now_ms));
        }
        let metadata = &self.transactions[&id];
        if metadata.pending_transition_in_progress() {
            return (error(ErrorCode::ConcurrentTransactions), Vec::new());
        }
        // Step 4: KIP-360's expected (pid, epoch) must name this producer.
        if let Some(expected) = request.expected {
            if !self.expected_is_valid(metadata, expected) {
                return (error(ErrorCode::ProducerFenced), Vec::new());
            }
        }
        // Step 5.
        match metadata.state {
            TxnState::PrepareCommit | TxnState::PrepareAbort => (error(ErrorCode::ConcurrentTransactions), Vec::new()),
            TxnState::Ongoing => {
                // Fence: abort the ongoing transaction; the client retries and gets the next bump.
                match self.fence_and_abort(&id, now_ms) {
                    Ok(markers) => (error(ErrorCode::ConcurrentTransactions), markers),
                    Err(code) => (error(code), Vec::new()),
                }
            }
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort => {
                (self.bump_epoch(&id, now_ms, timeout, request.expected), Vec::new())
            }
            TxnState::Dead | TxnState::PrepareEpochFence => {
                unreachable!("{id}: {:?} is never a resting state in eos", metadata.state)
            }
        }
    }

    /// KIP-360: the expected pair is valid if the metadata is new, names the current producer
    /// id, or names the previous one with an exhausted epoch (a retry across a rotation).
    fn expected_is_valid(&self, metadata: &TransactionMetadata, expected: ProducerIdAndEpoch) -> bool {
        metadata.producer_epoch == NO_PRODUCER_EPOCH
            || expected.producer_id == metadata.producer_id
            || (expected.producer_id == metadata.previous_producer_id
                && self.config().is_epoch_exhausted(expected.producer_epoch))
    }

    fn plan_bump(
        &self,
        metadata: &TransactionMetadata,
        expected: Option<ProducerIdAndEpoch>,
    ) -> Result<EpochBump, ErrorCode> {
        let epoch = metadata.producer_epoch;
        let expected_epoch = expected.map(|pair| pair.producer_epoch);
        if self.config().is_epoch_exhausted(epoch) && expected_epoch.is_none_or(|e| e == epoch) {
            let last_epoch = if expected.is_some() { epoch } else { NO_PRODUCER_EPOCH };
            return Ok(EpochBump::Rotate { last_epoch });
        }
        match expected_epoch {
            None => Ok(EpochBump::Bump { epoch: epoch + 1, last_epoch: NO_PRODUCER_EPOCH }),
            // The fencing guard off skips every epoch comparison (specs 2).
            Some(e) if epoch == NO_PRODUCER_EPOCH || e == epoch || !self.config().fencing => {
                Ok(EpochBump::Bump { epoch: epoch + 1, last_epoch: epoch })
            }
            Some(e) if e == metadata.last_producer_epoch => Ok(EpochBump::Retry),
            Some(_) => Err(ErrorCode::ProducerFenced),
        }
    }

    /// Empty / Complete*: bump the epoch (or rotate the producer id) and log Empty.
    fn bump_epoch(
        &mut self,
        id: &crate::types::TransactionalId,
        now_ms: TimestampMs,
        timeout_ms: i32,
        expected: Option<ProducerIdAndEpoch>,
    ) -> InitProducerIdResponse {
        let metadata = &self.transactions[id];
        let plan = match self.plan_bump(metadata, expected) {
            Ok(plan) => plan,
            Err(code) => return error(code),
        };
        let mut transit = metadata.transit(TxnState::Empty, now_ms);
        transit.partitions = super::transaction_log::no_partitions();
        transit.txn_start_timestamp = -1;
        transit.transaction_timeout_ms = timeout_ms;
        transit.next_producer_id = NO_PRODUCER_ID;
        match plan {
            EpochBump::Retry => {}
            EpochBump::Bump { epoch, last_epoch } => {
                assert!(epoch <= self.config().max_producer_epoch, "an exhausted epoch rotates instead");
                transit.producer_epoch = epoch;
                transit.last_producer_epoch = last_epoch;
            }
            EpochBump::Rotate { last_epoch } => {
                transit.previous_producer_id = metadata.producer_id;
                transit.producer_id = self.generate_producer_id();
                transit.producer_epoch = 0;
                transit.last_producer_epoch = last_epoch;
            }
        }
        let (producer_id, producer_epoch) = (transit.producer_id, transit.producer_epoch);
        match self.client_transition(transit) {
            Ok(_) => answer(ErrorCode::None, producer_id, producer_epoch),
            Err(code) => error(code),
        }
    }
}
