//! The transaction log (KIP-98's `__transaction_state`): an append-only log of records keyed by
//! transactional id, each the full durable metadata after a transition. Recovery is replay: the
//! last record of each transactional id wins. The log sits on a [`LogStorage`].

use super::txn_state::TxnState;
use crate::storage::{LogStorage, StorageError};
use crate::types::{ProducerEpoch, ProducerId, TimestampMs, TopicPartition, TransactionalId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

/// A transaction's partition set, shared between the metadata, a transit record and the log
/// (copied only when a partition is added).
pub type PartitionSet = Arc<BTreeSet<TopicPartition>>;

/// The empty partition set (shared, so clearing a set does not allocate).
pub fn no_partitions() -> PartitionSet {
    static EMPTY: OnceLock<PartitionSet> = OnceLock::new();
    EMPTY.get_or_init(|| Arc::new(BTreeSet::new())).clone()
}
use std::ops::ControlFlow;

/// One record of the transaction log: a transactional id's metadata after a transition. It is
/// also the "transit metadata" of a prepared transition (Kafka's `TxnTransitMetadata`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TxnLogRecord {
    /// The key.
    pub transactional_id: TransactionalId,
    /// Producer id.
    pub producer_id: ProducerId,
    /// The producer id before the last rotation (-1 if none).
    pub previous_producer_id: ProducerId,
    /// tv2: the producer id to move to when this transaction completes (-1 if none).
    pub next_producer_id: ProducerId,
    /// Producer epoch.
    pub producer_epoch: ProducerEpoch,
    /// The epoch before the last bump that a KIP-360 retry may present (-1 if none).
    pub last_producer_epoch: ProducerEpoch,
    /// The state.
    pub state: TxnState,
    /// The partitions of the transaction (data partitions and the offsets partition).
    pub partitions: PartitionSet,
    /// Transaction timeout.
    pub transaction_timeout_ms: i32,
    /// When the transaction began (-1 if none).
    pub txn_start_timestamp: TimestampMs,
    /// When this record was written.
    pub txn_last_update_timestamp: TimestampMs,
}

/// The coordinator's durable log.
#[derive(Debug)]
pub struct TransactionLog {
    storage: Box<dyn LogStorage<TxnLogRecord>>,
}

impl TransactionLog {
    /// A log on `storage`.
    pub fn new(storage: Box<dyn LogStorage<TxnLogRecord>>) -> Self {
        Self { storage }
    }

    /// Appends a record (durable when this returns Ok).
    pub fn append(&mut self, record: TxnLogRecord) -> Result<u64, StorageError> {
        assert!(record.state != TxnState::PrepareEpochFence, "PrepareEpochFence is never logged");
        self.storage.append(record)
    }

    /// Replays the log: the last record of each transactional id.
    pub fn replay(&self) -> Result<BTreeMap<TransactionalId, TxnLogRecord>, StorageError> {
        let mut latest = BTreeMap::new();
        self.storage.scan(0, &mut |_, record| {
            latest.insert(record.transactional_id.clone(), record.clone());
            ControlFlow::Continue(())
        })?;
        Ok(latest)
    }

    /// Every record in order.
    pub fn records(&self) -> Result<Vec<TxnLogRecord>, StorageError> {
        crate::storage::read_all(self.storage.as_ref())
    }
}
