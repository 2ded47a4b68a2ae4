//! The client's timers as data (Java's `Sender` and `NetworkClient`): a retry timer armed while a
//! request is failed, due `retry.backoff.ms` after the earliest failure, and one request-timeout
//! timer per request in flight, due `request.timeout.ms` after it was last sent (specs/eos.md §10,
//! "time"), and, for a client that expires batches, one delivery-timeout timer per outstanding
//! Produce, due `delivery.timeout.ms` after the batch was made. The table is derived from the outstanding requests on demand, so it cannot disagree
//! with them; a crashed or fatally failed client has none.

use super::transaction_manager::TransactionManager;
use super::{Phase, RequestId};
use crate::mutation::Fault;
use crate::protocol::Message;
use crate::types::TimestampMs;
use serde::{Deserialize, Serialize};

/// Java's default `retry.backoff.ms`.
pub const DEFAULT_RETRY_BACKOFF_MS: i64 = 100;
/// Java's default `request.timeout.ms`.
pub const DEFAULT_REQUEST_TIMEOUT_MS: i64 = 30_000;
/// Java's default `delivery.timeout.ms`.
pub const DEFAULT_DELIVERY_TIMEOUT_MS: i64 = 120_000;

/// One timer of a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ClientTimer {
    /// Re-send every failed request.
    Retry,
    /// Re-send this request while it may still be in flight (a duplicate).
    RequestTimeout(RequestId),
    /// Give this outstanding Produce up ([`TransactionManager::expire_batch`]).
    DeliveryTimeout(RequestId),
}

impl TransactionManager {
    /// Every armed timer with its deadline: the retry timer first, then the request timeouts in
    /// request order, then the delivery timeouts in request order.
    pub fn timers(&self) -> Vec<(ClientTimer, TimestampMs)> {
        if matches!(self.phase, Phase::Crashed | Phase::FatalError) {
            return Vec::new();
        }
        let backoff = self.config.retry_backoff_ms.unwrap_or(DEFAULT_RETRY_BACKOFF_MS);
        let request_timeout = self.config.request_timeout_ms.unwrap_or(DEFAULT_REQUEST_TIMEOUT_MS);
        let mut timers = Vec::new();
        // fault: ClientRetryBackoffFromSend
        let failed_base = if self.faults.has(Fault::ClientRetryBackoffFromSend) {
            self.outstanding.iter().filter(|r| r.failed).map(|r| r.sent_at_ms).min()
        } else {
            self.earliest_failure()
        };
        if let Some(base) = failed_base {
            timers.push((ClientTimer::Retry, base + backoff));
        }
        for request in self.outstanding.iter().filter(|r| !r.failed) {
            timers.push((ClientTimer::RequestTimeout(request.id), request.sent_at_ms + request_timeout));
        }
        if self.config.expires_batches {
            let delivery_timeout = self.config.delivery_timeout_ms.unwrap_or(DEFAULT_DELIVERY_TIMEOUT_MS);
            for request in self.outstanding.iter().filter(|r| matches!(r.message, Message::Produce(_))) {
                // fault: DeliveryTimeoutFromLastSend
                let made = if self.faults.has(Fault::DeliveryTimeoutFromLastSend) {
                    request.sent_at_ms
                } else {
                    request.created_at_ms
                };
                timers.push((ClientTimer::DeliveryTimeout(request.id), made + delivery_timeout));
            }
        }
        timers
    }
}
