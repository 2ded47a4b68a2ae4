//! The group coordinator of `copier-group` and, with `copier.groups = 2`, `copier-group-1` (specs/eos.md §6): committed offsets, pending transactional
//! offsets materialised or dropped by markers, OffsetFetch with require_stable, and KIP-447's
//! generation check.

use crate::collections::{InlineVec, SmallMap};
use crate::config::Config;
use crate::history::History;
use crate::message::Marker;
use crate::types::*;

/// Offsets written by TxnOffsetCommit, waiting for the transaction's marker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PendingOffset {
    /// The offset to commit.
    pub offset: Offset,
    /// The producer epoch it was written with.
    pub epoch: Epoch,
    /// Whether its record is later in the offsets log than the committed offset's (a commit written
    /// since makes it older: it then never materialises, specs/eos.md §6).
    pub newer_than_committed: bool,
    /// Ghost: the attempt that sent it.
    pub attempt: Attempt,
}

/// The offsets partition's producer state for one producer id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupProducer {
    /// Latest epoch seen.
    pub epoch: Epoch,
    /// Coordinator epoch of the last marker (-1 before any).
    pub coordinator_epoch: i32,
}

/// One consumer group: its membership, its committed offset and its pending transactional offsets.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Group {
    /// +1 at every join.
    pub generation: i32,
    /// The current member (a producer instance).
    pub member: Option<ProducerIndex>,
    /// The committed offset of input partition `in-0`.
    pub committed: Option<Offset>,
    /// Ghost: the attempt whose transaction committed it (`None` for a plain OffsetCommit).
    pub committed_by: Option<Attempt>,
    /// Pending transactional offsets per producer id.
    pub pending: SmallMap<ProducerId, PendingOffset>,
}

impl Group {
    /// A copier instance joins, or the member rejoins in a rebalance: a new generation with it as the
    /// member.
    pub fn join(&mut self, member: ProducerIndex) {
        self.generation += 1;
        self.member = Some(member);
    }

    /// KIP-447's fencing of a zombie copier, in Kafka's order (`ClassicGroup.validateOffsetCommit`):
    /// an instance that is not the group's member → `UNKNOWN_MEMBER_ID` (a new instance's join
    /// removed it); the member with another generation → `ILLEGAL_GENERATION`.
    fn check_member(&self, from: ProducerIndex, generation: i32) -> Option<ErrorCode> {
        if self.member != Some(from) {
            Some(ErrorCode::UnknownMemberId)
        } else if generation != self.generation {
            Some(ErrorCode::IllegalGeneration)
        } else {
            None
        }
    }

    /// A commit of `offset` (by `attempt`'s transaction, or a plain one): every pending offset's record
    /// is now older than the committed one's.
    fn commit(&mut self, offset: Offset, attempt: Option<Attempt>) {
        self.committed = Some(offset);
        self.committed_by = attempt;
        for (_, pending) in self.pending.iter_mut() {
            pending.newer_than_committed = false;
        }
    }

    /// OffsetFetch with require_stable.
    pub fn offset_fetch(&self) -> Result<Option<Offset>, ErrorCode> {
        if self.pending.is_empty() {
            Ok(self.committed)
        } else {
            Err(ErrorCode::UnstableOffsetCommit)
        }
    }
}

/// The group coordinator: every consumer group of the scenario, and the producer state of the one
/// offsets partition `__consumer_offsets-0` they all keep their offsets on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupState {
    /// The groups, by [`GroupIndex`] (`copier-group` first).
    pub groups: InlineVec<Group, 2>,
    /// Producer state of the offsets partition.
    pub producers: SmallMap<ProducerId, GroupProducer>,
    /// Markers written and answered but whose offsets are not materialised yet, per producer id (the
    /// result: commit or abort). Only before KAFKA-17507's fix, which completes them before answering.
    pub deferred: SmallMap<ProducerId, bool>,
}

impl GroupState {
    /// `groups` groups nobody has joined, over an empty offsets partition.
    pub fn new(groups: u8) -> Self {
        GroupState { groups: (0..groups).map(|_| Group::default()).collect(), ..GroupState::default() }
    }

    /// Group `group` (the first is `copier-group`, the one the copier fetches its position from).
    pub fn group(&self, group: GroupIndex) -> &Group {
        &self.groups[usize::from(group)]
    }

    /// Group `group`, to change.
    pub fn group_mut(&mut self, group: GroupIndex) -> &mut Group {
        &mut self.groups[usize::from(group)]
    }

    /// Whether any group has transactional offsets pending.
    pub fn has_pending(&self) -> bool {
        self.groups.iter().any(|g| !g.pending.is_empty())
    }

    /// The producer ids with offsets pending in some group, each with one of its pending offsets.
    pub fn pending(&self) -> impl Iterator<Item = (&ProducerId, &PendingOffset)> {
        self.groups.iter().flat_map(|g| g.pending.iter())
    }

    /// Whether `pid` has offsets pending at `epoch` in any group: its transaction is open on the
    /// offsets partition, which every group shares.
    pub fn has_open_transaction(&self, pid: ProducerId, epoch: Epoch) -> bool {
        self.pending().any(|(p, offset)| *p == pid && offset.epoch == epoch)
    }

    /// The checks of TxnOffsetCommit for `group` before verification / implicit add.
    #[allow(clippy::too_many_arguments)]
    pub fn check_txn_offset_commit(
        &self,
        config: &Config,
        group: GroupIndex,
        from: ProducerIndex,
        generation: i32,
        pid: ProducerId,
        epoch: Epoch,
    ) -> Option<ErrorCode> {
        if let Some(error) = self.group(group).check_member(from, generation) {
            return Some(error);
        }
        let seen = self.producers.get(&pid).map_or(NO_EPOCH, |p| p.epoch);
        (config.guards.fencing && epoch < seen).then_some(ErrorCode::InvalidProducerEpoch)
    }

    /// TxnOffsetCommit for `group` after its checks passed: the offsets become pending.
    pub fn write_pending(
        &mut self,
        group: GroupIndex,
        pid: ProducerId,
        epoch: Epoch,
        offset: Offset,
        attempt: Attempt,
    ) {
        let pending = PendingOffset { offset, epoch, newer_than_committed: true, attempt };
        self.group_mut(group).pending.insert(pid, pending);
        let producer = self.producers.get_or_insert_with(pid, || GroupProducer { epoch, coordinator_epoch: -1 });
        producer.epoch = producer.epoch.max(epoch);
    }

    /// A plain OffsetCommit to `copier-group` (the pitfall has one group).
    pub fn offset_commit(&mut self, from: ProducerIndex, generation: i32, offset: Offset) -> ErrorCode {
        let group = self.group_mut(0);
        if let Some(error) = group.check_member(from, generation) {
            return error;
        }
        group.commit(offset, None);
        ErrorCode::None
    }

    /// A marker on the offsets partition: COMMIT materialises the pending offsets, ABORT drops them.
    pub fn write_marker(&mut self, config: &Config, m: &Marker, history: &mut History) -> ErrorCode {
        let pid = m.producer_id;
        if let Some(producer) = self.producers.get(&pid) {
            let open = self.pending().any(|(p, _)| *p == pid);
            if config.guards.fencing && crate::partition::stale_marker(config, m, producer.epoch, open) {
                return ErrorCode::InvalidProducerEpoch;
            }
            if m.coordinator_epoch < producer.coordinator_epoch {
                return ErrorCode::TransactionCoordinatorFenced;
            }
        }
        self.producers.insert(pid, GroupProducer { epoch: m.epoch, coordinator_epoch: m.coordinator_epoch });
        if config.fixes.kafka_17507 {
            self.complete_transaction(pid, m.commit, history);
        } else {
            // Before KAFKA-17507: the marker is answered now, its offsets completed later.
            self.deferred.insert(pid, m.commit);
        }
        ErrorCode::None
    }

    /// Completes the transaction of `pid` on the offsets partition, in every group it has offsets
    /// pending in: COMMIT materialises them, ABORT drops them (Kafka's
    /// `OffsetMetadataManager.replayEndTransactionMarker`: the producer's pending offsets of every
    /// group go at once; a committed pending offset replaces the group's current commit only if its
    /// record is the newer one in the log).
    pub fn complete_transaction(&mut self, pid: ProducerId, commit: bool, history: &mut History) {
        for group in self.groups.iter_mut() {
            if let Some(pending) = group.pending.remove(&pid) {
                history.offset_fates.record(pending.attempt, commit);
                if commit && pending.newer_than_committed {
                    group.commit(pending.offset, Some(pending.attempt));
                }
            }
        }
    }

    /// A deferred completion runs (before KAFKA-17507's fix): the marker's result applies to whatever
    /// offsets `pid` has pending now. `None` if nothing is deferred for `pid`.
    pub fn complete_deferred(&mut self, pid: ProducerId, history: &mut History) -> Option<()> {
        let commit = self.deferred.remove(&pid)?;
        self.complete_transaction(pid, commit, history);
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collections::IndexSet;

    fn commit_marker(pid: ProducerId, epoch: Epoch) -> Marker {
        Marker {
            target: crate::types::TxnPartition::Offsets,
            txn: 0,
            producer_id: pid,
            epoch,
            commit: true,
            coordinator_epoch: 0,
            transaction_version: 1,
            ends: IndexSet::new(),
        }
    }

    /// A committed transaction's pending offset materialises only if its record is newer than the
    /// current commit (`OffsetMetadataManager.replayEndTransactionMarker`); its fate is still commit.
    #[test]
    fn pending_offsets_materialise_only_if_newer() {
        let config = crate::scenario::load("copier").unwrap();
        let attempt = Attempt { producer: 0, index: 0 };
        let mut history = History::default();
        let mut g = GroupState::new(1);
        g.group_mut(0).join(0);
        g.write_pending(0, 1000, 0, 5, attempt);
        assert_eq!(g.offset_commit(0, 1, 7), ErrorCode::None, "a plain commit written after the pending one");
        assert_eq!(g.write_marker(&config, &commit_marker(1000, 0), &mut history), ErrorCode::None);
        assert_eq!(g.group(0).committed, Some(7), "the older pending offset does not replace the newer commit");
        assert_eq!(history.offset_fates.get(&attempt), Some(true));
        g.write_pending(0, 1000, 0, 9, attempt);
        g.write_marker(&config, &commit_marker(1000, 0), &mut history);
        assert_eq!(g.group(0).committed, Some(9), "a newer pending offset does");
    }

    /// Two groups on the one offsets partition: a producer's transaction is open there once either
    /// group has its offsets pending, and one marker ends it in both (Kafka's
    /// `OffsetMetadataManager.replayEndTransactionMarker` takes the producer's offsets of every group).
    #[test]
    fn one_marker_ends_the_transaction_in_every_group() {
        let config = crate::scenario::load("copier").unwrap();
        let attempt = Attempt { producer: 0, index: 0 };
        let mut history = History::default();
        let mut g = GroupState::new(2);
        g.group_mut(0).join(0);
        g.group_mut(1).join(0);
        assert!(!g.has_open_transaction(1000, 0));
        g.write_pending(0, 1000, 0, 1, attempt);
        assert!(g.has_open_transaction(1000, 0), "open on the shared partition through group 0");
        assert_eq!(g.group(1).offset_fetch(), Ok(None), "group 1 has nothing pending yet");
        g.write_pending(1, 1000, 0, 1, attempt);
        assert_eq!(g.group(1).offset_fetch(), Err(ErrorCode::UnstableOffsetCommit));
        assert_eq!(g.write_marker(&config, &commit_marker(1000, 0), &mut history), ErrorCode::None);
        for group in 0..2 {
            assert_eq!(g.group(group).offset_fetch(), Ok(Some(1)), "group {group} committed by the one marker");
        }
        assert!(!g.has_pending());
    }
}
