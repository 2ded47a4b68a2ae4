//! The observable state (specs/eos.md §11): what conformance compares after every step.
//!
//! Only what Kafka (and so the implementation) has: no ghost fields. Messages are rendered in their
//! one-line form, which omits the ghost attempt of requests and the ghost members of markers.

use crate::client::RequestStatus;
use crate::message::Message;
use crate::partition::{LogEntry, PartitionState};
use crate::state::State;
use crate::types::*;
use serde::{Deserialize, Serialize};

/// The observable state of the whole system.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observation {
    /// The coordinator epoch.
    pub coordinator_epoch: i32,
    /// Per transactional id.
    pub transactions: Vec<TransactionView>,
    /// Per data partition.
    pub partitions: Vec<PartitionView>,
    /// The consumer group.
    pub group: GroupView,
    /// Per producer instance.
    pub clients: Vec<ClientView>,
    /// Messages in flight (rendered, sorted), with their copies.
    pub network: Vec<InFlight>,
    /// The coordinator's transaction-log appends in flight (`broker.coordinator_append_round_trip`):
    /// the client request each will answer and the coordinator epoch it was prepared under, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub appends: Vec<String>,
}

/// How an append in flight is shown: the request it answers and its coordinator epoch.
pub fn append_view(request: &crate::message::Request, coordinator_epoch: i32) -> String {
    format!("{} (coordinator epoch {coordinator_epoch})", Message::Request(*request))
}

/// A transactional id at the coordinator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionView {
    /// `txn-{t}`.
    pub transactional_id: String,
    /// The state name (None before the first InitProducerId).
    pub state: Option<String>,
    /// Producer id.
    pub producer_id: Option<ProducerId>,
    /// Producer epoch.
    pub producer_epoch: Option<Epoch>,
    /// The epoch before the last bump, which a KIP-360 retry or a tv2 EndTxn retry may present (-1 if
    /// none).
    #[serde(default)]
    pub last_producer_epoch: Option<Epoch>,
    /// The producer id before the last rotation (-1 if none): it decides whether a KIP-360 retry of
    /// the old id is still recognised.
    #[serde(default)]
    pub previous_producer_id: Option<ProducerId>,
    /// tv2: the producer id a Prepare* transaction rotates to when it completes (-1 if none): the next
    /// id EndTxn answers, and the one whose EndTxn the coordinator accepts during the rotation.
    #[serde(default)]
    pub next_producer_id: Option<ProducerId>,
    /// The target of a transition prepared but not yet completed (Kafka's `pendingState`; a Prepare*
    /// state's Complete* is not shown): one whose append is in flight
    /// (`broker.coordinator_append_round_trip`), or one whose failed append was never cleared
    /// (KAFKA-5351 unfixed).
    #[serde(default)]
    pub pending_state: Option<String>,
    /// The logged partition set.
    pub partitions: Vec<String>,
    /// Markers not yet acknowledged.
    pub pending_markers: Vec<String>,
    /// Of those, the ones waiting for the retry tick.
    pub failed_markers: Vec<String>,
    /// Every marker acknowledged but the completion's append failed: the retry tick logs it again
    /// (fault `completion_append_failures`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub completion_stuck: bool,
    /// The id's latest durable record in the transaction log, on one line ([`LoggedRecord`]; None
    /// before the first append, since metadata with no epoch yet is in memory only, and after a
    /// tombstone). The fields above are the coordinator's memory, rebuilt from this record at a
    /// failover: comparing the record too catches a transition logged otherwise than it is applied
    /// when it happens, not at the next failover.
    #[serde(default)]
    pub logged: Option<String>,
}

/// A transaction-log record as both sides render it for [`TransactionView::logged`]: fields by name,
/// so neither side can swap two of the same type.
pub struct LoggedRecord {
    /// The state's name.
    pub state: String,
    /// Producer id.
    pub producer_id: ProducerId,
    /// Producer epoch.
    pub producer_epoch: Epoch,
    /// The epoch before the last bump.
    pub last_producer_epoch: Epoch,
    /// The producer id before the last rotation.
    pub previous_producer_id: ProducerId,
    /// tv2: the producer id the transaction rotates to.
    pub next_producer_id: ProducerId,
    /// The logged partitions, in any order.
    pub partitions: Vec<String>,
}

impl LoggedRecord {
    /// One line, the partitions sorted.
    pub fn render(mut self) -> String {
        self.partitions.sort();
        format!(
            "{} pid {} epoch {} (last {}) previous pid {} next pid {} [{}]",
            self.state,
            self.producer_id,
            self.producer_epoch,
            self.last_producer_epoch,
            self.previous_producer_id,
            self.next_producer_id,
            self.partitions.join(", ")
        )
    }
}

/// One log offset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum EntryView {
    Data { producer_id: Option<ProducerId>, epoch: Epoch, sequence: Sequence, transactional: bool, value: String },
    Control { producer_id: ProducerId, epoch: Epoch, commit: bool, coordinator_epoch: i32 },
}

/// A producer's state on a partition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ProducerView {
    pub producer_id: ProducerId,
    pub epoch: Epoch,
    pub last_sequence: Option<Sequence>,
    pub open_transaction: Option<Offset>,
    pub coordinator_epoch: i32,
    /// The duplicate-detection window: (sequence, offset) of the last batches of this epoch, oldest first.
    #[serde(default)]
    pub batches: Vec<(Sequence, Offset)>,
}

/// An aborted-index entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct AbortedView {
    pub producer_id: ProducerId,
    pub first_offset: Offset,
    pub last_offset: Offset,
}

/// A data partition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct PartitionView {
    pub partition: String,
    pub log: Vec<EntryView>,
    pub high_watermark: Offset,
    pub last_stable_offset: Offset,
    pub aborted: Vec<AbortedView>,
    pub producers: Vec<ProducerView>,
    /// Values a read_committed reader gets.
    pub read_committed: Vec<String>,
    /// Values a read_uncommitted reader gets.
    pub read_uncommitted: Vec<String>,
}

/// The consumer group `copier-group`, the offsets partition's producer state, and the other groups.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct GroupView {
    pub generation: i32,
    pub member: Option<String>,
    pub committed: Option<Offset>,
    /// (producer id, offset) per pending transactional commit.
    pub pending: Vec<(ProducerId, Offset)>,
    /// The producer epoch each pending commit was written with, by producer id.
    #[serde(default)]
    pub pending_epochs: Vec<(ProducerId, Epoch)>,
    /// The offsets partition's producer state: (producer id, latest epoch, coordinator epoch of the last
    /// marker).
    #[serde(default)]
    pub producers: Vec<(ProducerId, Epoch, i32)>,
    /// The groups after `copier-group` (`copier.groups` > 1), in group order, each with its own
    /// membership, committed and pending offsets (their `producers` and `others` empty: the offsets
    /// partition is the one above).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub others: Vec<GroupView>,
}

/// A producer instance's transaction manager.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ClientView {
    pub producer: String,
    pub phase: String,
    pub producer_id: Option<ProducerId>,
    pub epoch: Option<Epoch>,
    /// Requests awaiting a response (rendered, sorted; failed ones end in " (failed)").
    pub outstanding: Vec<String>,
    /// The next sequence number per partition written in the current epoch (partition of `out`, sequence).
    #[serde(default)]
    pub sequences: Vec<(PartitionIndex, Sequence)>,
    /// The last acknowledged sequence per partition in the current epoch (Java's `lastAckedSequence`;
    /// kept with pipelining or batch expiry, empty otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub last_acked: Vec<(PartitionIndex, Sequence)>,
    /// Partitions whose sequence is unresolved (a batch given up by its delivery timeout may still
    /// land), with the sequence after the given-up batch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unresolved: Vec<(PartitionIndex, Sequence)>,
    /// Copier: the input offset it copies next (0 for a producer).
    #[serde(default)]
    pub position: Offset,
    /// KIP-360: it must bump its epoch with InitProducerId(expected) before its next transaction.
    #[serde(default)]
    pub epoch_bump_required: bool,
    /// tv1 modes: the partitions of `out` AddPartitionsToTxn acknowledged in this transaction, sorted
    /// (a partition believed added gets no AddPartitionsToTxn; the offsets partition is left out: the
    /// outstanding AddOffsetsToTxn and TxnOffsetCommit show where the offsets stand). Empty once the
    /// instance crashed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub added: Vec<String>,
    /// Java 4.x: after INVALID_PRODUCER_ID_MAPPING the abort skips EndTxn (specs §7).
    #[serde(default, skip_serializing_if = "is_false")]
    pub skip_end_txn: bool,
    /// Copier: the generation it holds for each of its groups, in group order (what its next
    /// TxnOffsetCommit or OffsetCommit carries; empty before it joins).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub generations: Vec<i32>,
}

/// A message in flight.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct InFlight {
    /// Its one-line rendering.
    pub message: String,
    /// How many copies.
    pub copies: u8,
}

/// The observable state of `state`.
pub fn observe(state: &State) -> Observation {
    let coordinator = &state.coordinator;
    let transactions = coordinator
        .log
        .iter()
        .zip(&coordinator.markers)
        .enumerate()
        .map(|(t, (record, markers))| TransactionView {
            transactional_id: format!("txn-{t}"),
            state: record.as_ref().map(|r| format!("{:?}", r.state)),
            producer_id: record.as_ref().map(|r| r.producer_id),
            producer_epoch: record.as_ref().map(|r| r.producer_epoch),
            last_producer_epoch: record.as_ref().map(|r| r.last_producer_epoch),
            previous_producer_id: record.as_ref().map(|r| r.previous_producer_id),
            next_producer_id: record.as_ref().map(|r| r.next_producer_id),
            pending_state: coordinator.pending_states[t].map(|s| format!("{s:?}")),
            partitions: record.as_ref().map_or(Vec::new(), |r| r.partitions.iter().map(|p| p.to_string()).collect()),
            pending_markers: markers.pending.iter().map(|p| p.to_string()).collect(),
            failed_markers: markers.failed.iter().map(|p| p.to_string()).collect(),
            completion_stuck: markers.completion_failed,
            // Metadata whose first InitProducerId is not logged yet (no epoch) lives in memory only.
            logged: record.as_ref().filter(|r| r.producer_epoch != NO_EPOCH).map(|r| {
                LoggedRecord {
                    state: format!("{:?}", r.state),
                    producer_id: r.producer_id,
                    producer_epoch: r.producer_epoch,
                    last_producer_epoch: r.last_producer_epoch,
                    previous_producer_id: r.previous_producer_id,
                    next_producer_id: r.next_producer_id,
                    partitions: r.partitions.iter().map(|p| p.to_string()).collect(),
                }
                .render()
            }),
        })
        .collect();
    let partitions = state.partitions.iter().enumerate().map(|(i, p)| partition_view(i, p)).collect();
    let group_view = |g: &crate::group::Group| GroupView {
        generation: g.generation,
        member: g.member.map(|m| format!("producer-{m}")),
        committed: g.committed,
        pending: g.pending.iter().map(|(pid, p)| (*pid, p.offset)).collect(),
        pending_epochs: g.pending.iter().map(|(pid, p)| (*pid, p.epoch)).collect(),
        ..GroupView::default()
    };
    let group = GroupView {
        producers: state.group.producers.iter().map(|(pid, p)| (*pid, p.epoch, p.coordinator_epoch)).collect(),
        others: state.group.groups.iter().skip(1).map(group_view).collect(),
        ..group_view(state.group.group(0))
    };
    let clients = state
        .clients
        .iter()
        .enumerate()
        .map(|(i, c)| ClientView {
            producer: format!("producer-{i}"),
            phase: format!("{:?}", c.phase),
            producer_id: c.producer_id,
            epoch: (c.epoch != NO_EPOCH).then_some(c.epoch),
            outstanding: {
                let mut rendered: Vec<String> = c
                    .awaiting
                    .iter()
                    .map(|(r, s)| match s {
                        RequestStatus::InFlight => r.body.to_string(),
                        RequestStatus::Failed => format!("{} (failed)", r.body),
                    })
                    .collect();
                rendered.sort();
                rendered
            },
            sequences: c.next_sequence.iter().map(|(p, s)| (*p, *s)).collect(),
            last_acked: c.last_acked.iter().map(|(p, s)| (*p, *s)).collect(),
            unresolved: c.unresolved.iter().map(|(p, s)| (*p, *s)).collect(),
            position: Offset::from(c.position),
            epoch_bump_required: c.needs_epoch_bump,
            // A crashed instance's memory is gone (the model leaves its last transaction's set in place).
            added: {
                let live = c.phase != crate::client::Phase::Crashed;
                let mut data: Vec<PartitionIndex> = c
                    .added
                    .iter()
                    .filter(|_| live)
                    .filter_map(|p| match p {
                        TxnPartition::Data(p) => Some(p),
                        TxnPartition::Offsets => None,
                    })
                    .collect();
                data.sort_unstable();
                data.into_iter().map(|p| TxnPartition::Data(p).to_string()).collect()
            },
            skip_end_txn: c.skip_end_txn,
            // A group's generation is at least 1 once joined; a copier joins all its groups at start.
            generations: c.generations.iter().copied().take_while(|g| *g != 0).collect(),
        })
        .collect();
    Observation {
        coordinator_epoch: coordinator.coordinator_epoch,
        transactions,
        partitions,
        group,
        clients,
        network: network_view(state.network.iter().map(|(m, n)| (m, *n))),
        appends: {
            let mut appends: Vec<String> =
                coordinator.appends.iter().map(|a| append_view(&a.request, a.coordinator_epoch)).collect();
            appends.sort();
            appends
        },
    }
}

/// Renders messages in flight as the sorted multiset of their one-line forms.
pub fn network_view<'a>(messages: impl Iterator<Item = (&'a Message, u8)>) -> Vec<InFlight> {
    network_of_rendered(messages.map(|(message, copies)| (message.to_string(), copies)))
}

/// The sorted multiset of messages already rendered in their one-line forms (equal renderings are
/// merged: the model's ghost fields are not rendered, so two model messages may read the same).
pub fn network_of_rendered(rendered: impl Iterator<Item = (String, u8)>) -> Vec<InFlight> {
    let mut lines: Vec<(String, u8)> = rendered.collect();
    lines.sort_unstable();
    let mut network: Vec<InFlight> = Vec::with_capacity(lines.len());
    for (message, copies) in lines {
        match network.last_mut() {
            Some(last) if last.message == message => last.copies += copies,
            _ => network.push(InFlight { message, copies }),
        }
    }
    network
}

fn entry_view(entry: &LogEntry) -> EntryView {
    match entry {
        LogEntry::Data { producer_id, epoch, sequence, transactional, value, .. } => EntryView::Data {
            producer_id: *producer_id,
            epoch: *epoch,
            sequence: *sequence,
            transactional: *transactional,
            value: value.to_string(),
        },
        LogEntry::Control { producer_id, epoch, commit, coordinator_epoch, .. } => EntryView::Control {
            producer_id: *producer_id,
            epoch: *epoch,
            commit: *commit,
            coordinator_epoch: *coordinator_epoch,
        },
    }
}

fn values(view: Vec<(Offset, &LogEntry)>) -> Vec<String> {
    view.into_iter()
        .filter_map(|(_, e)| match e {
            LogEntry::Data { value, .. } => Some(value.to_string()),
            LogEntry::Control { .. } => None,
        })
        .collect()
}

fn partition_view(index: usize, p: &PartitionState) -> PartitionView {
    PartitionView {
        partition: format!("out-{index}"),
        log: p.log.iter().map(entry_view).collect(),
        high_watermark: p.high_watermark(),
        last_stable_offset: p.last_stable_offset(),
        aborted: p
            .aborted
            .iter()
            .map(|a| AbortedView {
                producer_id: a.producer_id,
                first_offset: a.first_offset,
                last_offset: a.last_offset,
            })
            .collect(),
        producers: p
            .producers
            .iter()
            .map(|(pid, e)| ProducerView {
                producer_id: *pid,
                epoch: e.epoch,
                last_sequence: e.last_sequence(),
                open_transaction: e.open_transaction,
                coordinator_epoch: e.coordinator_epoch,
                batches: e.batches.iter().collect(),
            })
            .collect(),
        read_committed: values(p.read_committed()),
        read_uncommitted: values(p.read_uncommitted()),
    }
}

/// One field that differs between two observations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDiff {
    /// JSON path, e.g. `partitions[0].last_stable_offset`.
    pub path: String,
    /// The left value (JSON), or `-` if absent.
    pub left: String,
    /// The right value (JSON), or `-` if absent.
    pub right: String,
}

/// The fields in which `left` and `right` differ, deepest first-level paths.
pub fn diff(left: &Observation, right: &Observation) -> Vec<FieldDiff> {
    let l = serde_json::to_value(left).expect("observations serialise");
    let r = serde_json::to_value(right).expect("observations serialise");
    let mut out = Vec::new();
    diff_values("", &l, &r, &mut out);
    out
}

/// The fields in which two JSON values differ, with paths as in [`diff`] (for views of the state
/// other than [`Observation`], such as the wire target's).
pub fn diff_json(left: &serde_json::Value, right: &serde_json::Value) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    diff_values("", left, right, &mut out);
    out
}

fn diff_values(path: &str, l: &serde_json::Value, r: &serde_json::Value, out: &mut Vec<FieldDiff>) {
    use serde_json::Value as J;
    if l == r {
        return;
    }
    if path == "network" {
        return diff_network(l, r, out);
    }
    match (l, r) {
        (J::Object(a), J::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let sub = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                diff_values(&sub, a.get(k).unwrap_or(&J::Null), b.get(k).unwrap_or(&J::Null), out);
            }
        }
        (J::Array(a), J::Array(b)) => {
            for i in 0..a.len().max(b.len()) {
                let sub = format!("{path}[{i}]");
                match (a.get(i), b.get(i)) {
                    (Some(x), Some(y)) => diff_values(&sub, x, y, out),
                    (x, y) => out.push(FieldDiff { path: sub, left: show(x), right: show(y) }),
                }
            }
        }
        _ => out.push(FieldDiff { path: path.to_string(), left: l.to_string(), right: r.to_string() }),
    }
}

fn show(v: Option<&serde_json::Value>) -> String {
    v.map_or("-".to_string(), |v| v.to_string())
}

/// The network as a multiset difference: each message in flight on one side only (copies counted).
fn diff_network(l: &serde_json::Value, r: &serde_json::Value, out: &mut Vec<FieldDiff>) {
    let counts = |v: &serde_json::Value| -> std::collections::BTreeMap<String, i64> {
        let entries: Vec<InFlight> = serde_json::from_value(v.clone()).unwrap_or_default();
        entries.into_iter().map(|e| (e.message, i64::from(e.copies))).collect()
    };
    let (left, right) = (counts(l), counts(r));
    let messages: std::collections::BTreeSet<&String> = left.keys().chain(right.keys()).collect();
    for message in messages {
        let (a, b) = (left.get(message).copied().unwrap_or(0), right.get(message).copied().unwrap_or(0));
        if a != b {
            out.push(FieldDiff {
                path: format!("network[{message}]"),
                left: format!("{a} in flight"),
                right: format!("{b} in flight"),
            });
        }
    }
}

fn is_false(flag: &bool) -> bool {
    !flag
}
