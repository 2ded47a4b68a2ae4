//! The group coordinator (KIP-98, KIP-447): consumer-group membership (generation and member),
//! committed offsets, and transactional offsets that stay pending until the transaction's marker
//! reaches the offsets partition — COMMIT materialises them, ABORT drops them. Its state sits on a
//! real [`PartitionLog`] (`__consumer_offsets-0`) with the same producer-state checks as a data
//! partition (the coordinator origin: epochs, no sequences). OffsetFetch with require_stable
//! answers UNSTABLE_OFFSET_COMMIT while offsets are pending (specs/eos.md section 6).

pub mod offsets_record;

use crate::error::ErrorCode;
use crate::mutation::{Fault, Faults};
use crate::partition::{AppendOrigin, PartitionLog, ProducerBatch};
use crate::protocol::{OffsetCommitRequest, TxnOffsetCommitRequest, WriteTxnMarkerRequest};
use crate::types::{Generation, Offset, ProducerEpoch, ProducerId, TopicPartition, TransactionResult};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Offsets a producer committed inside its open transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingOffsets {
    /// The epoch they were written with.
    pub producer_epoch: ProducerEpoch,
    /// The offsets, by consumed partition.
    pub offsets: BTreeMap<TopicPartition, Offset>,
    /// Where each offset's record sits in the offsets partition.
    pub written_at: BTreeMap<TopicPartition, Offset>,
}

/// One consumer group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupState {
    /// Generation: 0, +1 on every join.
    pub generation: Generation,
    /// The current member (the last to join).
    pub member_id: Option<String>,
    /// Committed offsets, by consumed partition.
    pub committed: BTreeMap<TopicPartition, Offset>,
    /// Where each committed offset's record sits in the offsets partition.
    pub committed_at: BTreeMap<TopicPartition, Offset>,
    /// Pending transactional offsets, by producer id.
    pub pending: BTreeMap<ProducerId, PendingOffsets>,
}

/// The group coordinator of every group (one offsets partition).
#[derive(Debug)]
pub struct GroupCoordinator {
    offsets_log: PartitionLog,
    groups: BTreeMap<String, GroupState>,
    faults: Faults,
}

impl GroupCoordinator {
    /// A coordinator over an empty offsets partition.
    pub fn new(offsets_log: PartitionLog, faults: Faults) -> Self {
        assert!(offsets_log.topic_partition().is_group_offsets(), "the group coordinator leads an offsets partition");
        Self { offsets_log, groups: BTreeMap::new(), faults }
    }

    /// A member joins `group` (part of a copier's start): generation + 1, the joiner is the member.
    pub fn join(&mut self, group: &str, member_id: &str) -> Generation {
        let state = self.groups.entry(group.to_owned()).or_default();
        state.generation = state.generation.checked_add(1).expect("generations do not run out");
        state.member_id = Some(member_id.to_owned());
        state.generation
    }

    /// The group's state, if it exists.
    pub fn group(&self, group: &str) -> Option<&GroupState> {
        self.groups.get(group)
    }

    /// The offsets partition.
    pub fn offsets_log(&self) -> &PartitionLog {
        &self.offsets_log
    }

    /// KIP-447: a member that is not the group's current one is unknown (`UNKNOWN_MEMBER_ID`: a newer
    /// join removed it); the current member with another generation is `ILLEGAL_GENERATION`. The
    /// member is checked first, as Kafka's group coordinator does.
    fn check_generation(&self, group: &str, generation: Generation, member_id: &str) -> Result<(), ErrorCode> {
        let state = self.groups.get(group).ok_or(ErrorCode::UnknownMemberId)?;
        if state.member_id.as_deref() != Some(member_id) {
            return Err(ErrorCode::UnknownMemberId);
        }
        if state.generation != generation {
            return Err(ErrorCode::IllegalGeneration);
        }
        Ok(())
    }

    /// Whether a TxnOffsetCommit must first be verified (tv1-verified) or implicitly added (tv2) at
    /// the coordinator: no transaction of this epoch is open on the offsets partition yet. Kafka's
    /// group coordinator does this before anything else (`scheduleTransactionalWriteOperation`).
    pub fn needs_verification(&self, request: &TxnOffsetCommitRequest) -> Result<bool, ErrorCode> {
        if request.producer_id < 0 || request.producer_epoch < 0 {
            return Err(ErrorCode::InvalidRequest);
        }
        Ok(self.offsets_log.needs_verification(request.producer_id, request.producer_epoch, true))
    }

    /// TxnOffsetCommit's checks after verification: the member and generation (KIP-447), then the
    /// producer epoch against the offsets partition's producer state.
    pub fn check_txn_offset_commit(&self, request: &TxnOffsetCommitRequest, fencing: bool) -> Result<(), ErrorCode> {
        if request.producer_id < 0 || request.producer_epoch < 0 {
            return Err(ErrorCode::InvalidRequest);
        }
        self.check_generation(&request.group, request.generation, &request.member_id)?;
        // fault: SkipPartitionEpochCheck (the offsets partition is a partition too)
        let epochs = fencing && !self.faults.has(Fault::SkipPartitionEpochCheck);
        let last_epoch = self.offsets_log.producers().entry(request.producer_id).map(|entry| entry.producer_epoch);
        if epochs && last_epoch.is_some_and(|last| request.producer_epoch < last) {
            return Err(ErrorCode::InvalidProducerEpoch);
        }
        Ok(())
    }

    /// TxnOffsetCommit after its checks: append to the offsets partition, offsets pending.
    pub fn append_txn_offset_commit(&mut self, request: &TxnOffsetCommitRequest) -> Result<(), ErrorCode> {
        let batch = ProducerBatch {
            producer_id: request.producer_id,
            producer_epoch: request.producer_epoch,
            base_sequence: -1,
            is_transactional: true,
            records: vec![offsets_record::encode(&request.group, &request.partition, request.offset)],
        };
        let position = self.offsets_log.append(batch, AppendOrigin::Coordinator)?.first_offset;
        let state = self.groups.get_mut(&request.group).expect("the generation check found the group");
        let pending = state.pending.entry(request.producer_id).or_default();
        pending.producer_epoch = request.producer_epoch;
        pending.offsets.insert(request.partition.clone(), request.offset);
        pending.written_at.insert(request.partition.clone(), position);
        Ok(())
    }

    /// A plain OffsetCommit.
    pub fn handle_offset_commit(&mut self, request: &OffsetCommitRequest) -> Result<(), ErrorCode> {
        self.check_generation(&request.group, request.generation, &request.member_id)?;
        let batch = ProducerBatch {
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
            is_transactional: false,
            records: vec![offsets_record::encode(&request.group, &request.partition, request.offset)],
        };
        let position = self.offsets_log.append(batch, AppendOrigin::Coordinator)?.first_offset;
        let state = self.groups.get_mut(&request.group).expect("the generation check found the group");
        state.committed.insert(request.partition.clone(), request.offset);
        state.committed_at.insert(request.partition.clone(), position);
        Ok(())
    }

    /// A marker at the offsets partition: the checks of specs 5.2, then COMMIT materialises the
    /// producer's pending offsets in every group and ABORT drops them.
    pub fn handle_marker(&mut self, marker: &WriteTxnMarkerRequest) -> ErrorCode {
        let result = TransactionResult::from_commit(marker.commit);
        if let Err(code) = self.offsets_log.write_versioned_marker(
            marker.producer_id,
            marker.producer_epoch,
            result,
            marker.coordinator_epoch,
            marker.transaction_version,
        ) {
            return code;
        }
        // fault: CommitPendingOffsetsOnAbort
        let materialise = marker.commit || self.faults.has(Fault::CommitPendingOffsetsOnAbort);
        // The producer's offsets of every group on this partition end with the one marker (Kafka's
        // `OffsetMetadataManager.replayEndTransactionMarker` keeps them per producer id, by group).
        // fault: MarkerCompletesOneGroup
        let one_group = self.faults.has(Fault::MarkerCompletesOneGroup);
        let mut ended_groups = 0;
        for state in self.groups.values_mut() {
            if one_group && ended_groups == 1 {
                break;
            }
            let Some(pending) = state.pending.remove(&marker.producer_id) else { continue };
            ended_groups += 1;
            if !materialise {
                continue;
            }
            for (partition, offset) in pending.offsets {
                // A pending offset replaces the commit only if its record is the newer one (Kafka's
                // `OffsetMetadataManager.replayEndTransactionMarker`).
                let written = pending.written_at.get(&partition).copied().unwrap_or(Offset::MIN);
                if state.committed_at.get(&partition).is_none_or(|committed| written > *committed) {
                    state.committed.insert(partition.clone(), offset);
                    state.committed_at.insert(partition, written);
                }
            }
        }
        ErrorCode::None
    }

    /// OffsetFetch: the group's committed offsets; with `require_stable`, UNSTABLE_OFFSET_COMMIT
    /// while any transactional offsets of the group are pending.
    pub fn offset_fetch(
        &self,
        group: &str,
        require_stable: bool,
    ) -> Result<BTreeMap<TopicPartition, Offset>, ErrorCode> {
        let Some(state) = self.groups.get(group) else {
            return Ok(BTreeMap::new());
        };
        // fault: OffsetFetchIgnoresPending
        if require_stable && !state.pending.is_empty() && !self.faults.has(Fault::OffsetFetchIgnoresPending) {
            return Err(ErrorCode::UnstableOffsetCommit);
        }
        Ok(state.committed.clone())
    }
}

#[cfg(test)]
mod tests;
