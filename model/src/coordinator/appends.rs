//! The coordinator's transaction-log append as a step of its own (`broker.coordinator_append_round_trip`,
//! specs/eos.md §4.5): a client request's transition is prepared (pending) when the request arrives,
//! its append is then in flight, and only the append's completion applies the transition and answers
//! the client (Kafka's `TransactionStateManager.appendTransactionToLog` and its callback). Off, the
//! three happen in the request's own step.

use super::{Coordinator, TxnState};
use crate::message::Request;
use crate::types::*;

/// A transaction-log append in flight: the transition the client request `request` prepared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InFlightAppend {
    /// The request whose transition is being appended (answered when the append completes).
    pub request: Request,
    /// The transactional id.
    pub txn: TxnId,
    /// The coordinator epoch the transition was prepared under. A completion under a newer one
    /// (after a failover) answers NOT_COORDINATOR and changes nothing (`appendTransactionToLog`'s
    /// callback compares the cached coordinator epoch).
    pub coordinator_epoch: i32,
    /// The first producer id the preparation reserved: Kafka allocates while preparing, so the
    /// completion hands out the same ids whatever other ids allocated meanwhile.
    pub producer_ids_from: ProducerId,
}

impl Coordinator {
    /// Prepares the transition to `target` that `request` of `txn` appends: pending until the append
    /// completes or fails; the producer ids up to `reserved_to` (exclusive) are set aside for it. An
    /// id InitProducerId meets for the first time gets its fresh metadata now, in memory only.
    pub fn prepare_append(&mut self, txn: TxnId, target: TxnState, request: Request, reserved_to: ProducerId) {
        if target == TxnState::Empty && self.record(txn).is_none() {
            self.log[usize::from(txn)] = Some(self.fresh_metadata());
        }
        let producer_ids_from = self.next_producer_id;
        self.next_producer_id = self.next_producer_id.max(reserved_to);
        self.pending_states[usize::from(txn)] = Some(target);
        let append = InFlightAppend { request, txn, coordinator_epoch: self.coordinator_epoch, producer_ids_from };
        let at = self.appends.iter().position(|a| *a > append).unwrap_or(self.appends.len());
        self.appends.insert(at, append);
    }

    /// Removes the append in flight for `request`, if there is one.
    pub fn take_append(&mut self, request: &Request) -> Option<InFlightAppend> {
        let at = self.appends.iter().position(|a| a.request == *request)?;
        Some(self.appends.remove(at))
    }

    /// Whether `append` was prepared by the current coordinator (no failover since).
    pub fn prepared_here(&self, append: &InFlightAppend) -> bool {
        append.coordinator_epoch == self.coordinator_epoch
    }
}
