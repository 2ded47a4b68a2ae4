//! The group coordinator of `copier-group` (specs/eos.md §6): committed offsets, pending transactional
//! offsets materialised or dropped by markers, OffsetFetch with require_stable, and KIP-447's
//! generation check.

use crate::collections::SmallMap;
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

/// The group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupState {
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
    /// Producer state of the offsets partition.
    pub producers: SmallMap<ProducerId, GroupProducer>,
    /// Markers written and answered but whose offsets are not materialised yet, per producer id (the
    /// result: commit or abort). Only before KAFKA-17507's fix, which completes them before answering.
    pub deferred: SmallMap<ProducerId, bool>,
}

impl GroupState {
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

    /// Whether `pid` has offsets pending at `epoch` (its transaction is open here).
    pub fn has_open_transaction(&self, pid: ProducerId, epoch: Epoch) -> bool {
        self.pending.get(&pid).is_some_and(|p| p.epoch == epoch)
    }

    /// The checks of TxnOffsetCommit before verification / implicit add.
    pub fn check_txn_offset_commit(
        &self,
        config: &Config,
        from: ProducerIndex,
        generation: i32,
        pid: ProducerId,
        epoch: Epoch,
    ) -> Option<ErrorCode> {
        if let Some(error) = self.check_member(from, generation) {
            return Some(error);
        }
        let seen = self.producers.get(&pid).map_or(NO_EPOCH, |p| p.epoch);
        (config.guards.fencing && epoch < seen).then_some(ErrorCode::InvalidProducerEpoch)
    }

    /// TxnOffsetCommit after its checks passed: the offsets become pending.
    pub fn write_pending(&mut self, pid: ProducerId, epoch: Epoch, offset: Offset, attempt: Attempt) {
        self.pending.insert(pid, PendingOffset { offset, epoch, newer_than_committed: true, attempt });
        let producer = self.producers.get_or_insert_with(pid, || GroupProducer { epoch, coordinator_epoch: -1 });
        producer.epoch = producer.epoch.max(epoch);
    }

    /// A plain OffsetCommit.
    pub fn offset_commit(&mut self, from: ProducerIndex, generation: i32, offset: Offset) -> ErrorCode {
        if let Some(error) = self.check_member(from, generation) {
            return error;
        }
        self.commit(offset, None);
        ErrorCode::None
    }

    /// A marker on the offsets partition: COMMIT materialises the pending offsets, ABORT drops them.
    pub fn write_marker(&mut self, config: &Config, m: &Marker, history: &mut History) -> ErrorCode {
        let pid = m.producer_id;
        if let Some(producer) = self.producers.get(&pid) {
            let open = self.pending.contains_key(&pid);
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

    /// Completes the transaction of `pid` on the offsets: COMMIT materialises its pending offsets,
    /// ABORT drops them (Kafka's `OffsetMetadataManager.replayEndTransactionMarker`: a committed pending
    /// offset replaces the current commit only if its record is the newer one in the log).
    pub fn complete_transaction(&mut self, pid: ProducerId, commit: bool, history: &mut History) {
        if let Some(pending) = self.pending.remove(&pid) {
            history.offset_fates.record(pending.attempt, commit);
            if commit && pending.newer_than_committed {
                self.commit(pending.offset, Some(pending.attempt));
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
        let mut g = GroupState::default();
        g.join(0);
        g.write_pending(1000, 0, 5, attempt);
        assert_eq!(g.offset_commit(0, 1, 7), ErrorCode::None, "a plain commit written after the pending one");
        assert_eq!(g.write_marker(&config, &commit_marker(1000, 0), &mut history), ErrorCode::None);
        assert_eq!(g.committed, Some(7), "the older pending offset does not replace the newer commit");
        assert_eq!(history.offset_fates.get(&attempt), Some(true));
        g.write_pending(1000, 0, 9, attempt);
        g.write_marker(&config, &commit_marker(1000, 0), &mut history);
        assert_eq!(g.committed, Some(9), "a newer pending offset does");
    }
}
