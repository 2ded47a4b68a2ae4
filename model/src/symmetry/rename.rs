//! Renaming, the reference definition: every state type and action rebuilt with its producer
//! instances, transactional ids and partitions renamed. The checker never builds renamed states (it
//! hashes them, [`super::fingerprint`]); this is what the tests hold the fingerprints and the model's
//! transitions to.
//!
//! Struct literals here name every field (no `..`), so a field added to a state type does not compile
//! until it is renamed here, or deliberately copied.

use super::Renaming;
use crate::client::Client;
use crate::coordinator::{Coordinator, InFlightAppend, PendingMarkers, TxnRecord};
use crate::group::{Group, GroupState, PendingOffset};
use crate::history::{History, Milestone};
use crate::message::{Marker, Message, Request, RequestBody};
use crate::partition::{LogEntry, PartitionState};
use crate::state::{Action, State};
use crate::types::*;

/// Types that mention producer instances, transactional ids or partitions.
pub trait Rename {
    /// The same thing under `r`.
    fn rename(&self, r: &Renaming) -> Self;
}

impl<T: Rename> Rename for Option<T> {
    fn rename(&self, r: &Renaming) -> Self {
        self.as_ref().map(|x| x.rename(r))
    }
}

impl<T: Rename> Rename for crate::shared::Shared<T> {
    fn rename(&self, r: &Renaming) -> Self {
        crate::shared::Shared::new((**self).rename(r))
    }
}

impl Rename for Attempt {
    fn rename(&self, r: &Renaming) -> Self {
        Attempt { producer: r.producer(self.producer), index: self.index }
    }
}

impl Rename for Value {
    fn rename(&self, r: &Renaming) -> Self {
        match self {
            Value::Produced { attempt, partition, batch } => {
                Value::Produced { attempt: attempt.rename(r), partition: r.partition(*partition), batch: *batch }
            }
            Value::Copied { .. } => *self,
        }
    }
}

impl Rename for TxnPartition {
    fn rename(&self, r: &Renaming) -> Self {
        match self {
            TxnPartition::Data(p) => TxnPartition::Data(r.partition(*p)),
            TxnPartition::Offsets => TxnPartition::Offsets,
        }
    }
}

impl<T: Rename + crate::collections::Indexed> Rename for crate::collections::IndexSet<T> {
    fn rename(&self, r: &Renaming) -> Self {
        self.map(|x| x.rename(r))
    }
}

impl Rename for Milestone {
    fn rename(&self, r: &Renaming) -> Self {
        match *self {
            Milestone::TimeoutAbort(t) => Milestone::TimeoutAbort(r.txn(t)),
            Milestone::FailoverResumedPrepare(t) => Milestone::FailoverResumedPrepare(r.txn(t)),
            Milestone::TimeoutAbortCompleted | Milestone::FailoverCompletedPrepare => *self,
        }
    }
}

impl Rename for RequestBody {
    fn rename(&self, r: &Renaming) -> Self {
        let mut body = *self;
        match &mut body {
            RequestBody::InitProducerId { txn, .. } => *txn = txn.map(|t| r.txn(t)),
            RequestBody::AddPartitionsToTxn { txn, partition, .. } => {
                *txn = r.txn(*txn);
                *partition = r.partition(*partition);
            }
            RequestBody::AddOffsetsToTxn { txn, .. }
            | RequestBody::TxnOffsetCommit { txn, .. }
            | RequestBody::EndTxn { txn, .. } => *txn = r.txn(*txn),
            RequestBody::Produce { partition, txn, value, .. } => {
                *partition = r.partition(*partition);
                *txn = txn.map(|t| r.txn(t));
                *value = value.rename(r);
            }
            RequestBody::OffsetCommit { .. } => {}
        }
        body
    }
}

impl Rename for Request {
    fn rename(&self, r: &Renaming) -> Self {
        let Request { from, attempt, send, body } = self;
        Request { from: r.producer(*from), attempt: *attempt, send: *send, body: body.rename(r) }
    }
}

impl Rename for Marker {
    fn rename(&self, r: &Renaming) -> Self {
        let Marker { target, txn, producer_id, epoch, commit, coordinator_epoch, transaction_version, ends } = *self;
        Marker {
            target: target.rename(r),
            txn: r.txn(txn),
            producer_id,
            epoch,
            commit,
            coordinator_epoch,
            transaction_version,
            ends: ends.rename(r),
        }
    }
}

impl Rename for Message {
    fn rename(&self, r: &Renaming) -> Self {
        match self {
            Message::Request(request) => Message::Request(request.rename(r)),
            Message::Response { request, reply } => Message::Response { request: request.rename(r), reply: *reply },
            Message::Marker(m) => Message::Marker(m.rename(r)),
            Message::Verify { request, guard } => Message::Verify { request: request.rename(r), guard: *guard },
            Message::VerifyResponse { request, guard, error } => {
                Message::VerifyResponse { request: request.rename(r), guard: *guard, error: *error }
            }
            Message::MarkerResponse { marker, error } => {
                Message::MarkerResponse { marker: marker.rename(r), error: *error }
            }
        }
    }
}

impl Rename for LogEntry {
    fn rename(&self, r: &Renaming) -> Self {
        let mut e = *self;
        match &mut e {
            LogEntry::Data { value, attempt, .. } => {
                *value = value.rename(r);
                *attempt = attempt.rename(r);
            }
            LogEntry::Control { ends, .. } => *ends = ends.rename(r),
        }
        e
    }
}

impl Rename for PartitionState {
    fn rename(&self, r: &Renaming) -> Self {
        let PartitionState { log, producers, aborted, verifications, guards_issued } = self;
        PartitionState {
            log: log.iter().map(|e| e.rename(r)).collect(),
            producers: producers.clone(),
            aborted: aborted.clone(),
            verifications: verifications.clone(),
            guards_issued: *guards_issued,
        }
    }
}

impl Rename for TxnRecord {
    fn rename(&self, r: &Renaming) -> Self {
        let TxnRecord {
            producer_id,
            producer_epoch,
            last_producer_epoch,
            previous_producer_id,
            next_producer_id,
            state,
            partitions,
            members,
        } = *self;
        TxnRecord {
            producer_id,
            producer_epoch,
            last_producer_epoch,
            previous_producer_id,
            next_producer_id,
            state,
            partitions: partitions.rename(r),
            members: members.rename(r),
        }
    }
}

impl Rename for PendingMarkers {
    fn rename(&self, r: &Renaming) -> Self {
        let PendingMarkers { pending, failed, completion_failed } = self;
        PendingMarkers { pending: pending.rename(r), failed: failed.rename(r), completion_failed: *completion_failed }
    }
}

impl Rename for Coordinator {
    fn rename(&self, r: &Renaming) -> Self {
        let Coordinator { coordinator_epoch, log, markers, next_producer_id, pending_states, appends } = self;
        let mut appends: crate::collections::InlineVec<InFlightAppend, 2> =
            appends.iter().map(|a| InFlightAppend { request: a.request.rename(r), txn: r.txn(a.txn), ..*a }).collect();
        appends.sort();
        Coordinator {
            coordinator_epoch: *coordinator_epoch,
            log: place(log, |t| r.txn(t)).map(|record| record.rename(r)).collect(),
            markers: place(markers, |t| r.txn(t)).map(|m| m.rename(r)).collect(),
            next_producer_id: *next_producer_id,
            pending_states: place(pending_states, |t| r.txn(t)).collect(),
            appends,
        }
    }
}

impl Rename for GroupState {
    fn rename(&self, r: &Renaming) -> Self {
        let GroupState { groups, producers, deferred } = self;
        GroupState {
            groups: groups
                .iter()
                .map(|Group { generation, member, committed, committed_by, pending }| Group {
                    generation: *generation,
                    member: member.map(|m| r.producer(m)),
                    committed: *committed,
                    committed_by: committed_by.rename(r),
                    pending: pending
                        .iter()
                        .map(|(pid, p)| (*pid, PendingOffset { attempt: p.attempt.rename(r), ..*p }))
                        .collect(),
                })
                .collect(),
            producers: producers.clone(),
            deferred: deferred.clone(),
        }
    }
}

impl Rename for Client {
    fn rename(&self, r: &Renaming) -> Self {
        let Client {
            phase,
            producer_id,
            epoch,
            attempt,
            sent,
            added,
            offsets,
            offsets_group,
            next_sequence,
            last_acked,
            unresolved,
            awaiting,
            needs_epoch_bump,
            position,
            generations,
            fenced,
            skip_end_txn,
            fatal_by_fence,
        } = self;
        Client {
            phase: *phase,
            producer_id: *producer_id,
            epoch: *epoch,
            attempt: *attempt,
            sent: sent.iter().map(|(p, n)| (r.partition(*p), *n)).collect(),
            added: added.rename(r),
            offsets: *offsets,
            offsets_group: *offsets_group,
            next_sequence: next_sequence.iter().map(|(p, s)| (r.partition(*p), *s)).collect(),
            last_acked: last_acked.iter().map(|(p, s)| (r.partition(*p), *s)).collect(),
            unresolved: unresolved.iter().map(|(p, s)| (r.partition(*p), *s)).collect(),
            awaiting: awaiting.iter().map(|(req, s)| (req.rename(r), *s)).collect(),
            needs_epoch_bump: *needs_epoch_bump,
            position: *position,
            generations: *generations,
            fenced: *fenced,
            skip_end_txn: *skip_end_txn,
            fatal_by_fence: *fatal_by_fence,
        }
    }
}

impl Rename for History {
    fn rename(&self, r: &Renaming) -> Self {
        let History { decisions, acknowledged, offset_fates, violations, milestones, fenced_instances } = self;
        let rename = |a: Attempt| a.rename(r);
        History {
            decisions: decisions.map(rename),
            acknowledged: acknowledged.map(rename),
            offset_fates: offset_fates.map(rename),
            violations: *violations,
            milestones: milestones.rename(r),
            fenced_instances: fenced_instances.map(|p| r.producer(p)),
        }
    }
}

impl Rename for State {
    fn rename(&self, r: &Renaming) -> Self {
        let State { clients, coordinator, partitions, group, network, budget, history, symmetry, canonical } = self;
        assert!(canonical.is_none(), "a stand-in has nothing to rename");
        State {
            clients: place(clients, |p| r.producer(p)).map(|c| c.rename(r)).collect(),
            coordinator: coordinator.rename(r),
            partitions: place(partitions, |p| r.partition(p)).map(|p| p.rename(r)).collect(),
            group: group.rename(r),
            network: network.iter().map(|(m, n)| (m.rename(r), *n)).collect(),
            budget: budget.clone(),
            history: history.rename(r),
            symmetry: *symmetry,
            canonical: None,
        }
    }
}

impl Rename for Action {
    fn rename(&self, r: &Renaming) -> Self {
        match self {
            Action::ProducerStart { producer } => Action::ProducerStart { producer: r.producer(*producer) },
            Action::ProducerSend { producer, partition } => {
                Action::ProducerSend { producer: r.producer(*producer), partition: r.partition(*partition) }
            }
            Action::ProducerSendOffsets { producer } => Action::ProducerSendOffsets { producer: r.producer(*producer) },
            Action::ProducerFetchOffsets { producer } => {
                Action::ProducerFetchOffsets { producer: r.producer(*producer) }
            }
            Action::ProducerCommit { producer } => Action::ProducerCommit { producer: r.producer(*producer) },
            Action::ProducerAbort { producer } => Action::ProducerAbort { producer: r.producer(*producer) },
            Action::ProducerRetry { producer } => Action::ProducerRetry { producer: r.producer(*producer) },
            Action::ProducerRequestTimeout { producer, request } => {
                Action::ProducerRequestTimeout { producer: r.producer(*producer), request: request.rename(r) }
            }
            Action::ProducerCrash { producer } => Action::ProducerCrash { producer: r.producer(*producer) },
            Action::ProducerBatchExpires { producer, request } => {
                Action::ProducerBatchExpires { producer: r.producer(*producer), request: request.rename(r) }
            }
            Action::GroupRebalance { producer } => Action::GroupRebalance { producer: r.producer(*producer) },
            Action::Deliver { message } => Action::Deliver { message: message.rename(r) },
            Action::Lose { message } => Action::Lose { message: message.rename(r) },
            Action::CoordinatorAppendFails { request } => Action::CoordinatorAppendFails { request: request.rename(r) },
            Action::CompletionAppendFails { marker } => Action::CompletionAppendFails { marker: marker.rename(r) },
            Action::CoordinatorAppendCompletes { request } => {
                Action::CoordinatorAppendCompletes { request: request.rename(r) }
            }
            Action::CoordinatorRetryMarkers { txn } => Action::CoordinatorRetryMarkers { txn: r.txn(*txn) },
            Action::CoordinatorResendMarker { marker } => Action::CoordinatorResendMarker { marker: marker.rename(r) },
            Action::CoordinatorTimeout { txn } => Action::CoordinatorTimeout { txn: r.txn(*txn) },
            Action::CoordinatorExpireTransactionalId { txn } => {
                Action::CoordinatorExpireTransactionalId { txn: r.txn(*txn) }
            }
            Action::CoordinatorFailover => Action::CoordinatorFailover,
            Action::GroupCompleteTransaction { producer_id } => {
                Action::GroupCompleteTransaction { producer_id: *producer_id }
            }
            Action::PartitionExpireProducer { partition, producer_id } => {
                Action::PartitionExpireProducer { partition: r.partition(*partition), producer_id: *producer_id }
            }
        }
    }
}

/// The items of a vector indexed by a renamed index, in their new order: item `old` goes to
/// `new_index(old)`.
fn place<T: Clone>(items: &[T], new_index: impl Fn(u8) -> u8) -> impl Iterator<Item = T> {
    let mut out: Vec<Option<T>> = vec![None; items.len()];
    for (old, item) in items.iter().enumerate() {
        out[usize::from(new_index(old as u8))] = Some(item.clone());
    }
    out.into_iter().map(|x| x.expect("a renaming is a permutation"))
}
