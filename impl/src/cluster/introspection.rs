//! What the conformance harness observes after every step (specs/eos.md section 11), plus the
//! admin-style views (describe transactions, describe producers, a partition's log, the group's
//! offsets). Every view is plain serde data; reader views go through the real consumer path.

use super::{Cluster, InFlight, Timer};
use crate::client::{ClientView, Consumer};
use crate::coordinator::{TransactionView, TxnLogRecord};
use crate::group::PendingOffsets;
use crate::partition::{AbortedTxn, LogEntry, PartitionLog, ProducerStateView};
use crate::types::{
    ClientId, CoordinatorEpoch, Generation, IsolationLevel, Offset, ProducerId, TimestampMs, TopicPartition,
    TransactionalId, COPIER_GROUP,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The coordinator's observable state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoordinatorView {
    /// Coordinator epoch.
    pub coordinator_epoch: CoordinatorEpoch,
    /// Every transactional id.
    pub transactions: BTreeMap<TransactionalId, TransactionView>,
}

/// One partition's observable state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionView {
    /// Every offset, data and control.
    pub log: Vec<LogEntry>,
    /// High watermark.
    pub high_watermark: Offset,
    /// Last stable offset.
    pub last_stable_offset: Offset,
    /// Aborted-transaction index.
    pub aborted_index: Vec<AbortedTxn>,
    /// Producer states.
    pub producers: BTreeMap<ProducerId, ProducerStateView>,
    /// Values a read_committed reader sees from offset 0.
    pub read_committed: Vec<String>,
    /// Values a read_uncommitted reader sees from offset 0.
    pub read_uncommitted: Vec<String>,
}

impl PartitionView {
    /// The view of one log.
    pub fn of(log: &PartitionLog) -> Self {
        let read = |isolation| -> Vec<String> {
            Consumer::read_all(log, isolation)
                .map(|records| records.into_iter().map(|r| r.record.value_text()).collect())
                .unwrap_or_default()
        };
        Self {
            log: log.entries().unwrap_or_default(),
            high_watermark: log.high_watermark(),
            last_stable_offset: log.last_stable_offset(),
            aborted_index: log.aborted_index().to_vec(),
            producers: log.producer_states(),
            read_committed: read(IsolationLevel::ReadCommitted),
            read_uncommitted: read(IsolationLevel::ReadUncommitted),
        }
    }
}

/// The copier group's observable state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupView {
    /// Generation.
    pub generation: Generation,
    /// Current member.
    pub member_id: Option<String>,
    /// Committed offsets.
    pub committed: BTreeMap<TopicPartition, Offset>,
    /// Pending transactional offsets by producer id.
    pub pending: BTreeMap<ProducerId, PendingOffsets>,
    /// The offsets partition's producer states (epochs and coordinator epochs of TxnOffsetCommit
    /// writers; shared by every group on it).
    pub producers: BTreeMap<ProducerId, ProducerStateView>,
}

/// Everything observable, in one value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterView {
    /// The clock.
    pub now_ms: TimestampMs,
    /// The coordinator.
    pub coordinator: CoordinatorView,
    /// The transaction log's records.
    pub transaction_log: Vec<TxnLogRecord>,
    /// Data partitions (topic `out`).
    pub partitions: BTreeMap<TopicPartition, PartitionView>,
    /// The copier group.
    pub group: GroupView,
    /// Clients by id.
    pub clients: BTreeMap<ClientId, ClientView>,
    /// The network.
    pub in_flight: Vec<InFlight>,
    /// Armed timers.
    pub timers: Vec<(Timer, TimestampMs)>,
}

impl Cluster {
    /// The coordinator's state (describe transactions for every id).
    pub fn coordinator_view(&self) -> CoordinatorView {
        CoordinatorView {
            coordinator_epoch: self.broker.coordinator().coordinator_epoch(),
            transactions: self.broker.describe_transactions(),
        }
    }

    /// One transactional id's state.
    pub fn describe_transaction(&self, transactional_id: &TransactionalId) -> Option<TransactionView> {
        self.broker.coordinator().describe(transactional_id)
    }

    /// The transaction log's records.
    pub fn transaction_log(&self) -> Vec<TxnLogRecord> {
        self.broker.transaction_log()
    }

    /// A partition's state (topics `out`, `in`, and `__consumer_offsets`).
    pub fn partition_view(&self, partition: &TopicPartition) -> Option<PartitionView> {
        self.broker.partition(partition).map(PartitionView::of)
    }

    /// Describe producers: a partition's producer states.
    pub fn describe_producers(&self, partition: &TopicPartition) -> Option<BTreeMap<ProducerId, ProducerStateView>> {
        self.broker.partition(partition).map(PartitionLog::producer_states)
    }

    /// The values a reader at `isolation` sees on a partition, through the consumer path.
    pub fn read(&self, partition: &TopicPartition, isolation: IsolationLevel) -> Vec<String> {
        self.broker
            .partition(partition)
            .and_then(|log| Consumer::read_all(log, isolation).ok())
            .map(|records| records.into_iter().map(|r| r.record.value_text()).collect())
            .unwrap_or_default()
    }

    /// The copier group's state.
    pub fn group_view(&self) -> GroupView {
        self.group_view_of(COPIER_GROUP)
    }

    /// The state of group `group`.
    pub fn group_view_of(&self, group: &str) -> GroupView {
        let coordinator = self.broker.group_coordinator();
        let producers = coordinator.offsets_log().producer_states();
        coordinator
            .group(group)
            .map(|state| GroupView {
                generation: state.generation,
                member_id: state.member_id.clone(),
                committed: state.committed.clone(),
                pending: state.pending.clone(),
                producers: producers.clone(),
            })
            .unwrap_or(GroupView { producers, ..GroupView::default() })
    }

    /// One client's state.
    pub fn client_view(&self, client: ClientId) -> Option<ClientView> {
        self.clients.get(client.0).map(|c| c.view())
    }

    /// Everything observable.
    pub fn view(&self) -> ClusterView {
        ClusterView {
            now_ms: self.now_ms,
            coordinator: self.coordinator_view(),
            transaction_log: self.transaction_log(),
            partitions: self
                .broker
                .partitions()
                .iter()
                .filter(|(tp, _)| tp.topic() == crate::types::OUTPUT_TOPIC)
                .map(|(tp, log)| (tp.clone(), PartitionView::of(log)))
                .collect(),
            group: self.group_view(),
            clients: self.clients.iter().map(|c| (c.id(), c.view())).collect(),
            in_flight: self.network.iter().cloned().collect(),
            timers: self.timers(),
        }
    }
}
