//! Transactional-id expiry (specs/eos.md §4.5; Kafka's
//! `TransactionStateManager.removeExpiredTransactionalIds` after `transactional.id.expiration.ms`):
//! an idle transactional id (Empty or Complete*, no pending transition) moves to Dead
//! (`TransactionMetadata.prepareDead`), its tombstone is appended to the transaction log, and once
//! the tombstone is durable the id is forgotten. The next InitProducerId for it starts over with a
//! new producer id; the old producer id's requests find no metadata (INVALID_PRODUCER_ID_MAPPING).
//! A tombstone whose append fails clears the pending Dead transition, so the id stays usable.

use super::txn_state::TxnState;
use super::TransactionCoordinator;
use crate::error::ErrorCode;
use crate::types::{TimestampMs, TransactionalId};

impl TransactionCoordinator {
    /// Whether `transactional_id` may expire now: known, idle (a state Dead may follow) and with
    /// no pending transition (Kafka's `pendingState.isEmpty && state.isExpirationAllowed`).
    pub fn may_expire(&self, transactional_id: &TransactionalId) -> bool {
        self.transactions.get(transactional_id).is_some_and(|m| {
            !m.pending_transition_in_progress()
                && m.producer_epoch >= 0
                && TxnState::Dead.may_follow(m.state, self.config.protocol, self.config.faults)
        })
    }

    /// Expires `transactional_id`: Dead, tombstone, forgotten. Refused (`INVALID_REQUEST`) for an
    /// id that may not expire; a failed tombstone append answers COORDINATOR_NOT_AVAILABLE and leaves
    /// the id as it was.
    pub fn expire_transactional_id(
        &mut self,
        now_ms: TimestampMs,
        transactional_id: &TransactionalId,
    ) -> Result<(), ErrorCode> {
        if !self.may_expire(transactional_id) {
            return Err(ErrorCode::InvalidRequest);
        }
        let Self { config, transactions, log, .. } = self;
        let metadata = transactions.get_mut(transactional_id).expect("checked above");
        let tombstone = metadata.transit_without_partitions(TxnState::Dead, now_ms);
        metadata.prepare_transition(&tombstone, config.protocol, config.faults);
        match log.append(tombstone) {
            Ok(_) => {
                transactions.remove(transactional_id);
                Ok(())
            }
            Err(error) => {
                tracing::warn!(%error, id = %transactional_id, "tombstone append failed; the id stays");
                metadata.abort_transition();
                Err(ErrorCode::CoordinatorNotAvailable)
            }
        }
    }
}
