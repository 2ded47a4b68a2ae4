//! The coordinator's transaction-log append as a step of its own (`broker.coordinator_append_round_trip`,
//! specs/eos.md §4.5): a client request's transition is prepared (pending) when the request arrives,
//! its append is then in flight, and only the append's completion applies the transition and answers
//! the client (Kafka's `TransactionStateManager.appendTransactionToLog` and its callback). Off, the
//! three happen in the request's own step.

use super::{Coordinator, Effects, TxnRecord, TxnState};
use crate::config::Config;
use crate::history::History;
use crate::message::{Request, RequestBody};
use crate::types::*;

/// The transition a client request prepares, before anything is appended: Kafka's `prepare*`
/// methods build the new metadata (`TxnTransitMetadata`) from the cached metadata, allocating the
/// producer ids it needs (`ProducerIdManager.generateProducerId`), and only then append it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PreparedTransition {
    /// The transactional id.
    pub txn: TxnId,
    /// The transition's target state (the id's pending state while it is appended).
    pub target: TxnState,
    /// The metadata the transition is prepared from: the id's record or, for an id InitProducerId
    /// meets for the first time, its fresh metadata (its producer id allocated; in memory only).
    pub metadata: TxnRecord,
    /// The first producer id the transition itself allocates (a rotation's, tv2's next one).
    pub producer_ids_from: ProducerId,
    /// The next producer id once the transition's allocations are taken.
    pub producer_ids_to: ProducerId,
}

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
    /// What the client request `request` prepares, if it prepares a transition it appends to the
    /// transaction log (specs/eos.md §4.5). Learnt by handling the request on a copy of the
    /// coordinator alone (a few records; the handlers read nothing else and their ghost effects are
    /// dropped): the record changes beyond its ghost members. A fence (InitProducerId meeting an
    /// Ongoing transaction) is left out: its failed append is Kafka's `hasFailedEpochFence` path, not
    /// modelled, and its abort is the coordinator's own transition.
    pub fn prepared_transition(&self, request: &Request, config: &Config) -> Option<PreparedTransition> {
        let (txn, target) = appended_transition(request)?;
        if target == TxnState::Empty && self.record(txn).is_some_and(|r| r.state == TxnState::Ongoing) {
            return None; // a fence
        }
        let mut probe = self.clone();
        if target == TxnState::Empty && probe.record(txn).is_none() {
            probe.log[usize::from(txn)] = Some(probe.fresh_metadata());
        }
        let metadata = *probe.record(txn)?;
        let producer_ids_from = probe.next_producer_id;
        let mut history = History::default();
        probe
            .handle_client_request(request, &mut Effects { config, history: &mut history, outbox: &mut Vec::new() })?;
        let durable = |r: &TxnRecord| TxnRecord { members: Default::default(), ..*r };
        let changed = probe.record(txn).map(durable) != Some(durable(&metadata));
        changed.then_some(PreparedTransition {
            txn,
            target,
            metadata,
            producer_ids_from,
            producer_ids_to: probe.next_producer_id,
        })
    }

    /// Prepares `prepared`: the fresh metadata of a first InitProducerId enters the cache (in memory
    /// only), the producer ids the transition allocates are taken, and the id's pending state is its
    /// target, until the append completes or fails. Nothing is allocated twice: a failed append keeps
    /// what was prepared.
    pub fn prepare_transition(&mut self, prepared: &PreparedTransition) {
        let txn = usize::from(prepared.txn);
        self.log[txn].get_or_insert(prepared.metadata);
        debug_assert!(self.next_producer_id <= prepared.producer_ids_to, "producer ids only go forward");
        self.next_producer_id = prepared.producer_ids_to;
        self.pending_states[txn] = Some(prepared.target);
    }

    /// Prepares the transition `request` asked for ([`Coordinator::prepare_transition`]) and puts its append
    /// in flight.
    pub fn prepare_append(&mut self, prepared: &PreparedTransition, request: Request) {
        self.prepare_transition(prepared);
        let append = InFlightAppend {
            request,
            txn: prepared.txn,
            coordinator_epoch: self.coordinator_epoch,
            producer_ids_from: prepared.producer_ids_from,
        };
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

/// The transactional id whose transaction log a client's coordinator request may append to, and the
/// state its transition moves to (InitProducerId of a transactional id: Empty; AddPartitionsToTxn and
/// AddOffsetsToTxn: Ongoing; EndTxn: Prepare*, an empty tv2 abort's first transition included).
pub fn appended_transition(request: &Request) -> Option<(TxnId, TxnState)> {
    match request.body {
        RequestBody::InitProducerId { txn, .. } => txn.map(|txn| (txn, TxnState::Empty)),
        RequestBody::AddPartitionsToTxn { txn, .. } | RequestBody::AddOffsetsToTxn { txn, .. } => {
            Some((txn, TxnState::Ongoing))
        }
        RequestBody::EndTxn { txn, commit, .. } => {
            Some((txn, if commit { TxnState::PrepareCommit } else { TxnState::PrepareAbort }))
        }
        _ => None,
    }
}
