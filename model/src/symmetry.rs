//! Symmetry reduction: states that differ only by a renaming of interchangeable producer instances or
//! partitions are explored once (stateright's `Representative`, used with DFS and simulation).
//!
//! Partitions are interchangeable when the script treats them alike (not in the copier, which routes by
//! input offset). Producer instances are interchangeable when they share a transactional id and may
//! start at any time (zombie scenarios); with restart-after-crash their order matters. The
//! representative is the least renaming of the state in `Ord` order.

use crate::client::Client;
use crate::collections::{IndexSet, Indexed};
use crate::config::{Config, Restart};
use crate::coordinator::{Coordinator, PendingMarkers, TxnRecord};
use crate::group::{GroupState, PendingOffset};
use crate::history::History;
use crate::message::{Marker, Message, Request, RequestBody};
use crate::partition::{LogEntry, PartitionState};
use crate::state::State;
use crate::types::*;

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
        Attempt { producer: r.producer(self.producer), index: self.index }
    }
}

impl Rename for Value {
    fn rename(&self, r: &Renaming) -> Self {
        match self {
            Value::Produced { attempt, partition } => {
                Value::Produced { attempt: attempt.rename(r), partition: r.partition(*partition) }
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

impl<T: Rename + Indexed> Rename for IndexSet<T> {
    fn rename(&self, r: &Renaming) -> Self {
        self.map(|x| x.rename(r))
    }
}

impl Rename for RequestBody {
    fn rename(&self, r: &Renaming) -> Self {
        let mut body = *self;
        match &mut body {
            RequestBody::AddPartitionsToTxn { partition, .. } => *partition = r.partition(*partition),
            RequestBody::Produce { partition, value, .. } => {
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
        Request { from: r.producer(self.from), attempt: self.attempt, body: self.body.rename(r) }
    }
}

impl Rename for Marker {
    fn rename(&self, r: &Renaming) -> Self {
        Marker { target: self.target.rename(r), ends: self.ends.rename(r), ..*self }
    }
}

impl Rename for Message {
    fn rename(&self, r: &Renaming) -> Self {
        match self {
            Message::Request(request) => Message::Request(request.rename(r)),
            Message::Response { request, reply } => Message::Response { request: request.rename(r), reply: *reply },
            Message::Marker(m) => Message::Marker(m.rename(r)),
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
        PartitionState { log: self.log.iter().map(|e| e.rename(r)).collect(), ..self.clone() }
    }
}

impl Rename for Coordinator {
    fn rename(&self, r: &Renaming) -> Self {
        let log = self
            .log
            .iter()
            .map(|record| {
                record.map(|rec| TxnRecord {
                    partitions: rec.partitions.rename(r),
                    members: rec.members.rename(r),
                    ..rec
                })
            })
            .collect();
        let markers = self
            .markers
            .iter()
            .map(|m| PendingMarkers { pending: m.pending.rename(r), failed: m.failed.rename(r) })
            .collect();
        Coordinator { log, markers, ..self.clone() }
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
                .map(|(pid, p)| (*pid, PendingOffset { attempt: p.attempt.rename(r), ..*p }))
                .collect(),
            ..self.clone()
        }
    }
}

impl Rename for Client {
    fn rename(&self, r: &Renaming) -> Self {
        Client {
            sent: self.sent.map(|p| r.partition(p)),
            added: self.added.rename(r),
            next_sequence: self.next_sequence.iter().map(|(p, s)| (r.partition(*p), *s)).collect(),
            awaiting: self.awaiting.iter().map(|(req, s)| (req.rename(r), *s)).collect(),
            ..self.clone()
        }
    }
}

impl Rename for History {
    fn rename(&self, r: &Renaming) -> Self {
        let rename = |a: Attempt| a.rename(r);
        History {
            decisions: self.decisions.map(rename),
            acknowledged: self.acknowledged.map(rename),
            offset_fates: self.offset_fates.map(rename),
            ..*self
        }
    }
}

fn place<T: Clone>(items: &[T], new_index: impl Fn(usize) -> usize, rename: impl Fn(&T) -> T) -> Vec<T> {
    let mut out: Vec<Option<T>> = vec![None; items.len()];
    for (old, item) in items.iter().enumerate() {
        out[new_index(old)] = Some(rename(item));
    }
    out.into_iter().map(|x| x.expect("a renaming is a permutation")).collect()
}

impl Rename for State {
    fn rename(&self, r: &Renaming) -> Self {
        State {
            clients: place(&self.clients, |i| usize::from(r.producers[i]), |c| c.rename(r)),
            coordinator: self.coordinator.rename(r),
            partitions: place(&self.partitions, |i| usize::from(r.partitions[i]), |p| p.rename(r)),
            group: self.group.rename(r),
            network: self.network.iter().map(|(m, n)| (m.rename(r), *n)).collect(),
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

/// The classes of interchangeable indices of a model: producer instances and partitions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Classes {
    /// Total producer instances.
    pub producers: u8,
    /// Groups of interchangeable producer instances.
    pub producer_classes: Vec<Vec<u8>>,
    /// Total partitions.
    pub partitions: u8,
    /// Groups of interchangeable partitions.
    pub partition_classes: Vec<Vec<u8>>,
}

impl Classes {
    /// The symmetry of `config`'s model.
    pub fn of(config: &Config) -> Classes {
        let instances = config.producers.instances;
        let producer_classes = if config.producers.restart == Restart::AnyTime {
            (0..config.producers.transactional_ids).map(|t| (t * instances..(t + 1) * instances).collect()).collect()
        } else {
            Vec::new()
        };
        let count = config.partitions.count;
        let per = config.partitions_per_transaction();
        let partition_classes =
            if config.is_copier() { Vec::new() } else { vec![(0..per).collect(), (per..count).collect()] };
        Classes { producers: config.producer_count(), producer_classes, partitions: count, partition_classes }
    }

    /// Whether any renaming besides the identity exists.
    pub fn is_trivial(&self) -> bool {
        self.producer_classes.iter().chain(&self.partition_classes).all(|c| c.len() <= 1)
    }
}

/// Renamings that sort each class by signature (the member with the k-th least signature gets the
/// class's k-th index); members with equal signatures are tried in every order. `signatures[i]` is
/// member i's signature.
fn sorting_renamings(total: u8, classes: &[Vec<u8>], signatures: &[u64]) -> Vec<Vec<u8>> {
    let signature = |m: u8| signatures[usize::from(m)];
    let mut renamings = vec![(0..total).collect::<Vec<u8>>()];
    for class in classes {
        let mut members = class.clone();
        members.sort_by_key(|m| signature(*m));
        // Runs of equal signatures: each may be permuted.
        let mut orders: Vec<Vec<u8>> = vec![Vec::new()];
        let mut start = 0;
        while start < members.len() {
            let key = signature(members[start]);
            let end = start + members[start..].iter().take_while(|m| signature(**m) == key).count();
            orders = orders
                .iter()
                .flat_map(|prefix| {
                    permutations(&members[start..end]).into_iter().map(move |run| [prefix.clone(), run].concat())
                })
                .collect();
            start = end;
        }
        renamings = renamings
            .iter()
            .flat_map(|base| {
                orders.iter().map(move |order| {
                    let mut renaming = base.clone();
                    for (slot, member) in class.iter().zip(order) {
                        renaming[usize::from(*member)] = *slot;
                    }
                    renaming
                })
            })
            .collect();
    }
    renamings
}

/// A fast hasher with fixed keys (signatures only order members within one state).
fn hasher() -> ahash::AHasher {
    use std::hash::BuildHasher;
    ahash::RandomState::with_seeds(1, 2, 3, 4).build_hasher()
}

/// A producer instance's state, blind to the renaming of partitions (invariant under both renamings).
fn client_signature(c: &Client) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = hasher();
    (c.phase, c.producer_id, c.epoch, c.attempt, c.offsets, c.needs_epoch_bump, c.position, c.fenced).hash(&mut h);
    (c.sent.len(), c.added.len(), c.awaiting.len()).hash(&mut h);
    h.finish()
}

/// A partition's state, blind to the renaming of partitions and producers.
fn partition_signature(p: &PartitionState) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = hasher();
    for e in &p.log {
        match e {
            LogEntry::Data { producer_id, epoch, transactional, value, .. } => {
                let index = match value {
                    Value::Produced { attempt, .. } => attempt.index,
                    Value::Copied { input } => *input,
                };
                (0u8, producer_id, epoch, transactional, index).hash(&mut h);
            }
            LogEntry::Control { producer_id, epoch, commit, .. } => (1u8, producer_id, epoch, commit).hash(&mut h),
        }
    }
    p.producers.hash(&mut h);
    p.aborted.hash(&mut h);
    h.finish()
}

/// The representative of `state`: the least of its renamings that sort producers and partitions by
/// their signatures (usually one renaming; more only when signatures tie).
pub fn representative(state: &State, classes: &Classes) -> State {
    if classes.is_trivial() {
        return state.clone();
    }
    let producer_signatures: Vec<u64> = if classes.producer_classes.is_empty() {
        Vec::new()
    } else {
        state.clients.iter().map(client_signature).collect()
    };
    let producers = sorting_renamings(classes.producers, &classes.producer_classes, &producer_signatures);
    let partition_signatures: Vec<u64> = if classes.partition_classes.is_empty() {
        Vec::new()
    } else {
        state.partitions.iter().map(partition_signature).collect()
    };
    let partitions = sorting_renamings(classes.partitions, &classes.partition_classes, &partition_signatures);
    let mut best: Option<State> = None;
    for producers in &producers {
        for partitions in &partitions {
            let renaming = Renaming { producers: producers.clone(), partitions: partitions.clone() };
            let identity = renaming.producers.iter().enumerate().all(|(i, p)| usize::from(*p) == i)
                && renaming.partitions.iter().enumerate().all(|(i, p)| usize::from(*p) == i);
            let candidate = if identity { state.clone() } else { state.rename(&renaming) };
            if best.as_ref().is_none_or(|b| candidate < *b) {
                best = Some(candidate);
            }
        }
    }
    best.expect("at least one renaming")
}

/// The symmetry classes of a model, carried by every state so that `Representative` (which sees only the
/// state) can use them. Constant per model: it takes no part in equality, order or hashing.
#[derive(Clone)]
pub struct Symmetry(pub std::sync::Arc<Classes>);

impl Symmetry {
    /// The symmetry of `config`'s model.
    pub fn of(config: &Config) -> Symmetry {
        Symmetry(std::sync::Arc::new(Classes::of(config)))
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
        write!(f, "{:?} / {:?}", self.0.producer_classes, self.0.partition_classes)
    }
}

impl stateright::Representative for State {
    fn representative(&self) -> Self {
        representative(self, &self.symmetry.0)
    }
}
