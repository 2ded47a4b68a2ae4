//! Symmetry reduction: states that differ only by a renaming of interchangeable producer instances or
//! partitions are explored once (stateright's `Representative`, used with DFS and simulation).
//!
//! Partitions are interchangeable when the script treats them alike (not in the copier, which routes by
//! input offset). Producer instances are interchangeable when they share a transactional id and may
//! start at any time (zombie scenarios); with restart-after-crash their order matters. The
//! representative is the least renaming of the state in `Ord` order.

use crate::client::Client;
use crate::config::{Config, Restart};
use crate::coordinator::{Coordinator, TxnRecord};
use crate::group::{GroupState, PendingOffset};
use crate::history::History;
use crate::message::{Marker, Message, Request, RequestBody};
use crate::partition::{LogEntry, PartitionState};
use crate::state::State;
use crate::types::*;
use std::collections::{BTreeMap, BTreeSet};

/// A renaming: `producers[old] = new`, `partitions[old] = new`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Renaming {
    /// New index of each producer instance.
    pub producers: Vec<ProducerIndex>,
    /// New index of each partition.
    pub partitions: Vec<PartitionIndex>,
}

impl Renaming {
    fn producer(&self, p: ProducerIndex) -> ProducerIndex {
        self.producers[usize::from(p)]
    }
    fn partition(&self, p: PartitionIndex) -> PartitionIndex {
        self.partitions[usize::from(p)]
    }
}

/// Types that mention producer instances or partitions.
pub trait Rename {
    /// The same thing under `r`.
    fn rename(&self, r: &Renaming) -> Self;
}

impl Rename for Attempt {
    fn rename(&self, r: &Renaming) -> Self {
        Attempt {
            producer: r.producer(self.producer),
            index: self.index,
        }
    }
}

impl Rename for Value {
    fn rename(&self, r: &Renaming) -> Self {
        match self {
            Value::Produced { attempt, partition } => Value::Produced {
                attempt: attempt.rename(r),
                partition: r.partition(*partition),
            },
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

impl<T: Rename + Ord> Rename for BTreeSet<T> {
    fn rename(&self, r: &Renaming) -> Self {
        self.iter().map(|x| x.rename(r)).collect()
    }
}

impl Rename for RequestBody {
    fn rename(&self, r: &Renaming) -> Self {
        let mut body = self.clone();
        match &mut body {
            RequestBody::AddPartitionsToTxn { partition, .. } => {
                *partition = r.partition(*partition)
            }
            RequestBody::Produce {
                partition, value, ..
            } => {
                *partition = r.partition(*partition);
                *value = value.rename(r);
            }
            _ => {}
        }
        body
    }
}

impl Rename for Request {
    fn rename(&self, r: &Renaming) -> Self {
        Request {
            from: r.producer(self.from),
            attempt: self.attempt,
            body: self.body.rename(r),
        }
    }
}

impl Rename for Marker {
    fn rename(&self, r: &Renaming) -> Self {
        Marker {
            target: self.target.rename(r),
            ends: self.ends.rename(r),
            ..self.clone()
        }
    }
}

impl Rename for Message {
    fn rename(&self, r: &Renaming) -> Self {
        match self {
            Message::Request(request) => Message::Request(request.rename(r)),
            Message::Response { request, reply } => Message::Response {
                request: request.rename(r),
                reply: reply.clone(),
            },
            Message::Marker(m) => Message::Marker(m.rename(r)),
            Message::MarkerResponse { marker, error } => Message::MarkerResponse {
                marker: marker.rename(r),
                error: *error,
            },
        }
    }
}

impl Rename for LogEntry {
    fn rename(&self, r: &Renaming) -> Self {
        match self {
            LogEntry::Data { value, attempt, .. } => {
                let mut e = self.clone();
                if let LogEntry::Data {
                    value: v,
                    attempt: a,
                    ..
                } = &mut e
                {
                    *v = value.rename(r);
                    *a = attempt.rename(r);
                }
                e
            }
            LogEntry::Control { ends, .. } => {
                let mut e = self.clone();
                if let LogEntry::Control { ends: x, .. } = &mut e {
                    *x = ends.rename(r);
                }
                e
            }
        }
    }
}

impl Rename for PartitionState {
    fn rename(&self, r: &Renaming) -> Self {
        PartitionState {
            log: self.log.iter().map(|e| e.rename(r)).collect(),
            ..self.clone()
        }
    }
}

impl Rename for Coordinator {
    fn rename(&self, r: &Renaming) -> Self {
        let log = self
            .log
            .iter()
            .map(|record| {
                record.as_ref().map(|rec| TxnRecord {
                    partitions: rec.partitions.rename(r),
                    members: rec.members.rename(r),
                    ..rec.clone()
                })
            })
            .collect();
        let markers = self
            .markers
            .iter()
            .map(|m| {
                m.iter()
                    .map(|(target, status)| (target.rename(r), *status))
                    .collect()
            })
            .collect();
        Coordinator {
            log,
            markers,
            ..self.clone()
        }
    }
}

impl Rename for GroupState {
    fn rename(&self, r: &Renaming) -> Self {
        GroupState {
            member: self.member.map(|m| r.producer(m)),
            committed_by: self.committed_by.map(|a| a.rename(r)),
            pending: self
                .pending
                .iter()
                .map(|(pid, p)| {
                    (
                        *pid,
                        PendingOffset {
                            attempt: p.attempt.rename(r),
                            ..p.clone()
                        },
                    )
                })
                .collect(),
            ..self.clone()
        }
    }
}

impl Rename for Client {
    fn rename(&self, r: &Renaming) -> Self {
        Client {
            sent: self.sent.iter().map(|p| r.partition(*p)).collect(),
            added: self.added.rename(r),
            next_sequence: self
                .next_sequence
                .iter()
                .map(|(p, s)| (r.partition(*p), *s))
                .collect(),
            awaiting: self
                .awaiting
                .iter()
                .map(|(req, s)| (req.rename(r), *s))
                .collect(),
            ..self.clone()
        }
    }
}

fn rename_keys<V: Clone>(map: &BTreeMap<Attempt, V>, r: &Renaming) -> BTreeMap<Attempt, V> {
    map.iter().map(|(a, v)| (a.rename(r), v.clone())).collect()
}

impl Rename for History {
    fn rename(&self, r: &Renaming) -> Self {
        History {
            decisions: rename_keys(&self.decisions, r),
            acknowledged: rename_keys(&self.acknowledged, r),
            offset_fates: rename_keys(&self.offset_fates, r),
            ..self.clone()
        }
    }
}

fn place<T: Clone>(
    items: &[T],
    new_index: impl Fn(usize) -> usize,
    rename: impl Fn(&T) -> T,
) -> Vec<T> {
    let mut out: Vec<Option<T>> = vec![None; items.len()];
    for (old, item) in items.iter().enumerate() {
        out[new_index(old)] = Some(rename(item));
    }
    out.into_iter()
        .map(|x| x.expect("a renaming is a permutation"))
        .collect()
}

impl Rename for State {
    fn rename(&self, r: &Renaming) -> Self {
        State {
            clients: place(
                &self.clients,
                |i| usize::from(r.producers[i]),
                |c| c.rename(r),
            ),
            coordinator: self.coordinator.rename(r),
            partitions: place(
                &self.partitions,
                |i| usize::from(r.partitions[i]),
                |p| p.rename(r),
            ),
            group: self.group.rename(r),
            network: self
                .network
                .iter()
                .map(|(m, n)| (m.rename(r), *n))
                .collect(),
            budget: self.budget.clone(),
            history: self.history.rename(r),
            symmetry: self.symmetry.clone(),
        }
    }
}

/// All permutations of `items`.
fn permutations(items: &[u8]) -> Vec<Vec<u8>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut out = Vec::new();
    for (i, first) in items.iter().enumerate() {
        let mut rest = items.to_vec();
        rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, *first);
            out.push(tail);
        }
    }
    out
}

/// Renamings of one class at a time combined: `classes` are disjoint groups of interchangeable indices.
fn class_renamings(total: u8, classes: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut renamings = vec![(0..total).collect::<Vec<u8>>()];
    for class in classes {
        let mut next = Vec::new();
        for base in &renamings {
            for perm in permutations(class) {
                let mut renaming = base.clone();
                for (old, new) in class.iter().zip(&perm) {
                    renaming[usize::from(*old)] = *new;
                }
                next.push(renaming);
            }
        }
        renamings = next;
    }
    renamings
}

/// Every renaming under which `config`'s model is symmetric (the identity first).
pub fn renamings(config: &Config) -> Vec<Renaming> {
    let instances = config.producers.instances;
    let producer_classes: Vec<Vec<u8>> = if config.producers.restart == Restart::AnyTime {
        (0..config.producers.transactional_ids)
            .map(|t| (t * instances..(t + 1) * instances).collect())
            .collect()
    } else {
        Vec::new()
    };
    let count = config.partitions.count;
    let per = config.partitions_per_transaction();
    let partition_classes: Vec<Vec<u8>> = if config.is_copier() {
        Vec::new()
    } else {
        vec![(0..per).collect(), (per..count).collect()]
    };
    let mut out = Vec::new();
    for producers in class_renamings(config.producer_count(), &producer_classes) {
        for partitions in class_renamings(count, &partition_classes) {
            out.push(Renaming {
                producers: producers.clone(),
                partitions,
            });
        }
    }
    out
}

/// The representative of `state`: its least renaming.
pub fn representative(state: &State, renamings: &[Renaming]) -> State {
    renamings
        .iter()
        .skip(1)
        .map(|r| state.rename(r))
        .fold(state.clone(), |best, candidate| {
            if candidate < best {
                candidate
            } else {
                best
            }
        })
}

/// The renamings of a model, carried by every state so that `Representative` (which sees only the
/// state) can use them. Constant per model: it takes no part in equality, order or hashing.
#[derive(Clone)]
pub struct Symmetry(pub std::sync::Arc<Vec<Renaming>>);

impl Symmetry {
    /// The renamings of `config`.
    pub fn of(config: &Config) -> Symmetry {
        Symmetry(std::sync::Arc::new(renamings(config)))
    }
}

impl PartialEq for Symmetry {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for Symmetry {}
impl PartialOrd for Symmetry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Symmetry {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}
impl std::hash::Hash for Symmetry {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}
impl std::fmt::Debug for Symmetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} renamings", self.0.len())
    }
}

impl stateright::Representative for State {
    fn representative(&self) -> Self {
        representative(self, &self.symmetry.0)
    }
}
