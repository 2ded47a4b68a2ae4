//! Adding partitions to a transaction (KIP-98; specs/eos.md 4.3): AddPartitionsToTxn and
//! AddOffsetsToTxn from a tv1 client, tv2's implicit add on behalf of a partition leader or the
//! group coordinator (KIP-890 part 2), and tv1-verified's verification (KIP-890 part 1), which
//! only reads.

use super::transaction_log::no_partitions;
use super::txn_state::TxnState;
use super::TransactionCoordinator;
use crate::error::ErrorCode;
use crate::mutation::Fault;
use crate::protocol::{
    AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, AddPartitionsToTxnRequest, AddPartitionsToTxnResponse,
};
use crate::types::{ProducerEpoch, ProducerId, TimestampMs, TopicPartition, TransactionalId};

impl TransactionCoordinator {
    /// Handles AddPartitionsToTxn.
    pub fn handle_add_partitions(
        &mut self,
        now_ms: TimestampMs,
        request: &AddPartitionsToTxnRequest,
    ) -> AddPartitionsToTxnResponse {
        let error = match self.add_partition(
            now_ms,
            &request.transactional_id,
            request.producer_id,
            request.producer_epoch,
            &request.partition,
        ) {
            Ok(()) => ErrorCode::None,
            Err(code) => code,
        };
        AddPartitionsToTxnResponse { partition: request.partition.clone(), error }
    }

    /// Handles AddOffsetsToTxn: adds the group's offsets partition.
    pub fn handle_add_offsets(
        &mut self,
        now_ms: TimestampMs,
        request: &AddOffsetsToTxnRequest,
    ) -> AddOffsetsToTxnResponse {
        let partition = TopicPartition::group_offsets(&request.group);
        let error = match self.add_partition(
            now_ms,
            &request.transactional_id,
            request.producer_id,
            request.producer_epoch,
            &partition,
        ) {
            Ok(()) => ErrorCode::None,
            Err(code) => code,
        };
        AddOffsetsToTxnResponse { error }
    }

    /// The add of specs 4.3 (also tv2's implicit add): checks, then Ongoing with the partition,
    /// logged; nothing is logged if the partition is already in the Ongoing transaction.
    pub fn add_partition(
        &mut self,
        now_ms: TimestampMs,
        id: &TransactionalId,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
        partition: &TopicPartition,
    ) -> Result<(), ErrorCode> {
        // An id whose first InitProducerId was never logged has no epoch: nobody owns it yet.
        let Some(metadata) = self.transactions.get(id).filter(|m| m.producer_epoch >= 0) else {
            return Err(ErrorCode::InvalidProducerIdMapping);
        };
        // KAFKA-18660: a pending transition is answered first, so a producer starting its next
        // transaction under the producer id a completing one rotates to is told to wait, not fenced.
        if self.config().fixes.kafka_18660 && metadata.pending_transition_in_progress() {
            return Err(ErrorCode::ConcurrentTransactions);
        }
        if producer_id != metadata.producer_id {
            return Err(ErrorCode::InvalidProducerIdMapping);
        }
        if self.config().fencing && producer_epoch != metadata.producer_epoch {
            return Err(ErrorCode::ProducerFenced);
        }
        if metadata.pending_transition_in_progress() {
            return Err(ErrorCode::ConcurrentTransactions);
        }
        if metadata.state == TxnState::Ongoing && metadata.partitions.contains(partition) {
            return Ok(());
        }
        assert!(
            matches!(
                metadata.state,
                TxnState::Empty | TxnState::Ongoing | TxnState::CompleteCommit | TxnState::CompleteAbort
            ),
            "{id}: cannot add a partition in {:?}",
            metadata.state
        );
        let mut transit = metadata.transit(TxnState::Ongoing, now_ms);
        if metadata.state != TxnState::Ongoing {
            transit.txn_start_timestamp = now_ms;
            transit.partitions = no_partitions();
        } else if self.config().faults.has(Fault::TxnTimeoutRestartsOnAdd) {
            // fault: TxnTimeoutRestartsOnAdd
            transit.txn_start_timestamp = now_ms;
        }
        std::sync::Arc::make_mut(&mut transit.partitions).insert(partition.clone());
        self.client_transition(transit).map(drop)
    }

    /// KIP-890 part 1 (tv1-verified): is `partition` in the transaction of (pid, epoch)? Reads only.
    /// As Kafka's coordinator answers a verification: no metadata or another producer id →
    /// INVALID_PRODUCER_ID_MAPPING; another epoch → PRODUCER_FENCED; PrepareCommit/PrepareAbort →
    /// CONCURRENT_TRANSACTIONS; the partition not in the transaction → TRANSACTION_ABORTABLE, which
    /// the leader turns into INVALID_TXN_STATE for the clients tv1-verified serves (specs 5.1 step 2).
    /// A pending transition is not consulted: what is appended now precedes its marker.
    pub fn verify_partition(
        &self,
        id: &TransactionalId,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
        partition: &TopicPartition,
    ) -> Result<(), ErrorCode> {
        let metadata = match self.transactions.get(id) {
            Some(metadata) if metadata.producer_id == producer_id => metadata,
            _ => return Err(ErrorCode::InvalidProducerIdMapping),
        };
        if self.config().fencing && metadata.producer_epoch != producer_epoch {
            Err(ErrorCode::ProducerFenced)
        } else if matches!(metadata.state, TxnState::PrepareCommit | TxnState::PrepareAbort) {
            Err(ErrorCode::ConcurrentTransactions)
        } else if metadata.partitions.contains(partition) {
            Ok(())
        } else {
            Err(ErrorCode::TransactionAbortable)
        }
    }
}
