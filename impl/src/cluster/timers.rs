//! Every timer of the cluster as data (specs/eos.md section 10): the clients' retry,
//! request-timeout and delivery-timeout timers and the coordinator's transaction-timeout and marker-retry timers,
//! with a deadline each. The table is gathered from the components (each derives its own from
//! its state); the driver lists it and fires one timer at a time, either when it is due on the
//! cluster's clock ([`super::Cluster::fire_due`]) or after moving the clock to its deadline
//! ([`super::Cluster::fire`]).

use crate::client::{ClientTimer, RequestId};
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
    /// The client's delivery timeout gives up one outstanding Produce.
    DeliveryTimeout {
        /// The client.
        client: ClientId,
        /// The Produce.
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
    /// The id's marker request to `target` timed out while in flight: send the marker again.
    MarkerRequestTimeout {
        /// The transactional id.
        transactional_id: TransactionalId,
        /// The partition the marker goes to.
        target: crate::types::TopicPartition,
    },
}

impl From<CoordinatorTimer> for Timer {
    fn from(timer: CoordinatorTimer) -> Self {
        match timer {
            CoordinatorTimer::TransactionTimeout(transactional_id) => Timer::TransactionTimeout { transactional_id },
            CoordinatorTimer::MarkerRetry(transactional_id) => Timer::MarkerRetry { transactional_id },
            CoordinatorTimer::MarkerRequestTimeout(transactional_id, target) => {
                Timer::MarkerRequestTimeout { transactional_id, target }
            }
        }
    }
}

impl super::Cluster {
    /// Every armed timer with its deadline, in timer order.
    pub fn timers(&self) -> Vec<(Timer, TimestampMs)> {
        let mut timers = Vec::new();
        for client in &self.clients {
            let id = client.id();
            timers.extend(client.timers().into_iter().map(|(timer, deadline)| match timer {
                ClientTimer::Retry => (Timer::ClientRetry { client: id }, deadline),
                ClientTimer::RequestTimeout(request) => (Timer::RequestTimeout { client: id, request }, deadline),
                ClientTimer::DeliveryTimeout(request) => (Timer::DeliveryTimeout { client: id, request }, deadline),
            }));
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
