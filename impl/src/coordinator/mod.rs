//! The transaction coordinator (KIP-98, KIP-360, KIP-890 parts 1 and 2): one per cluster, owning
//! every transactional id. It keeps each id's [`TransactionMetadata`] in memory and every
//! transition in the [`TransactionLog`]; it answers InitProducerId, AddPartitionsToTxn,
//! AddOffsetsToTxn and EndTxn, verifies (tv1-verified) and implicitly adds (tv2) partitions for
//! leaders, sends WriteTxnMarker requests as explicit outputs and tracks them until every one is
//! acknowledged, aborts timed-out transactions, and fails over by replaying its log under a new
//! coordinator epoch. Every transition goes through prepare, append, complete (specs/eos.md section
//! 4); the append is synchronous unless `coordinator_append_round_trip` leaves a client request's in
//! flight ([`append_window`]).

pub mod add_partitions;
pub mod append_window;
pub mod end_txn;
pub mod expiry;
pub mod init_producer_id;
pub mod markers;
pub mod metadata;
pub mod producer_id;
pub mod timers;
pub mod transaction_log;
pub mod txn_state;

pub use append_window::InFlightAppend;
pub use markers::{MarkerStatus, PendingMarkers};
pub use metadata::TransactionMetadata;
pub use producer_id::ProducerIdManager;
pub use timers::CoordinatorTimer;
pub use transaction_log::{PartitionSet, TransactionLog, TxnLogRecord};
pub use txn_state::TxnState;

use crate::config::BrokerConfig;
use crate::error::ErrorCode;
use crate::mutation::Fault;
use crate::protocol::{WriteTxnMarkerRequest, WriteTxnMarkerResponse};
use crate::storage::LogStorage;
use crate::types::{
    CoordinatorEpoch, ProducerEpoch, ProducerId, TimestampMs, TopicPartition, TransactionResult, TransactionalId,
    NO_PRODUCER_ID,
};
use markers::MarkerTemplate;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The transaction coordinator.
#[derive(Debug)]
pub struct TransactionCoordinator {
    config: BrokerConfig,
    coordinator_epoch: CoordinatorEpoch,
    transactions: BTreeMap<TransactionalId, TransactionMetadata>,
    log: TransactionLog,
    producer_ids: ProducerIdManager,
    /// The next transition's log append fails (armed by [`Self::fail_next_append`]; testing and the
    /// conformance harness's `txn_log_append_failures` fault).
    fail_next_append: bool,
    /// A client request is being handled with `coordinator_append_round_trip` on: its transition is
    /// prepared and held, not appended ([`append_window`]).
    hold_client_appends: bool,
    /// The transition the client request being handled prepared and left in flight.
    prepared: Option<TxnLogRecord>,
}

/// A transactional id as describe-transactions and specs section 11 show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionView {
    /// State.
    pub state: TxnState,
    /// A pending transition's target (never outlives a step in eos).
    pub pending_state: Option<TxnState>,
    /// Producer id.
    pub producer_id: ProducerId,
    /// Producer epoch.
    pub producer_epoch: ProducerEpoch,
    /// Last producer epoch.
    pub last_producer_epoch: ProducerEpoch,
    /// Previous producer id.
    pub previous_producer_id: ProducerId,
    /// tv2 next producer id.
    pub next_producer_id: ProducerId,
    /// The logged partition set.
    pub partitions: BTreeSet<TopicPartition>,
    /// Markers not yet acknowledged.
    pub pending_markers: BTreeSet<TopicPartition>,
    /// Of those, the ones that failed and wait for a retry.
    pub failed_markers: BTreeSet<TopicPartition>,
    /// Whether marker sending was given up (a newer owner answered).
    pub markers_abandoned: bool,
    /// Whether every marker is acknowledged but the completion failed to log (it waits for the
    /// marker-retry timer).
    pub completion_stuck: bool,
    /// Transaction timeout.
    pub transaction_timeout_ms: i32,
    /// When the transaction began (-1 if none).
    pub txn_start_timestamp: TimestampMs,
}

impl TransactionCoordinator {
    /// A coordinator at epoch 0 with an empty log on `storage`.
    pub fn new(config: BrokerConfig, storage: Box<dyn LogStorage<TxnLogRecord>>) -> Self {
        let producer_ids = ProducerIdManager::new(config.first_producer_id);
        Self {
            config,
            coordinator_epoch: 0,
            transactions: BTreeMap::new(),
            log: TransactionLog::new(storage),
            producer_ids,
            fail_next_append: false,
            hold_client_appends: false,
            prepared: None,
        }
    }

    /// Failover (KIP-98): the coordinator loses its memory; a new one at epoch + 1 replays the
    /// log (or, with fault 8, a fresh empty one from `fresh_storage`), keeps the controller's
    /// producer-id manager, and re-sends every marker of each Prepare* transaction.
    pub fn failover(
        &mut self,
        now_ms: TimestampMs,
        fresh_storage: impl FnOnce() -> Box<dyn LogStorage<TxnLogRecord>>,
    ) -> Vec<WriteTxnMarkerRequest> {
        self.coordinator_epoch = self.coordinator_epoch.checked_add(1).expect("coordinator epochs do not run out");
        // fault: LoseTransactionLogOnFailover
        if self.config.faults.has(Fault::LoseTransactionLogOnFailover) {
            self.log = TransactionLog::new(fresh_storage());
        }
        let latest = self.log.replay().unwrap_or_else(|error| {
            tracing::error!(%error, "transaction log unreadable; starting empty");
            BTreeMap::new()
        });
        // A tombstone (Dead) is the id's expiry: a replay forgets the id, as Kafka's load skips a
        // key whose last value is null.
        self.transactions = latest
            .values()
            .filter(|record| record.state != TxnState::Dead)
            .map(|record| (record.transactional_id.clone(), TransactionMetadata::from_record(record)))
            .collect();
        let prepared: Vec<TransactionalId> =
            self.transactions.iter().filter(|(_, m)| m.state.is_prepare()).map(|(id, _)| id.clone()).collect();
        let mut markers = Vec::new();
        for id in prepared {
            markers.extend(self.begin_markers(&id, now_ms));
        }
        markers
    }

    /// The settings.
    pub fn config(&self) -> &BrokerConfig {
        &self.config
    }

    /// The coordinator epoch.
    pub fn coordinator_epoch(&self) -> CoordinatorEpoch {
        self.coordinator_epoch
    }

    /// Every transactional id's metadata.
    pub fn transactions(&self) -> &BTreeMap<TransactionalId, TransactionMetadata> {
        &self.transactions
    }

    /// The metadata of one transactional id.
    pub fn metadata(&self, transactional_id: &TransactionalId) -> Option<&TransactionMetadata> {
        self.transactions.get(transactional_id)
    }

    /// The durable log's records, in order.
    pub fn log_records(&self) -> Vec<TxnLogRecord> {
        self.log.records().unwrap_or_default()
    }

    /// The latest record of each transactional id in the log: what a failover loads (tombstones
    /// included).
    pub fn durable_records(&self) -> BTreeMap<TransactionalId, TxnLogRecord> {
        self.log.replay().unwrap_or_default()
    }

    /// The id the next allocation returns.
    #[cfg(test)]
    pub fn next_producer_id(&self) -> ProducerId {
        self.producer_ids.peek()
    }

    /// Describe-transactions for one id.
    pub fn describe(&self, transactional_id: &TransactionalId) -> Option<TransactionView> {
        self.transactions.get(transactional_id).map(|m| TransactionView {
            state: m.state,
            pending_state: m.pending_state,
            producer_id: m.producer_id,
            producer_epoch: m.producer_epoch,
            last_producer_epoch: m.last_producer_epoch,
            previous_producer_id: m.previous_producer_id,
            next_producer_id: m.next_producer_id,
            partitions: (*m.partitions).clone(),
            pending_markers: m.markers.targets().keys().cloned().collect(),
            failed_markers: m
                .markers
                .targets()
                .iter()
                .filter(|(_, status)| matches!(status, MarkerStatus::Failed { .. }))
                .map(|(target, _)| target.clone())
                .collect(),
            markers_abandoned: m.markers.abandoned(),
            completion_stuck: self.completion_stuck_since(m).is_some(),
            transaction_timeout_ms: m.transaction_timeout_ms,
            txn_start_timestamp: m.txn_start_timestamp,
        })
    }

    /// Arms a failure of the next transition's log append (specs 4.5, fault
    /// `txn_log_append_failures`): like a replica manager's NOT_ENOUGH_REPLICAS, which Kafka's
    /// `appendTransactionToLog` answers COORDINATOR_NOT_AVAILABLE.
    pub fn fail_next_append(&mut self, armed: bool) {
        self.fail_next_append = armed;
    }

    /// Whether an armed append failure is still waiting for a transition.
    pub fn append_failure_armed(&self) -> bool {
        self.fail_next_append
    }

    /// Prepares, appends and completes one transition (specs 4.1). A failed append drops the
    /// pending transition (KAFKA-5351) and answers COORDINATOR_NOT_AVAILABLE.
    pub(crate) fn transition(&mut self, transit: TxnLogRecord) -> Result<(), ErrorCode> {
        self.prepare(&transit);
        self.append_prepared(transit)
    }

    /// Prepares a transition: the id's pending state is its target (checked against the table).
    fn prepare(&mut self, transit: &TxnLogRecord) {
        let Self { config, transactions, .. } = self;
        let metadata = transactions.get_mut(&transit.transactional_id).expect("transitions are of known ids");
        metadata.prepare_transition(transit, config.protocol, config.faults);
    }

    /// Appends a prepared transition and completes it, or, if the append fails, drops it.
    fn append_prepared(&mut self, transit: TxnLogRecord) -> Result<(), ErrorCode> {
        let appended = if std::mem::take(&mut self.fail_next_append) {
            Err(crate::storage::StorageError("injected append failure".to_string()))
        } else {
            let mut record = transit.clone();
            // fault: LogRecordWithoutPartitions
            if self.config.faults.has(Fault::LogRecordWithoutPartitions) && record.state == TxnState::Ongoing {
                record.partitions = transaction_log::no_partitions();
            }
            self.log.append(record)
        };
        match appended {
            Ok(_) => {
                let metadata = self.transactions.get_mut(&transit.transactional_id).expect("prepared above");
                metadata.complete_transition(transit);
                Ok(())
            }
            Err(error) => {
                tracing::warn!(%error, id = %transit.transactional_id, "transaction log append failed");
                Err(self.drop_failed_transition(&transit.transactional_id))
            }
        }
    }

    /// A prepared transition whose append failed is dropped (KAFKA-5351: Kafka's
    /// `appendTransactionToLog` callback resets `pendingState`); answered COORDINATOR_NOT_AVAILABLE.
    fn drop_failed_transition(&mut self, id: &TransactionalId) -> ErrorCode {
        // fault: AppendFailureKeepsPending (the seeded mutant of the bug KAFKA-5351 fixed)
        if self.config.fixes.kafka_5351 && !self.config.faults.has(Fault::AppendFailureKeepsPending) {
            if let Some(metadata) = self.transactions.get_mut(id) {
                metadata.abort_transition();
            }
        }
        ErrorCode::CoordinatorNotAvailable
    }

    fn marker_template(&self, metadata: &TransactionMetadata) -> MarkerTemplate {
        let result = match metadata.state {
            TxnState::PrepareCommit => TransactionResult::Commit,
            TxnState::PrepareAbort => TransactionResult::Abort,
            other => unreachable!("markers belong to a Prepare* transaction, not {other:?}"),
        };
        MarkerTemplate {
            transactional_id: metadata.transactional_id.clone(),
            producer_id: metadata.producer_id,
            producer_epoch: metadata.producer_epoch,
            result,
            coordinator_epoch: self.coordinator_epoch,
            transaction_version: self.config.protocol.transaction_version(),
        }
    }

    /// After a Prepare* is durable: a marker to every partition (or, with none, completion now).
    pub(crate) fn begin_markers(
        &mut self,
        transactional_id: &TransactionalId,
        now_ms: TimestampMs,
    ) -> Vec<WriteTxnMarkerRequest> {
        let metadata = self.transactions.get_mut(transactional_id).expect("markers of a known id");
        assert!(metadata.state.is_prepare(), "markers are sent for Prepare* only");
        if metadata.partitions.is_empty() {
            metadata.markers = PendingMarkers::default();
            self.complete_transaction(transactional_id, now_ms);
            return Vec::new();
        }
        metadata.markers = PendingMarkers::start(metadata.partitions.iter().cloned(), now_ms);
        let template = self.marker_template(&self.transactions[transactional_id]);
        let metadata = &self.transactions[transactional_id];
        metadata.partitions.iter().map(|target| template.to(target.clone())).collect()
    }

    /// Every marker acknowledged: log CompleteCommit / CompleteAbort (tv2: rotate the producer id
    /// if the epoch ran out).
    fn complete_transaction(&mut self, transactional_id: &TransactionalId, now_ms: TimestampMs) {
        let metadata = &self.transactions[transactional_id];
        let state =
            if metadata.state == TxnState::PrepareCommit { TxnState::CompleteCommit } else { TxnState::CompleteAbort };
        let mut transit = metadata.transit_without_partitions(state, now_ms);
        if metadata.next_producer_id != NO_PRODUCER_ID {
            transit.previous_producer_id = metadata.producer_id;
            transit.producer_id = metadata.next_producer_id;
            transit.next_producer_id = NO_PRODUCER_ID;
            // The last epoch stays the one before the end's bump, the last the client saw (Kafka's
            // `TransactionMetadata.prepareComplete`).
            transit.producer_epoch = 0;
        }
        if self.transition(transit).is_err() {
            tracing::warn!(id = %transactional_id, "completion not logged; the marker-retry timer tries again");
            let metadata = self.transactions.get_mut(transactional_id).expect("completed above");
            metadata.markers.fail_completion(now_ms);
        }
    }

    /// When the completion of a Prepare* whose markers are all acknowledged failed to log, if it did
    /// (without KAFKA-5351's fix the failed transition stays pending and is never retried).
    pub(crate) fn completion_stuck_since(&self, metadata: &TransactionMetadata) -> Option<TimestampMs> {
        let stuck = metadata.state.is_prepare() && metadata.pending_state.is_none();
        metadata.markers.completion_failed_since().filter(|_| stuck)
    }

    /// Whether a marker (or its answer) belongs to the current Prepare* transaction.
    fn marker_is_current(
        &self,
        id: &TransactionalId,
        pid: ProducerId,
        epoch: ProducerEpoch,
        commit: bool,
        coordinator_epoch: CoordinatorEpoch,
    ) -> bool {
        let current_result = |state| match state {
            TxnState::PrepareCommit => Some(true),
            TxnState::PrepareAbort => Some(false),
            _ => None,
        };
        self.transactions.get(id).is_some_and(|metadata| {
            current_result(metadata.state) == Some(commit)
                && metadata.producer_id == pid
                && metadata.producer_epoch == epoch
                && self.coordinator_epoch == coordinator_epoch
        })
    }

    /// A leader answered a marker (specs 4.5).
    pub fn handle_marker_response(&mut self, now_ms: TimestampMs, response: &WriteTxnMarkerResponse) {
        let id = &response.transactional_id;
        if response.coordinator_epoch != self.coordinator_epoch
            || !self.marker_is_current(
                id,
                response.producer_id,
                response.producer_epoch,
                response.commit,
                response.coordinator_epoch,
            )
        {
            return; // From an older coordinator or for a transaction that is no longer pending.
        }
        let metadata = self.transactions.get_mut(id).expect("checked above");
        if !metadata.markers.contains(&response.target) {
            return; // A duplicate answer.
        }
        match response.error {
            ErrorCode::None => {
                metadata.markers.acknowledge(&response.target);
                if metadata.markers.is_empty() {
                    self.complete_transaction(id, now_ms);
                }
            }
            ErrorCode::InvalidProducerEpoch | ErrorCode::TransactionCoordinatorFenced => metadata.markers.abandon(),
            _ => {
                metadata.markers.fail(&response.target, now_ms);
            }
        }
    }

    /// A marker or its answer was lost: mark it failed (it waits for the marker-retry timer).
    pub fn marker_lost(&mut self, now_ms: TimestampMs, marker: &WriteTxnMarkerRequest) {
        let current = marker.coordinator_epoch == self.coordinator_epoch
            && self.marker_is_current(
                &marker.transactional_id,
                marker.producer_id,
                marker.producer_epoch,
                marker.commit,
                marker.coordinator_epoch,
            );
        if current {
            let metadata = self.transactions.get_mut(&marker.transactional_id).expect("checked above");
            metadata.markers.fail(&marker.target, now_ms);
        }
    }

    /// The marker-retry timer fired: re-send every failed marker of the id.
    pub fn retry_markers(
        &mut self,
        now_ms: TimestampMs,
        transactional_id: &TransactionalId,
    ) -> Vec<WriteTxnMarkerRequest> {
        // fault: SkipMarkerRetries
        if self.config.faults.has(Fault::SkipMarkerRetries) {
            return Vec::new();
        }
        let Some(metadata) = self.transactions.get(transactional_id) else {
            return Vec::new();
        };
        if self.completion_stuck_since(metadata).is_some() {
            let metadata = self.transactions.get_mut(transactional_id).expect("checked above");
            metadata.markers = PendingMarkers::default();
            self.complete_transaction(transactional_id, now_ms);
            return Vec::new();
        }
        if !metadata.state.is_prepare() {
            return Vec::new();
        }
        let template = self.marker_template(metadata);
        let metadata = self.transactions.get_mut(transactional_id).expect("checked above");
        metadata.markers.take_failed(now_ms).into_iter().map(|target| template.to(target)).collect()
    }

    /// The marker-request timeout of one target: the marker, still in flight, is sent again (the
    /// original may reach the leader too).
    pub fn resend_marker(
        &mut self,
        now_ms: TimestampMs,
        transactional_id: &TransactionalId,
        target: &TopicPartition,
    ) -> Option<WriteTxnMarkerRequest> {
        let metadata = self.transactions.get(transactional_id)?;
        if !metadata.state.is_prepare() || metadata.markers.in_flight_since(target).is_none() {
            return None;
        }
        let template = self.marker_template(metadata);
        let metadata = self.transactions.get_mut(transactional_id).expect("checked above");
        metadata.markers.resend(target, now_ms);
        Some(template.to(target.clone()))
    }

    /// Allocates a producer id.
    pub(crate) fn generate_producer_id(&mut self) -> ProducerId {
        self.producer_ids.generate()
    }
}

#[cfg(test)]
mod tests;
