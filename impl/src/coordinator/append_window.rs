//! The transaction-log append of a client request's transition as a step of its own
//! (`coordinator_append_round_trip`, specs/eos.md §4.5): the request prepares its transition (the
//! id's pending state is its target) and the append is in flight; its completion applies the
//! transition and the answer goes out, or, if the coordinator failed over meanwhile, nothing is
//! applied and the client is answered NOT_COORDINATOR (Kafka's
//! `TransactionStateManager.appendTransactionToLog` and its `updateCacheCallback`). The
//! coordinator's own transitions (a fence's abort, a timeout, a completion after the markers) and
//! tv2's implicit add stay synchronous.

use super::transaction_log::TxnLogRecord;
use super::TransactionCoordinator;
use crate::error::ErrorCode;
use crate::mutation::Fault;
use crate::protocol::WriteTxnMarkerRequest;
use crate::types::{CoordinatorEpoch, TimestampMs};

/// A transaction-log append in flight: the transition a client request prepared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InFlightAppend {
    /// The prepared transition (Kafka's `TxnTransitMetadata`), the record being appended.
    pub transit: TxnLogRecord,
    /// The coordinator epoch it was prepared under (Kafka's callback compares the cached one).
    pub coordinator_epoch: CoordinatorEpoch,
}

/// Whether a client transition was appended in its request's step or is in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Appended {
    /// Durable and applied.
    Now,
    /// Prepared; the append is in flight (the request is answered at its completion).
    InFlight,
}

impl TransactionCoordinator {
    /// While a client request is handled with `coordinator_append_round_trip` on: its transition is
    /// prepared and held instead of appended.
    pub(crate) fn hold_client_appends(&mut self, hold: bool) {
        self.hold_client_appends = hold;
    }

    /// The transition the client request just handled prepared and left in flight, if any.
    pub(crate) fn take_prepared(&mut self) -> Option<InFlightAppend> {
        let transit = self.prepared.take()?;
        Some(InFlightAppend { transit, coordinator_epoch: self.coordinator_epoch })
    }

    /// A transition a client request asked for: appended now, or (holding) prepared and left in flight.
    pub(crate) fn client_transition(&mut self, transit: TxnLogRecord) -> Result<Appended, ErrorCode> {
        if !self.hold_client_appends {
            return self.transition(transit).map(|()| Appended::Now);
        }
        assert!(self.prepared.is_none(), "one transition per client request");
        self.prepare(&transit);
        self.prepared = Some(transit);
        Ok(Appended::InFlight)
    }

    /// The append of `append` completes (Kafka's `updateCacheCallback` with no error): under the
    /// coordinator epoch it was prepared in, the record is durable and the transition applied, and
    /// a Prepare* sends its markers; after a failover nothing changes and the answer is
    /// NOT_COORDINATOR. An armed append failure ([`Self::fail_next_append`]) fails it instead.
    pub fn complete_append(
        &mut self,
        now_ms: TimestampMs,
        append: InFlightAppend,
    ) -> Result<Vec<WriteTxnMarkerRequest>, ErrorCode> {
        let id = append.transit.transactional_id.clone();
        if append.coordinator_epoch != self.coordinator_epoch {
            // fault: CompletionIgnoresCoordinatorEpoch
            if !self.config.faults.has(Fault::CompletionIgnoresCoordinatorEpoch) {
                return Err(ErrorCode::NotCoordinator);
            }
            // The stale transition lands on the new coordinator as if it had prepared it.
            let metadata = super::TransactionMetadata::from_record(&append.transit);
            self.transactions.insert(id.clone(), metadata);
            self.transactions.get_mut(&id).expect("just inserted").pending_state = Some(append.transit.state);
        }
        self.append_prepared(append.transit)?;
        if self.transactions[&id].state.is_prepare() {
            return Ok(self.begin_markers(&id, now_ms));
        }
        Ok(Vec::new())
    }

    /// `appends_durable_at_failover`, as the coordinator fails over: the append of `append` had
    /// become durable (its record is in the log, which the failover's replay loads) while its
    /// callback is still to come, and will meet the new coordinator epoch. An append a failover
    /// already overtook did not land.
    pub fn land_append(&mut self, append: &InFlightAppend) {
        if append.coordinator_epoch < self.coordinator_epoch {
            return; // overtaken by an earlier failover
        }
        if let Err(error) = self.log.append(append.transit.clone()) {
            tracing::warn!(%error, id = %append.transit.transactional_id, "the landing append failed");
        }
    }

    /// The append of `append` fails (Kafka's `updateCacheCallback` with an error): under the
    /// coordinator epoch it was prepared in, the pending transition is dropped (KAFKA-5351); after a
    /// failover the new coordinator's metadata is left alone. Either way COORDINATOR_NOT_AVAILABLE.
    pub fn fail_append(&mut self, append: InFlightAppend) -> ErrorCode {
        if append.coordinator_epoch == self.coordinator_epoch {
            self.drop_failed_transition(&append.transit.transactional_id)
        } else {
            ErrorCode::CoordinatorNotAvailable
        }
    }
}
