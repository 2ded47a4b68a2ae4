//! Symmetry reduction: states that differ only by a renaming of interchangeable producer instances,
//! transactional ids or partitions are explored once (stateright's symmetry, with DFS and simulation).
//!
//! What is interchangeable ([`Classes`]): transactional ids, each with its block of producer instances
//! (every id runs the same script; producer ids are handed out in arrival order, so they are data, not
//! names); the instances of one transactional id when each may start at any time (zombie scenarios:
//! with restart-after-crash their order matters); partitions that the script treats alike (not in the
//! copier, which routes by input offset).
//!
//! How it is cheap. stateright only fingerprints what the symmetry function returns, so instead of a
//! representative state the function returns a *stand-in* ([`State::stand_in`]): an empty state that
//! carries the fingerprint of the state's canonical form. The canonical form is never built either:
//! 1. every member of a class gets a *signature*, what it is that no renaming changes (a partition's
//!    log without the names in it, a transactional id's producer id and record, ...): what changes
//!    least first, so that the sort below rarely changes from a state to the next;
//! 2. the candidate renamings sort each class by signature; members with equal signatures are tried in
//!    every order (usually there is one candidate);
//! 3. the state is hashed as it would be under each candidate ([`fingerprint`]: containers visited in
//!    their renamed order, small values renamed one at a time) and the least hash is the canonical
//!    fingerprint. The candidates of every renaming of a state are the same set of renamed states, so
//!    they all get the same fingerprint; different orbits get different ones (up to hash collisions,
//!    which stateright's 64-bit fingerprints risk anyway).
//!
//! A new state field must be handled in three places, and the compiler points at all three (their
//! struct patterns name every field): [`rename`] (the reference renaming), [`fingerprint`] (hash it,
//! renaming the indices it holds) and, if it says something about a class member, its signature
//! here (optional: a weaker signature only means more candidates). `tests/symmetry.rs` checks on every
//! reachable state of small scenarios that renamings are automorphisms of the model (actions, next
//! states, properties) and that two states share a canonical fingerprint exactly when one is a
//! renaming of the other: it catches a field that is not renamed or not hashed.

pub mod encode;
pub mod rename;

use crate::config::{Config, Restart, MAX_PARTITIONS, MAX_PRODUCERS};
use crate::state::State;
use crate::types::*;
use encode::fingerprint;
use std::hash::{Hash, Hasher};
use std::ops::Range;

/// The most members any class may have (producer instances, transactional ids, partitions).
const MAX: usize = 4;
const _: () = assert!(MAX_PRODUCERS as usize <= MAX && MAX_PARTITIONS as usize <= MAX);

/// A permutation of `0..MAX`: `new[old]` and its inverse `old[new]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Permutation {
    new: [u8; MAX],
    old: [u8; MAX],
}

impl Permutation {
    /// The identity.
    pub const IDENTITY: Permutation = Permutation { new: [0, 1, 2, 3], old: [0, 1, 2, 3] };

    /// The permutation that sends `old` to `new[old]` for every listed index (the rest stay put).
    pub fn from_new(new: &[u8]) -> Permutation {
        let mut p = Permutation::IDENTITY;
        for (old, n) in new.iter().enumerate() {
            p.new[old] = *n;
            p.old[usize::from(*n)] = old as u8;
        }
        p
    }
}

/// A renaming of producer instances, transactional ids and partitions (`old → new` each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Renaming {
    /// Producer instances (consistent with `txns`: an instance moves with its transactional id).
    pub producers: Permutation,
    /// Transactional ids.
    pub txns: Permutation,
    /// Partitions.
    pub partitions: Permutation,
}

impl Renaming {
    /// Renames nothing.
    pub const IDENTITY: Renaming =
        Renaming { producers: Permutation::IDENTITY, txns: Permutation::IDENTITY, partitions: Permutation::IDENTITY };

    /// Erases every name (not a permutation): what a class member's signature is encoded under, so
    /// that no renaming changes it.
    const BLIND: Renaming = {
        let erase = Permutation { new: [0; MAX], old: Permutation::IDENTITY.old };
        Renaming { producers: erase, txns: erase, partitions: erase }
    };

    /// A number that tells this renaming from every other (what [`crate::shared::Shared`] remembers a
    /// fingerprint by).
    pub fn key(&self) -> u64 {
        let packed = |p: &Permutation| p.new.iter().fold(0u64, |key, n| key << 2 | u64::from(*n));
        1 << 24 | packed(&self.producers) << 16 | packed(&self.txns) << 8 | packed(&self.partitions)
    }

    /// Whether producer instances change names.
    pub fn renames_producers(&self) -> bool {
        self.producers.new != Permutation::IDENTITY.new
    }
    /// Whether transactional ids change names.
    pub fn renames_txns(&self) -> bool {
        self.txns.new != Permutation::IDENTITY.new
    }
    /// Whether partitions change names.
    pub fn renames_partitions(&self) -> bool {
        self.partitions.new != Permutation::IDENTITY.new
    }

    /// The new name of producer instance `p`.
    pub fn producer(&self, p: ProducerIndex) -> ProducerIndex {
        self.producers.new[usize::from(p)]
    }
    /// The new name of transactional id `t`.
    pub fn txn(&self, t: TxnId) -> TxnId {
        self.txns.new[usize::from(t)]
    }
    /// The new name of partition `p`.
    pub fn partition(&self, p: PartitionIndex) -> PartitionIndex {
        self.partitions.new[usize::from(p)]
    }
    /// The producer instance renamed to `new`.
    pub fn old_producer(&self, new: ProducerIndex) -> ProducerIndex {
        self.producers.old[usize::from(new)]
    }
    /// The transactional id renamed to `new`.
    pub fn old_txn(&self, new: TxnId) -> TxnId {
        self.txns.old[usize::from(new)]
    }
    /// The partition renamed to `new`.
    pub fn old_partition(&self, new: PartitionIndex) -> PartitionIndex {
        self.partitions.old[usize::from(new)]
    }
}

/// What is interchangeable in a model.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Classes {
    /// Transactional ids.
    pub transactional_ids: u8,
    /// Producer instances per transactional id (instance `i` of id `t` is producer `t * instances + i`).
    pub instances: u8,
    /// Whether transactional ids are interchangeable, each with its instances (in their order).
    pub transactional_ids_interchangeable: bool,
    /// Whether the instances of one transactional id are interchangeable.
    pub instances_interchangeable: bool,
    /// Groups of interchangeable partitions.
    pub partition_classes: Vec<Range<u8>>,
}

impl Classes {
    /// The symmetry of `config`'s model. Every transactional id runs the same script, so they are
    /// interchangeable (the copier has one); partitions are unless the copier routes by input offset.
    pub fn of(config: &Config) -> Classes {
        let per = config.partitions_per_transaction();
        let count = config.partitions.count;
        let p = &config.producers;
        Classes {
            transactional_ids: p.transactional_ids,
            instances: p.instances,
            transactional_ids_interchangeable: p.transactional_ids > 1,
            instances_interchangeable: p.restart == Restart::AnyTime && p.instances > 1,
            partition_classes: if config.is_copier() { Vec::new() } else { vec![0..per, per..count] },
        }
    }

    /// Whether any renaming besides the identity exists.
    pub fn is_trivial(&self) -> bool {
        !self.transactional_ids_interchangeable
            && !self.instances_interchangeable
            && self.partition_classes.iter().all(|c| c.len() <= 1)
    }

    /// Every renaming these classes allow (for tests).
    pub fn all_renamings(&self) -> Vec<Renaming> {
        let mut all = Vec::new();
        let runs = self.runs(|_| Signature::default(), |_| Signature::default(), |_| Signature::default());
        for_each_choice(self, &runs, &mut |r| all.push(*r));
        all
    }

    /// The runs of members to be placed, given each member's signature: every class sorted by
    /// signature and cut where the signature changes.
    fn runs(
        &self,
        txn: impl Fn(u8) -> Signature,
        instance: impl Fn(u8) -> Signature,
        partition: impl Fn(u8) -> Signature,
    ) -> Runs {
        let mut runs = Runs::default();
        if self.transactional_ids_interchangeable {
            runs.add_class(Domain::Txn, 0..self.transactional_ids, &txn);
        }
        if self.instances_interchangeable {
            for t in 0..self.transactional_ids {
                let first = t * self.instances;
                runs.add_class(Domain::Instance, first..first + self.instances, &instance);
            }
        }
        for class in &self.partition_classes {
            runs.add_class(Domain::Partition, class.clone(), &partition);
        }
        runs
    }
}

/// Which names a run places.
#[derive(Clone, Copy, Debug, Default)]
enum Domain {
    /// Transactional ids.
    #[default]
    Txn,
    /// Producer instances within their transactional id's block.
    Instance,
    /// Partitions.
    Partition,
}

/// Members with equal signatures and the slots (new names) they take, in any order.
#[derive(Clone, Copy, Debug, Default)]
struct Run {
    domain: Domain,
    members: [u8; MAX],
    slots: [u8; MAX],
    len: u8,
}

/// Every run of a state's classes.
#[derive(Default)]
struct Runs {
    runs: [Run; 3 * MAX],
    len: usize,
}

impl Runs {
    /// Sorts `class` by `signature` and adds its runs of equal signatures.
    fn add_class(&mut self, domain: Domain, class: Range<u8>, signature: &impl Fn(u8) -> Signature) {
        let mut members = [0u8; MAX];
        let n = class.len();
        for (i, m) in class.clone().enumerate() {
            members[i] = m;
        }
        members[..n].sort_unstable_by_key(|m| signature(*m));
        let mut start = 0;
        while start < n {
            let key = signature(members[start]);
            let end = start + members[start..n].iter().take_while(|m| signature(**m) == key).count();
            let mut run = Run { domain, len: (end - start) as u8, ..Run::default() };
            for (k, i) in (start..end).enumerate() {
                run.members[k] = members[i];
                run.slots[k] = class.start + i as u8;
            }
            self.runs[self.len] = run;
            self.len += 1;
            start = end;
        }
    }
}

/// Calls `f` with every renaming that places each run's members on its slots, in every order. An
/// instance keeps its place in its transactional id's block, which moves with the id.
fn for_each_choice(classes: &Classes, runs: &Runs, f: &mut impl FnMut(&Renaming)) {
    struct Choice {
        txns: Permutation,
        instances: Permutation,
        partitions: Permutation,
    }
    fn place(classes: &Classes, runs: &[Run], c: &mut Choice, f: &mut impl FnMut(&Renaming)) {
        let Some((run, rest)) = runs.split_first() else {
            let n = classes.instances;
            let mut producers = Permutation::IDENTITY;
            for old in 0..classes.transactional_ids * n {
                let (txn, slot) = (old / n, c.instances.new[usize::from(old)]);
                let new = c.txns.new[usize::from(txn)] * n + slot % n;
                producers.new[usize::from(old)] = new;
                producers.old[usize::from(new)] = old;
            }
            return f(&Renaming { producers, txns: c.txns, partitions: c.partitions });
        };
        let mut order = run.members;
        for_each_permutation(&mut order[..usize::from(run.len)], 0, &mut |members| {
            let p = match run.domain {
                Domain::Txn => &mut c.txns,
                Domain::Instance => &mut c.instances,
                Domain::Partition => &mut c.partitions,
            };
            for (member, slot) in members.iter().zip(&run.slots) {
                p.new[usize::from(*member)] = *slot;
                p.old[usize::from(*slot)] = *member;
            }
            place(classes, rest, c, f);
        });
    }
    let mut choice =
        Choice { txns: Permutation::IDENTITY, instances: Permutation::IDENTITY, partitions: Permutation::IDENTITY };
    place(classes, &runs.runs[..runs.len], &mut choice, f);
}

/// Calls `f` with every permutation of `items[k..]` (after `items[..k]`).
fn for_each_permutation(items: &mut [u8], k: usize, f: &mut impl FnMut(&[u8])) {
    if k + 1 >= items.len() {
        return f(items);
    }
    for i in k..items.len() {
        items.swap(k, i);
        for_each_permutation(items, k + 1, f);
        items.swap(k, i);
    }
}

/// A class member's signature, compared in order: what no renaming changes, its parts that change
/// least often first (so that the sorting renaming, and with it the fingerprints the state's shared
/// parts remember, stays the same from a state to its successors), and a hash of the rest.
type Signature = [u64; 3];

/// The fingerprint of `state`'s canonical form: the least fingerprint of the renamings that sort every
/// class by signature.
pub fn canonical_fingerprint(state: &State) -> u64 {
    let classes = state.symmetry.classes();
    if classes.is_trivial() {
        return fingerprint(state, &Renaming::IDENTITY);
    }
    let mut instance_signatures = [Signature::default(); MAX];
    if classes.instances_interchangeable {
        for (i, c) in state.clients.iter().enumerate() {
            let blind = c.signature(|c| fingerprint(c, &Renaming::BLIND));
            instance_signatures[i] = [encode::option_int(c.producer_id), 0, blind];
        }
    }
    let mut txn_signatures = [Signature::default(); MAX];
    if classes.transactional_ids_interchangeable {
        for t in 0..classes.transactional_ids {
            txn_signatures[usize::from(t)] = txn_signature(state, classes, t, &instance_signatures);
        }
    }
    let mut partition_signatures = [Signature::default(); MAX];
    if !classes.partition_classes.is_empty() {
        for (i, p) in state.partitions.iter().enumerate() {
            let first = |n: usize| p.log.get(n).map_or(0, encode::blind_entry);
            partition_signatures[i] = [first(0), first(1), p.signature(|p| fingerprint(p, &Renaming::BLIND))];
        }
    }
    let runs = classes.runs(
        |t| txn_signatures[usize::from(t)],
        |p| instance_signatures[usize::from(p)],
        |p| partition_signatures[usize::from(p)],
    );
    let mut best = u64::MAX;
    for_each_choice(classes, &runs, &mut |r| best = best.min(fingerprint(state, r)));
    best
}

/// A transactional id's signature: its producer id (assigned once), then its coordinator record with
/// names erased and a summary of each of its instances (in instance order, or as a multiset when they
/// are interchangeable).
fn txn_signature(state: &State, classes: &Classes, txn: TxnId, instance_signatures: &[Signature; MAX]) -> Signature {
    let mut e = encode::Encoder::new();
    encode::encode_transaction(&state.coordinator, txn, &Renaming::BLIND, &mut e);
    let first = usize::from(txn * classes.instances);
    let instances = first..first + usize::from(classes.instances);
    if classes.instances_interchangeable {
        e.word(instance_signatures[instances].iter().fold(0, |sum, s| sum.wrapping_add(s[2])));
    } else {
        for c in &state.clients[instances] {
            encode::encode_client_summary(c, &mut e);
        }
    }
    let producer_id = state.coordinator.record(txn).map(|r| r.producer_id);
    [encode::option_int(producer_id), 0, e.finish()]
}

/// A state's hash is its fingerprint (the stand-in's: the canonical fingerprint it carries): cheaper
/// than a derived hash, and consistent with equality, which compares every field the encoding writes.
impl Hash for State {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(self.canonical.unwrap_or_else(|| fingerprint(self, &Renaming::IDENTITY)))
    }
}

/// The symmetry function the checker is given (`CheckerBuilder::symmetry_fn`): the stand-in that
/// carries `state`'s canonical fingerprint.
pub fn stand_in(state: &State) -> State {
    State::stand_in(canonical_fingerprint(state))
}

/// The symmetry classes of a model, carried by every state so that the symmetry function (which sees
/// only the state) can use them. Constant per model: it takes no part in equality, order or hashing.
/// A shared reference (each distinct [`Classes`] is allocated once and kept), so that copying a state
/// touches no reference count that threads would contend for.
#[derive(Clone, Copy)]
pub struct Symmetry(&'static Classes);

/// The classes of the stand-in: nothing is interchangeable.
static NO_CLASSES: Classes = Classes {
    transactional_ids: 0,
    instances: 0,
    transactional_ids_interchangeable: false,
    instances_interchangeable: false,
    partition_classes: Vec::new(),
};

impl Symmetry {
    /// The symmetry of `config`'s model.
    pub fn of(config: &Config) -> Symmetry {
        Symmetry(intern(Classes::of(config)))
    }

    /// Its classes.
    pub fn classes(&self) -> &'static Classes {
        self.0
    }
}

/// The one shared copy of `classes`.
fn intern(classes: Classes) -> &'static Classes {
    static INTERNED: std::sync::Mutex<Vec<&'static Classes>> = std::sync::Mutex::new(Vec::new());
    let mut interned = INTERNED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(existing) = interned.iter().find(|c| ***c == classes) {
        return existing;
    }
    let kept: &'static Classes = Box::leak(Box::new(classes));
    interned.push(kept);
    kept
}

impl Default for Symmetry {
    fn default() -> Self {
        Symmetry(&NO_CLASSES)
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
impl Hash for Symmetry {
    fn hash<H: Hasher>(&self, _: &mut H) {}
}
impl std::fmt::Debug for Symmetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = self.0;
        write!(
            f,
            "transactional ids interchangeable: {}, instances interchangeable: {}, partitions {:?}",
            c.transactional_ids_interchangeable, c.instances_interchangeable, c.partition_classes
        )
    }
}
