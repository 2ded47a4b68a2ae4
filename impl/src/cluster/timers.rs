//! Every timer of the cluster as data (specs/eos.md section 10): the clients' retry and
//! request-timeout timers and the coordinator's transaction-timeout and marker-retry timers,
//! with a deadline each. The table is derived from the components' state on demand; the driver
//! lists it and fires one timer at a time (the clock moves to its deadline if that is later).

use crate::client::{Phase, RequestId};
use crate::coordinator::CoordinatorTimer;
use crate::types::{ClientId, TimestampMs, TransactionalId};
use serde::{Deserialize, Serialize};

/// One timer.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Timer {
    /// Re-send every failed request of the client.
    ClientRetry {
        /// The client.
        client: ClientId,
    },
    /// Re-send one outstanding request of the client (a duplicate).
    RequestTimeout {
        /// The client.
        client: ClientId,
        /// The request.
        request: RequestId,
    },
    /// Abort the transaction of the id if it is Ongoing and past its timeout.
    TransactionTimeout {
        /// The transactional id.
        transactional_id: TransactionalId,
    },
    /// Re-send every failed marker of the id.
    MarkerRetry {
        /// The transactional id.
        transactional_id: TransactionalId,
    },
}

impl From<CoordinatorTimer> for Timer {
    fn from(timer: CoordinatorTimer) -> Self {
        match timer {
            CoordinatorTimer::TransactionTimeout(transactional_id) => Timer::TransactionTimeout { transactional_id },
            CoordinatorTimer::MarkerRetry(transactional_id) => Timer::MarkerRetry { transactional_id },
        }
    }
}

impl super::Cluster {
    /// Every armed timer with its deadline, in timer order.
    pub fn timers(&self) -> Vec<(Timer, TimestampMs)> {
        let mut timers = Vec::new();
        for client in &self.clients {
            if matches!(client.phase(), Phase::Crashed | Phase::FatalError) {
                continue;
            }
            let id = client.id();
            if let Some(failed_at) = client.earliest_failure() {
                timers.push((Timer::ClientRetry { client: id }, failed_at + self.config.retry_backoff_ms));
            }
            for request in client.outstanding().filter(|r| !r.failed) {
                let deadline = request.sent_at_ms + self.config.request_timeout_ms;
                timers.push((Timer::RequestTimeout { client: id, request: request.id }, deadline));
            }
        }
        timers.extend(self.broker.timers().into_iter().map(|(timer, deadline)| (Timer::from(timer), deadline)));
        timers.sort();
        timers
    }

    /// The deadline of an armed timer.
    pub fn timer_deadline(&self, timer: &Timer) -> Option<TimestampMs> {
        self.timers().into_iter().find(|(t, _)| t == timer).map(|(_, deadline)| deadline)
    }
}
