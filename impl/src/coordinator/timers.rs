//! The coordinator's timers as data (KIP-98): a transaction timeout per Ongoing transaction
//! (Kafka's periodic `abortTimedOutTransactions`, here one timer per transactional id) and a
//! marker retry per transaction with failed markers. The deadline table is derived from the
//! metadata on demand, so it can never disagree with it.

use super::txn_state::TxnState;
use super::TransactionCoordinator;
use crate::mutation::Fault;
use crate::types::{TimestampMs, TopicPartition, TransactionalId};
use serde::{Deserialize, Serialize};

/// A coordinator timer.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CoordinatorTimer {
    /// Abort the Ongoing transaction of this id once it is older than its timeout.
    TransactionTimeout(TransactionalId),
    /// Re-send the failed markers of this id.
    MarkerRetry(TransactionalId),
    /// The request of this id's marker to this partition timed out: send it again.
    MarkerRequestTimeout(TransactionalId, TopicPartition),
}

impl TransactionCoordinator {
    /// Every armed timer with its deadline, in a deterministic order.
    pub fn timers(&self) -> Vec<(CoordinatorTimer, TimestampMs)> {
        let mut timers = Vec::new();
        for (id, metadata) in self.transactions() {
            // Armed while Ongoing; a firing while a transition is pending (a failed append left it,
            // without KAFKA-5351's fix) does nothing, as Kafka's `timedOutTransactions` skips it.
            if metadata.state == TxnState::Ongoing {
                let deadline = metadata.txn_start_timestamp + i64::from(metadata.transaction_timeout_ms);
                timers.push((CoordinatorTimer::TransactionTimeout(id.clone()), deadline));
            }
            if let Some(since) = metadata.markers.earliest_failure() {
                // fault: MarkerRetryWithoutBackoff
                let backoff = if self.config().faults.has(Fault::MarkerRetryWithoutBackoff) {
                    0
                } else {
                    self.config().marker_retry_backoff_ms
                };
                timers.push((CoordinatorTimer::MarkerRetry(id.clone()), since + backoff));
            } else if let Some(since) = self.completion_stuck_since(metadata) {
                // Due at once: Kafka's marker sender retries queued completions at the start of its
                // next round (`TransactionMarkerChannelManager.retryLogAppends`), with no backoff.
                timers.push((CoordinatorTimer::MarkerRetry(id.clone()), since));
            }
            if metadata.state.is_prepare() {
                for target in metadata.markers.targets().keys() {
                    if let Some(since) = metadata.markers.in_flight_since(target) {
                        let timer = CoordinatorTimer::MarkerRequestTimeout(id.clone(), target.clone());
                        timers.push((timer, since + self.config().marker_request_timeout_ms));
                    }
                }
            }
        }
        timers
    }
}
