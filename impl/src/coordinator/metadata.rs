//! A transactional id's metadata at the coordinator (Kafka's `TransactionMetadata`, KIP-98 /
//! KIP-360 / KIP-890): producer id and epoch (with the previous id and last epoch a KIP-360 retry
//! may present), state, partitions, timeout, and the in-memory pending transition and markers.
//! Every transition is prepared (pending, checked against the valid-previous-states table),
//! made durable by the caller, then completed with its conditions re-checked.

use super::markers::PendingMarkers;
use super::transaction_log::{no_partitions, PartitionSet, TxnLogRecord};
use super::txn_state::TxnState;
use crate::config::ProtocolMode;
use crate::mutation::Faults;
use crate::types::{ProducerEpoch, ProducerId, TimestampMs, TransactionalId, NO_PRODUCER_EPOCH, NO_PRODUCER_ID};

/// The coordinator's view of one transactional id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionMetadata {
    /// The key.
    pub transactional_id: TransactionalId,
    /// Current producer id.
    pub producer_id: ProducerId,
    /// The producer id before the last rotation (-1 if none).
    pub previous_producer_id: ProducerId,
    /// tv2: the id to rotate to when the current transaction completes (-1 if none).
    pub next_producer_id: ProducerId,
    /// Current producer epoch (-1 before the first InitProducerId completes).
    pub producer_epoch: ProducerEpoch,
    /// The epoch before the last bump (-1 if a retry may not present one).
    pub last_producer_epoch: ProducerEpoch,
    /// Current state.
    pub state: TxnState,
    /// The state a prepared transition is moving to.
    pub pending_state: Option<TxnState>,
    /// The transaction's partitions (logged).
    pub partitions: PartitionSet,
    /// Transaction timeout.
    pub transaction_timeout_ms: i32,
    /// When the ongoing transaction began (-1 if none).
    pub txn_start_timestamp: TimestampMs,
    /// Last transition time.
    pub txn_last_update_timestamp: TimestampMs,
    /// A fence's log append failed: the epoch was bumped in memory only, so the next fence does
    /// not bump again (Kafka's `hasFailedEpochFence`).
    pub has_failed_epoch_fence: bool,
    /// Markers of the Prepare* transaction not yet acknowledged (memory only).
    pub markers: PendingMarkers,
}

impl TransactionMetadata {
    /// Fresh metadata for a new transactional id: a producer id, no epoch yet, Empty (memory
    /// only until the InitProducerId transition is logged).
    pub fn new(
        transactional_id: TransactionalId,
        producer_id: ProducerId,
        timeout_ms: i32,
        now_ms: TimestampMs,
    ) -> Self {
        Self {
            transactional_id,
            producer_id,
            previous_producer_id: NO_PRODUCER_ID,
            next_producer_id: NO_PRODUCER_ID,
            producer_epoch: NO_PRODUCER_EPOCH,
            last_producer_epoch: NO_PRODUCER_EPOCH,
            state: TxnState::Empty,
            pending_state: None,
            partitions: no_partitions(),
            transaction_timeout_ms: timeout_ms,
            txn_start_timestamp: -1,
            txn_last_update_timestamp: now_ms,
            has_failed_epoch_fence: false,
            markers: PendingMarkers::default(),
        }
    }

    /// Metadata rebuilt from its last log record (recovery).
    pub fn from_record(record: &TxnLogRecord) -> Self {
        Self {
            transactional_id: record.transactional_id.clone(),
            producer_id: record.producer_id,
            previous_producer_id: record.previous_producer_id,
            next_producer_id: record.next_producer_id,
            producer_epoch: record.producer_epoch,
            last_producer_epoch: record.last_producer_epoch,
            state: record.state,
            pending_state: None,
            partitions: record.partitions.clone(),
            transaction_timeout_ms: record.transaction_timeout_ms,
            txn_start_timestamp: record.txn_start_timestamp,
            txn_last_update_timestamp: record.txn_last_update_timestamp,
            has_failed_epoch_fence: false,
            markers: PendingMarkers::default(),
        }
    }

    /// A transit record that starts as a copy of the current metadata, moving to `state`.
    pub fn transit(&self, state: TxnState, now_ms: TimestampMs) -> TxnLogRecord {
        let mut transit = self.transit_without_partitions(state, now_ms);
        transit.partitions = self.partitions.clone();
        transit
    }

    /// A transit record like [`Self::transit`] with an empty partition set (no copy made).
    pub fn transit_without_partitions(&self, state: TxnState, now_ms: TimestampMs) -> TxnLogRecord {
        TxnLogRecord {
            transactional_id: self.transactional_id.clone(),
            producer_id: self.producer_id,
            previous_producer_id: self.previous_producer_id,
            next_producer_id: self.next_producer_id,
            producer_epoch: self.producer_epoch,
            last_producer_epoch: self.last_producer_epoch,
            state,
            partitions: no_partitions(),
            transaction_timeout_ms: self.transaction_timeout_ms,
            txn_start_timestamp: self.txn_start_timestamp,
            txn_last_update_timestamp: now_ms,
        }
    }

    /// Whether a transition is pending. As in Kafka, a Prepare* transaction counts: while it sends its
    /// markers, its Complete* transition is pending (`TransactionMarkerChannelManager`
    /// `addTxnMarkersToSend` prepares it), so requests meanwhile get CONCURRENT_TRANSACTIONS.
    pub fn pending_transition_in_progress(&self) -> bool {
        self.pending_state.is_some() || self.state.is_prepare()
    }

    /// Prepares a transition: checks the table and marks it pending. The caller has ruled out
    /// every invalid request, so an invalid transition here is a programming error.
    pub fn prepare_transition(&mut self, transit: &TxnLogRecord, protocol: ProtocolMode, faults: Faults) {
        assert!(self.pending_state.is_none(), "{}: a transition is already pending", self.transactional_id);
        assert!(
            transit.state.may_follow(self.state, protocol, faults),
            "valid_coordinator_transitions: {:?} -> {:?} is not in the table",
            self.state,
            transit.state
        );
        assert!(transit.producer_id >= 0 && transit.producer_epoch >= 0, "a transition has a producer id and epoch");
        self.pending_state = Some(transit.state);
    }

    /// Drops a prepared transition whose append failed.
    pub fn abort_transition(&mut self) {
        assert!(self.pending_state.is_some(), "aborting a transition that is not pending");
        self.pending_state = None;
    }

    /// Completes a prepared transition after its record is durable.
    pub fn complete_transition(&mut self, transit: TxnLogRecord) {
        assert_eq!(self.pending_state, Some(transit.state), "completing the transition that was prepared");
        assert!(
            (transit.producer_id, transit.producer_epoch) >= (self.producer_id, self.producer_epoch)
                || transit.producer_id > self.producer_id,
            "epoch_monotonic: ({}, {}) -> ({}, {})",
            self.producer_id,
            self.producer_epoch,
            transit.producer_id,
            transit.producer_epoch
        );
        if transit.state == TxnState::Ongoing {
            assert!(self.partitions.is_subset(&transit.partitions), "adding partitions never removes one");
        }
        self.producer_id = transit.producer_id;
        self.previous_producer_id = transit.previous_producer_id;
        self.next_producer_id = transit.next_producer_id;
        self.producer_epoch = transit.producer_epoch;
        self.last_producer_epoch = transit.last_producer_epoch;
        self.partitions = transit.partitions;
        self.transaction_timeout_ms = transit.transaction_timeout_ms;
        self.txn_start_timestamp = transit.txn_start_timestamp;
        self.txn_last_update_timestamp = transit.txn_last_update_timestamp;
        self.state = transit.state;
        self.pending_state = None;
        if !transit.state.is_prepare() {
            self.markers = PendingMarkers::default();
        }
    }
}
