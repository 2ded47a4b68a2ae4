//! Transaction markers still to be acknowledged (Kafka's `TransactionMarkerChannelManager` and
//! its completion handler, KIP-98): per Prepare* transaction, each target partition is in flight
//! or failed (its request or response was lost, or the leader answered a retriable error) and
//! waiting for the marker-retry timer. Markers are explicit outgoing messages; nothing is sent
//! behind the caller's back.

use crate::protocol::WriteTxnMarkerRequest;
use crate::types::{CoordinatorEpoch, TimestampMs, TopicPartition, TransactionResult};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where one marker stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MarkerStatus {
    /// Sent at this time; no answer yet.
    InFlight {
        /// When it was (last) sent.
        since_ms: TimestampMs,
    },
    /// Lost or answered with a retriable error at this time; re-sent by the marker-retry timer.
    Failed {
        /// When it failed.
        since_ms: TimestampMs,
    },
}

/// The unacknowledged markers of one transactional id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingMarkers {
    targets: BTreeMap<TopicPartition, MarkerStatus>,
    /// Set when a leader answered INVALID_PRODUCER_EPOCH / TRANSACTION_COORDINATOR_FENCED: someone
    /// newer owns the transaction, so this coordinator stops sending its markers (as Kafka does).
    abandoned: bool,
    /// Every marker acknowledged but the completion's log append failed at this time: the
    /// marker-retry timer logs it again (Kafka's `TransactionMarkerChannelManager.tryAppendToLog`).
    completion_failed_since: Option<TimestampMs>,
}

impl PendingMarkers {
    /// Starts markers to every target, all in flight since `now_ms`.
    pub fn start(targets: impl IntoIterator<Item = TopicPartition>, now_ms: TimestampMs) -> Self {
        let in_flight = MarkerStatus::InFlight { since_ms: now_ms };
        Self {
            targets: targets.into_iter().map(|target| (target, in_flight)).collect(),
            abandoned: false,
            completion_failed_since: None,
        }
    }

    /// Whether no marker is waiting.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Every target still unacknowledged with its status.
    pub fn targets(&self) -> &BTreeMap<TopicPartition, MarkerStatus> {
        &self.targets
    }

    /// Whether `target` is unacknowledged.
    pub fn contains(&self, target: &TopicPartition) -> bool {
        self.targets.contains_key(target)
    }

    /// Whether sending was given up.
    pub fn abandoned(&self) -> bool {
        self.abandoned
    }

    /// `target` acknowledged.
    pub fn acknowledge(&mut self, target: &TopicPartition) -> bool {
        self.targets.remove(target).is_some()
    }

    /// `target` failed at `now` (if still in flight).
    pub fn fail(&mut self, target: &TopicPartition, now_ms: TimestampMs) -> bool {
        match self.targets.get_mut(target) {
            Some(status @ MarkerStatus::InFlight { .. }) => {
                *status = MarkerStatus::Failed { since_ms: now_ms };
                true
            }
            _ => false,
        }
    }

    /// Stops sending: forget every target.
    pub fn abandon(&mut self) {
        self.targets.clear();
        self.abandoned = true;
    }

    /// The completion's log append failed at `now_ms` (every marker is acknowledged).
    pub fn fail_completion(&mut self, now_ms: TimestampMs) {
        self.completion_failed_since = Some(now_ms);
    }

    /// When the completion's log append failed, if it did and was not logged since.
    pub fn completion_failed_since(&self) -> Option<TimestampMs> {
        self.completion_failed_since
    }

    /// The earliest failure time, if any marker failed.
    pub fn earliest_failure(&self) -> Option<TimestampMs> {
        self.targets
            .values()
            .filter_map(|status| match status {
                MarkerStatus::Failed { since_ms } => Some(*since_ms),
                MarkerStatus::InFlight { .. } => None,
            })
            .min()
    }

    /// `target` is in flight: its request times out at `since + timeout` (when it was sent).
    pub fn in_flight_since(&self, target: &TopicPartition) -> Option<TimestampMs> {
        match self.targets.get(target) {
            Some(MarkerStatus::InFlight { since_ms }) => Some(*since_ms),
            _ => None,
        }
    }

    /// Sends `target`'s marker again while the original is in flight (its request timed out).
    pub fn resend(&mut self, target: &TopicPartition, now_ms: TimestampMs) -> bool {
        match self.targets.get_mut(target) {
            Some(MarkerStatus::InFlight { since_ms }) => {
                *since_ms = now_ms;
                true
            }
            _ => false,
        }
    }

    /// Marks every failed target in flight again (since `now_ms`) and returns them.
    pub fn take_failed(&mut self, now_ms: TimestampMs) -> Vec<TopicPartition> {
        let mut retried = Vec::new();
        for (target, status) in &mut self.targets {
            if matches!(status, MarkerStatus::Failed { .. }) {
                *status = MarkerStatus::InFlight { since_ms: now_ms };
                retried.push(target.clone());
            }
        }
        retried
    }
}

/// The fields every marker of one transaction shares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarkerTemplate {
    /// The transactional id.
    pub transactional_id: crate::types::TransactionalId,
    /// Producer id.
    pub producer_id: crate::types::ProducerId,
    /// Producer epoch (after any bump).
    pub producer_epoch: crate::types::ProducerEpoch,
    /// COMMIT or ABORT.
    pub result: TransactionResult,
    /// The coordinator's epoch.
    pub coordinator_epoch: CoordinatorEpoch,
    /// The transaction version (KIP-1228).
    pub transaction_version: i16,
}

impl MarkerTemplate {
    /// The marker for one target.
    pub fn to(&self, target: TopicPartition) -> WriteTxnMarkerRequest {
        WriteTxnMarkerRequest {
            target,
            transactional_id: self.transactional_id.clone(),
            producer_id: self.producer_id,
            producer_epoch: self.producer_epoch,
            commit: self.result.is_commit(),
            coordinator_epoch: self.coordinator_epoch,
            transaction_version: self.transaction_version,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_markers_wait_for_the_retry_and_acks_remove_them() {
        // Proves the bookkeeping: fail only in-flight targets, retry returns exactly the failed ones.
        let a = TopicPartition::output(0);
        let b = TopicPartition::output(1);
        let mut markers = PendingMarkers::start([a.clone(), b.clone()], 0);
        assert!(markers.fail(&a, 7));
        assert!(!markers.fail(&a, 9), "already failed");
        assert_eq!(markers.earliest_failure(), Some(7));
        assert_eq!(markers.take_failed(8), vec![a.clone()]);
        assert_eq!(markers.in_flight_since(&a), Some(8));
        assert!(markers.resend(&a, 9) && !markers.resend(&TopicPartition::output(7), 9));
        assert_eq!(markers.earliest_failure(), None);
        assert!(markers.acknowledge(&a));
        assert!(!markers.acknowledge(&a));
        assert!(markers.acknowledge(&b));
        assert!(markers.is_empty());
    }
}
