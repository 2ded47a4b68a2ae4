//! A compact encoding of states for fingerprints, under a renaming: the state's fields packed into
//! 64-bit words, which are hashed. The renamed state is never built: containers are visited in their
//! renamed order and every name is renamed as it is written.
//!
//! The encoding is injective: every field has a fixed width ([`pack!`]), and variants and lengths come
//! before what they decide, so two different states give different words, and different fingerprints
//! up to hash collisions.
//! Collections whose order a renaming changes (the network, a client's requests and sequences) are
//! encoded as multisets: their size and the sum of their elements' own fingerprints. A state's shared
//! parts (clients, partitions, the coordinator: [`crate::shared`]) are encoded as their own
//! fingerprints, which they remember.
//!
//! Struct patterns name every field (no `..`): a field added to a state type does not compile until
//! it is encoded here.

use super::Renaming;
use crate::client::Client;
use crate::collections::IndexSet;
use crate::coordinator::{Coordinator, InFlightAppend, PendingMarkers, TxnRecord};
use crate::group::{Group, GroupProducer, GroupState, PendingOffset};
use crate::history::{History, Milestone};
use crate::message::{Marker, Message, Reply, Request, RequestBody};
use crate::partition::{AbortedTxn, LogEntry, PartitionState, ProducerStateEntry};
use crate::shared::Shared;
use crate::state::{Budget, State};
use crate::types::*;
use std::hash::{BuildHasher, Hasher};

/// Hashes 64-bit words: what every value's encoding ends in.
pub struct Encoder {
    hasher: ahash::AHasher,
}

impl Default for Encoder {
    fn default() -> Self {
        Encoder::new()
    }
}

impl Encoder {
    /// An encoder with fixed hash keys, so that fingerprints (and so state counts) are the same every run.
    #[inline]
    pub fn new() -> Encoder {
        let keys =
            ahash::RandomState::with_seeds(0x243f_6a88_85a3_08d3, 0x1319_8a2e_0370_7344, 0xa409_3822, 0x082e_fa98);
        Encoder { hasher: keys.build_hasher() }
    }

    /// Appends one word.
    #[inline]
    pub fn word(&mut self, w: u64) {
        self.hasher.write_u64(w)
    }

    /// Appends a count (a length before the items it counts).
    #[inline]
    pub fn count(&mut self, n: usize) {
        self.word(n as u64)
    }

    /// The elements of a collection whose order does not matter: their number and the sum of their
    /// fingerprints.
    pub fn multiset<T>(
        &mut self,
        items: impl Iterator<Item = T>,
        r: &Renaming,
        encode: impl Fn(&T, &Renaming, &mut Encoder),
    ) {
        let (mut count, mut sum) = (0u64, 0u64);
        for item in items {
            let mut one = Encoder::new();
            encode(&item, r, &mut one);
            sum = sum.wrapping_add(one.finish());
            count += 1;
        }
        self.word(count);
        self.word(sum);
    }

    /// The fingerprint of everything appended.
    #[inline]
    pub fn finish(self) -> u64 {
        self.hasher.finish()
    }
}

/// Where each field of a packed group goes: computed at compile time by [`pack!`].
pub struct Layout {
    word: [usize; Layout::FIELDS],
    shift: [u32; Layout::FIELDS],
    /// Words the group takes.
    pub words: usize,
}

impl Layout {
    /// The most fields a group may have.
    pub const FIELDS: usize = 16;

    /// Fields of these widths, in order, none straddling two words.
    pub const fn of(widths: &[u32]) -> Layout {
        assert!(widths.len() <= Layout::FIELDS);
        let mut layout = Layout { word: [0; Layout::FIELDS], shift: [0; Layout::FIELDS], words: 0 };
        let (mut at, mut i) = (0u32, 0);
        while i < widths.len() {
            assert!(widths[i] <= 64);
            if at % 64 + widths[i] > 64 {
                at = (at / 64 + 1) * 64;
            }
            layout.word[i] = (at / 64) as usize;
            layout.shift[i] = at % 64;
            at += widths[i];
            i += 1;
        }
        layout.words = at.div_ceil(64) as usize;
        assert!(layout.words <= 4);
        layout
    }

    /// The word of field `i` and its position in it.
    #[inline(always)]
    pub const fn place(&self, i: usize) -> (usize, u32) {
        (self.word[i], self.shift[i])
    }
}

/// `pack!(encoder, [(value, width), ...])` appends the values (unsigned, each below `2^width`)
/// packed into as few words as their widths allow, laid out at compile time. Every field takes its
/// type's full width, so packing is injective.
macro_rules! pack {
    ($e:expr, [$(($value:expr, $width:expr)),+ $(,)?]) => {{
        const WIDTHS: &[u32] = &[$($width),+];
        const LAYOUT: Layout = Layout::of(WIDTHS);
        let values: [u64; WIDTHS.len()] = [$(u64::from($value)),+];
        let mut words = [0u64; 4];
        let mut i = 0;
        while i < values.len() {
            debug_assert!(WIDTHS[i] == 64 || values[i] >> WIDTHS[i] == 0, "a packed value is wider than its field");
            let (word, shift) = LAYOUT.place(i);
            words[word] |= values[i] << shift;
            i += 1;
        }
        for w in &words[..LAYOUT.words] {
            $e.word(*w);
        }
    }};
}

// Field values of the types the model uses, each of a fixed width.

/// An epoch: 16 bits.
#[inline(always)]
fn epoch(x: Epoch) -> u16 {
    x as u16
}

/// A sequence, generation or coordinator epoch: 32 bits.
#[inline(always)]
fn int32(x: i32) -> u32 {
    x as u32
}

/// An offset or producer id in 32 bits (the model's are far smaller: this never panics).
#[inline(always)]
fn int(x: i64) -> u32 {
    i32::try_from(x).expect("model offsets and producer ids are small") as u32
}

/// An optional offset or producer id: 33 bits.
#[inline(always)]
pub(crate) fn option_int(x: Option<i64>) -> u64 {
    x.map_or(0, |x| 1 | u64::from(int(x)) << 1)
}

/// A renamed attempt: 16 bits.
#[inline(always)]
fn attempt(a: Attempt, r: &Renaming) -> u16 {
    u16::from(r.producer(a.producer)) | u16::from(a.index) << 8
}

/// An optional renamed attempt: 17 bits.
#[inline(always)]
fn option_attempt(a: Option<Attempt>, r: &Renaming) -> u32 {
    a.map_or(0, |a| 1 | u32::from(attempt(a, r)) << 1)
}

/// A renamed record value: 28 bits.
#[inline(always)]
fn value(v: Value, r: &Renaming) -> u32 {
    match v {
        Value::Produced { attempt: a, partition, batch } => {
            debug_assert!(batch < 8, "batch {batch} outside the model's limits");
            u32::from(attempt(a, r)) << 1 | u32::from(r.partition(partition)) << 17 | u32::from(batch) << 25
        }
        Value::Copied { input } => 1 | u32::from(input) << 1,
    }
}

/// A renamed transaction partition: 9 bits.
#[inline(always)]
fn txn_partition(t: TxnPartition, r: &Renaming) -> u16 {
    match t {
        TxnPartition::Data(p) => u16::from(r.partition(p)) << 1,
        TxnPartition::Offsets => 1,
    }
}

/// An optional renamed transactional id: 9 bits.
#[inline(always)]
fn option_txn(t: Option<TxnId>, r: &Renaming) -> u16 {
    t.map_or(0, |t| 1 | u16::from(r.txn(t)) << 1)
}

/// A set: 32 bits.
#[inline(always)]
fn set<T: crate::collections::Indexed>(s: IndexSet<T>) -> u32 {
    s.bits()
}

/// Types that can be appended to an [`Encoder`] under a renaming.
pub trait Encode {
    /// Appends `self` as renamed by `r`.
    fn encode(&self, r: &Renaming, e: &mut Encoder);
}

/// A shared part is encoded as its fingerprint under the renaming, which it remembers ([`Shared`]): a
/// state's other parts are usually those of its parent, fingerprinted under the same renaming.
impl<T: Encode> Encode for Shared<T> {
    fn encode(&self, r: &Renaming, e: &mut Encoder) {
        e.word(self.fingerprint(r.key(), *r == Renaming::IDENTITY, |value| fingerprint(value, r)))
    }
}

/// Renames the attempts of a set (a no-op unless producers are renamed).
#[inline]
fn attempts(set: IndexSet<Attempt>, r: &Renaming) -> IndexSet<Attempt> {
    if r.renames_producers() {
        set.map(|a| Attempt { producer: r.producer(a.producer), index: a.index })
    } else {
        set
    }
}

/// Renames a set of transaction partitions (a no-op unless partitions are renamed).
#[inline]
fn txn_partitions(set: IndexSet<TxnPartition>, r: &Renaming) -> IndexSet<TxnPartition> {
    if r.renames_partitions() {
        set.map(|p| match p {
            TxnPartition::Data(p) => TxnPartition::Data(r.partition(p)),
            TxnPartition::Offsets => TxnPartition::Offsets,
        })
    } else {
        set
    }
}

impl Encode for RequestBody {
    fn encode(&self, r: &Renaming, e: &mut Encoder) {
        match *self {
            RequestBody::InitProducerId { txn, expected } => {
                let (pid, ep) = expected.unwrap_or((0, 0));
                pack!(e, [(0u8, 3), (option_txn(txn, r), 9), (expected.is_some(), 1), (int(pid), 32), (epoch(ep), 16)])
            }
            RequestBody::AddPartitionsToTxn { txn, producer_id, epoch: ep, partition } => pack!(
                e,
                [(1u8, 3), (r.txn(txn), 8), (r.partition(partition), 8), (epoch(ep), 16), (int(producer_id), 32)]
            ),
            RequestBody::AddOffsetsToTxn { txn, producer_id, epoch: ep, group } => {
                pack!(e, [(2u8, 3), (r.txn(txn), 8), (epoch(ep), 16), (int(producer_id), 32), (group, 2)])
            }
            RequestBody::Produce { partition, txn, producer_id, epoch: ep, sequence, value: v } => pack!(
                e,
                [
                    (3u8, 3),
                    (r.partition(partition), 8),
                    (option_txn(txn, r), 9),
                    (epoch(ep), 16),
                    (option_int(producer_id), 33),
                    (int32(sequence), 32),
                    (value(v, r), 28),
                ]
            ),
            RequestBody::TxnOffsetCommit { txn, producer_id, epoch: ep, group, generation, offset } => pack!(
                e,
                [
                    (4u8, 3),
                    (group, 2),
                    (r.txn(txn), 8),
                    (epoch(ep), 16),
                    (int(producer_id), 32),
                    (int32(generation), 32),
                    (int(offset), 32),
                ]
            ),
            RequestBody::OffsetCommit { generation, offset } => {
                pack!(e, [(5u8, 3), (int32(generation), 32), (int(offset), 32)])
            }
            RequestBody::EndTxn { txn, producer_id, epoch: ep, commit } => {
                pack!(e, [(6u8, 3), (r.txn(txn), 8), (epoch(ep), 16), (commit, 1), (int(producer_id), 32)])
            }
        }
    }
}

impl Encode for Request {
    fn encode(&self, r: &Renaming, e: &mut Encoder) {
        let Request { from, attempt: index, send, body } = self;
        pack!(e, [(r.producer(*from), 8), (*index, 8), (*send, 8)]);
        body.encode(r, e);
    }
}

impl Encode for Reply {
    fn encode(&self, _: &Renaming, e: &mut Encoder) {
        let Reply { error, producer_id, epoch: ep, offset } = *self;
        let ep = ep.map_or(0, |x| 1 | u32::from(epoch(x)) << 1);
        pack!(e, [(error as u8, 8), (ep, 17), (option_int(producer_id), 33), (option_int(offset), 33)])
    }
}

impl Encode for Marker {
    fn encode(&self, r: &Renaming, e: &mut Encoder) {
        let Marker { target, txn, producer_id, epoch: ep, commit, coordinator_epoch, transaction_version, ends } =
            *self;
        pack!(
            e,
            [
                (txn_partition(target, r), 9),
                (r.txn(txn), 8),
                (epoch(ep), 16),
                (commit, 1),
                (transaction_version, 8),
                (int(producer_id), 32),
                (int32(coordinator_epoch), 32),
                (set(attempts(ends, r)), 32),
            ]
        )
    }
}

impl Encode for Message {
    fn encode(&self, r: &Renaming, e: &mut Encoder) {
        match self {
            Message::Request(request) => {
                e.word(0);
                request.encode(r, e);
            }
            Message::Response { request, reply } => {
                e.word(1);
                request.encode(r, e);
                reply.encode(r, e);
            }
            Message::Marker(marker) => {
                e.word(2);
                marker.encode(r, e);
            }
            Message::MarkerResponse { marker, error } => {
                e.word(3 | u64::from(*error as u8) << 8);
                marker.encode(r, e);
            }
            Message::Verify { request, guard } => {
                e.word(4 | u64::from(*guard) << 8);
                request.encode(r, e);
            }
            Message::VerifyResponse { request, guard, error } => {
                e.word(5 | u64::from(*guard) << 8 | u64::from(*error as u8) << 16);
                request.encode(r, e);
            }
        }
    }
}

impl Encode for LogEntry {
    fn encode(&self, r: &Renaming, e: &mut Encoder) {
        match *self {
            LogEntry::Data { producer_id, epoch: ep, sequence, transactional, value: v, attempt: a } => pack!(
                e,
                [
                    (false, 1),
                    (transactional, 1),
                    (epoch(ep), 16),
                    (option_int(producer_id), 33),
                    (int32(sequence), 32),
                    (value(v, r), 28),
                    (attempt(a, r), 16),
                ]
            ),
            LogEntry::Control { producer_id, epoch: ep, commit, coordinator_epoch, ends } => pack!(
                e,
                [
                    (true, 1),
                    (commit, 1),
                    (epoch(ep), 16),
                    (int(producer_id), 32),
                    (int32(coordinator_epoch), 32),
                    (set(attempts(ends, r)), 32),
                ]
            ),
        }
    }
}

impl Encode for ProducerStateEntry {
    fn encode(&self, _: &Renaming, e: &mut Encoder) {
        let ProducerStateEntry { epoch: ep, batches, coordinator_epoch, open_transaction } = *self;
        let count = batches.iter().count() as u8;
        pack!(e, [(epoch(ep), 16), (count, 8), (int32(coordinator_epoch), 32), (option_int(open_transaction), 33)]);
        for (sequence, offset) in batches.iter() {
            pack!(e, [(int32(sequence), 32), (int(offset), 32)]);
        }
    }
}

impl Encode for PartitionState {
    fn encode(&self, r: &Renaming, e: &mut Encoder) {
        let PartitionState { log, producers, aborted, verifications, guards_issued } = self;
        e.count(log.len());
        for entry in log {
            entry.encode(r, e);
        }
        e.count(producers.len());
        for (pid, entry) in producers.iter() {
            e.word(u64::from(int(*pid)));
            entry.encode(r, e);
        }
        e.count(aborted.len());
        for AbortedTxn { producer_id, first_offset, last_offset } in aborted {
            pack!(e, [(int(*producer_id), 32), (int(*first_offset), 32), (int(*last_offset), 32)]);
        }
        e.count(verifications.len());
        for (pid, v) in verifications.iter() {
            pack!(e, [(int(*pid), 32), (v.guard, 8), (int32(v.lowest_sequence), 32), (epoch(v.epoch), 16)]);
        }
        e.word(u64::from(*guards_issued));
    }
}

impl Encode for Client {
    fn encode(&self, r: &Renaming, e: &mut Encoder) {
        let Client {
            phase,
            producer_id,
            epoch: ep,
            attempt: index,
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
        pack!(
            e,
            [
                (*phase as u8, 8),
                (*offsets as u8, 6),
                (*offsets_group, 2),
                (*index, 8),
                (*position, 8),
                (*needs_epoch_bump, 1),
                (*fenced, 1),
                (*skip_end_txn, 1),
                (*fatal_by_fence, 1),
                (epoch(*ep), 16),
                (option_int(*producer_id), 33),
                (set(txn_partitions(*added, r)), 32),
            ]
        );
        for generation in generations {
            e.word(u64::from(int32(*generation)));
        }
        e.multiset(sent.iter(), r, |(p, n), r, e| pack!(e, [(r.partition(**p), 8), (**n, 8)]));
        e.multiset(next_sequence.iter(), r, |(p, s), r, e| pack!(e, [(r.partition(**p), 8), (int32(**s), 32)]));
        e.multiset(last_acked.iter(), r, |(p, s), r, e| pack!(e, [(r.partition(**p), 8), (int32(**s), 32)]));
        e.multiset(unresolved.iter(), r, |(p, s), r, e| pack!(e, [(r.partition(**p), 8), (int32(**s), 32)]));
        e.multiset(awaiting.iter(), r, |(request, status), r, e| {
            e.word(**status as u64);
            request.encode(r, e);
        });
    }
}

/// A cheap summary of a client that no renaming changes (part of its transactional id's signature).
pub fn encode_client_summary(c: &Client, e: &mut Encoder) {
    let requests = c.awaiting.len() as u8;
    pack!(e, [(c.phase as u8, 8), (c.attempt, 8), (requests, 8), (epoch(c.epoch), 16), (option_int(c.producer_id), 33)])
}

/// A log entry with every name erased, in one word (not 0).
pub fn blind_entry(entry: &LogEntry) -> u64 {
    let (kind, flag) = match entry {
        LogEntry::Data { transactional, .. } => (1u64, *transactional),
        LogEntry::Control { commit, .. } => (2u64, *commit),
    };
    kind | u64::from(flag) << 2 | u64::from(epoch(entry.epoch())) << 3 | option_int(entry.producer_id()) << 19
}

/// One transactional id at the coordinator: its record and its markers in flight.
pub fn encode_transaction(coordinator: &Coordinator, txn: TxnId, r: &Renaming, e: &mut Encoder) {
    let t = usize::from(txn);
    let PendingMarkers { pending, failed, completion_failed } = coordinator.markers[t];
    pack!(e, [(coordinator.pending_states[t].map_or(0, |s| s as u8 + 1), 8), (completion_failed, 1)]);
    let (pending, failed) = (set(txn_partitions(pending, r)), set(txn_partitions(failed, r)));
    match coordinator.log[t] {
        None => pack!(e, [(false, 1), (pending, 32), (failed, 32)]),
        Some(TxnRecord {
            producer_id,
            producer_epoch,
            last_producer_epoch,
            previous_producer_id: _,
            next_producer_id: _,
            state,
            partitions,
            members,
        }) => pack!(
            e,
            [
                (true, 1),
                (pending, 32),
                (failed, 32),
                (state as u8, 8),
                (epoch(producer_epoch), 16),
                (epoch(last_producer_epoch), 16),
                (int(producer_id), 32),
                (set(txn_partitions(partitions, r)), 32),
                (set(attempts(members, r)), 32),
            ]
        ),
    }
    if let Some(record) = &coordinator.log[t] {
        pack!(e, [(int(record.previous_producer_id), 32), (int(record.next_producer_id), 32)]);
    }
}

impl Encode for Coordinator {
    fn encode(&self, r: &Renaming, e: &mut Encoder) {
        let Coordinator { coordinator_epoch, log, markers, next_producer_id, pending_states: _, appends } = self;
        debug_assert_eq!(log.len(), markers.len());
        pack!(e, [(int32(*coordinator_epoch), 32), (int(*next_producer_id), 32)]);
        e.count(log.len());
        for new in 0..log.len() {
            encode_transaction(self, r.old_txn(new as u8), r, e);
        }
        if !appends.is_empty() {
            e.multiset(appends.iter(), r, |append, r, e| {
                let InFlightAppend { request, txn, coordinator_epoch, producer_ids_from } = append;
                pack!(e, [(r.txn(*txn), 8), (int32(*coordinator_epoch), 32), (int(*producer_ids_from), 32)]);
                request.encode(r, e);
            });
        }
    }
}

impl Encode for GroupState {
    fn encode(&self, r: &Renaming, e: &mut Encoder) {
        let GroupState { groups, producers, deferred } = self;
        e.count(groups.len());
        for Group { generation, member, committed, committed_by, pending } in groups {
            let member = member.map_or(0, |m| 1 | u16::from(r.producer(m)) << 1);
            pack!(
                e,
                [
                    (int32(*generation), 32),
                    (member, 9),
                    (option_attempt(*committed_by, r), 17),
                    (option_int(*committed), 33)
                ]
            );
            e.count(pending.len());
            for (pid, PendingOffset { offset, epoch: ep, newer_than_committed, attempt: a }) in pending.iter() {
                pack!(
                    e,
                    [
                        (int(*pid), 32),
                        (int(*offset), 32),
                        (epoch(*ep), 16),
                        (attempt(*a, r), 16),
                        (*newer_than_committed, 1)
                    ]
                );
            }
        }
        e.count(producers.len());
        for (pid, GroupProducer { epoch: ep, coordinator_epoch }) in producers.iter() {
            pack!(e, [(int(*pid), 32), (epoch(*ep), 16), (int32(*coordinator_epoch), 32)]);
        }
        e.count(deferred.len());
        for (pid, commit) in deferred.iter() {
            pack!(e, [(int(*pid), 32), (*commit, 1)]);
        }
    }
}

impl Encode for History {
    fn encode(&self, r: &Renaming, e: &mut Encoder) {
        let History { decisions, acknowledged, offset_fates, violations, milestones, fenced_instances } = self;
        let fenced_instances = fenced_instances.map(|p| r.producer(p));
        let milestones = if r.renames_txns() {
            milestones.map(|m| match m {
                Milestone::TimeoutAbort(t) => Milestone::TimeoutAbort(r.txn(t)),
                Milestone::FailoverResumedPrepare(t) => Milestone::FailoverResumedPrepare(r.txn(t)),
                other => other,
            })
        } else {
            *milestones
        };
        let (decided, committed) = decisions.sets();
        let (acknowledged, acknowledged_commit) = acknowledged.sets();
        let (offsets_ended, offsets_committed) = offset_fates.sets();
        pack!(
            e,
            [
                (set(attempts(decided, r)), 32),
                (set(attempts(committed, r)), 32),
                (set(attempts(acknowledged, r)), 32),
                (set(attempts(acknowledged_commit, r)), 32),
                (set(attempts(offsets_ended, r)), 32),
                (set(attempts(offsets_committed, r)), 32),
                (set(*violations), 32),
                (set(milestones), 32),
            ]
        );
        pack!(e, [(set(fenced_instances), 32)])
    }
}

impl Encode for Budget {
    fn encode(&self, _: &Renaming, e: &mut Encoder) {
        let Budget {
            losses,
            duplicates,
            marker_duplicates,
            producer_crashes,
            coordinator_failovers,
            timeouts,
            producer_expirations,
            transactional_id_expirations,
            txn_log_append_failures,
            completion_append_failures,
            group_rebalances,
            batch_expirations,
        } = *self;
        pack!(
            e,
            [
                // Each budget is at most MAX_FAULTS (6): 4 bits keep the whole budget in one word.
                (losses, 4),
                (duplicates, 4),
                (marker_duplicates, 4),
                (producer_crashes, 4),
                (coordinator_failovers, 4),
                (timeouts, 4),
                (producer_expirations, 4),
                (transactional_id_expirations, 4),
                (txn_log_append_failures, 4),
                (completion_append_failures, 4),
                (group_rebalances, 4),
                (batch_expirations, 4)
            ]
        )
    }
}

const _: () = assert!(crate::config::MAX_FAULTS < 16, "a budget's 4-bit field holds MAX_FAULTS");

impl Encode for State {
    fn encode(&self, r: &Renaming, e: &mut Encoder) {
        let State { clients, coordinator, partitions, group, network, budget, history, symmetry: _, canonical } = self;
        debug_assert!(canonical.is_none(), "a stand-in is not encoded again");
        e.count(clients.len());
        for new in 0..clients.len() {
            clients[usize::from(r.old_producer(new as u8))].encode(r, e);
        }
        coordinator.encode(r, e);
        e.count(partitions.len());
        for new in 0..partitions.len() {
            partitions[usize::from(r.old_partition(new as u8))].encode(r, e);
        }
        group.encode(r, e);
        e.multiset(network.iter(), r, |(message, copies), r, e| {
            e.word(u64::from(**copies));
            message.encode(r, e);
        });
        budget.encode(r, e);
        history.encode(r, e);
    }
}

/// The fingerprint of `x` under `r`.
pub fn fingerprint<T: Encode + ?Sized>(x: &T, r: &Renaming) -> u64 {
    let mut e = Encoder::new();
    x.encode(r, &mut e);
    e.finish()
}
