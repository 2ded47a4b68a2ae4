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
}

impl GroupState {
    /// A copier instance joins: a new generation with it as the member.
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
        self.pending.insert(pid, PendingOffset { offset, epoch, attempt });
        let producer = self.producers.get_or_insert_with(pid, || GroupProducer { epoch, coordinator_epoch: -1 });
        producer.epoch = producer.epoch.max(epoch);
    }

    /// A plain OffsetCommit.
    pub fn offset_commit(&mut self, from: ProducerIndex, generation: i32, offset: Offset) -> ErrorCode {
        if let Some(error) = self.check_member(from, generation) {
            return error;
        }
        self.committed = Some(offset);
        self.committed_by = None;
        ErrorCode::None
    }

    /// A marker on the offsets partition: COMMIT materialises the pending offsets, ABORT drops them.
    pub fn write_marker(&mut self, config: &Config, m: &Marker, history: &mut History) -> ErrorCode {
        let pid = m.producer_id;
        if let Some(producer) = self.producers.get(&pid) {
            if config.guards.fencing && m.epoch < producer.epoch {
                return ErrorCode::InvalidProducerEpoch;
            }
            if m.coordinator_epoch < producer.coordinator_epoch {
                return ErrorCode::TransactionCoordinatorFenced;
            }
        }
        if let Some(pending) = self.pending.remove(&pid) {
            history.offset_fates.record(pending.attempt, m.commit);
            if m.commit {
                self.committed = Some(pending.offset);
                self.committed_by = Some(pending.attempt);
            }
        }
        self.producers.insert(pid, GroupProducer { epoch: m.epoch, coordinator_epoch: m.coordinator_epoch });
        ErrorCode::None
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
