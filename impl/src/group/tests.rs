//! Unit tests of the group coordinator: specs section 6.

use super::*;
use crate::storage::MemoryLog;

fn group() -> GroupCoordinator {
    let log = PartitionLog::new(TopicPartition::group_offsets("g"), Box::new(MemoryLog::new()), true, Faults::none());
    GroupCoordinator::new(log, Faults::none())
}

fn txn_commit(pid: i64, epoch: i16, generation: i32, member: &str, offset: i64) -> TxnOffsetCommitRequest {
    TxnOffsetCommitRequest {
        transactional_id: "txn-0".into(),
        producer_id: pid,
        producer_epoch: epoch,
        group: "g".into(),
        generation,
        member_id: member.into(),
        partition: TopicPartition::input(),
        offset,
        transaction_abortable: true,
    }
}

fn marker(pid: i64, epoch: i16, commit: bool, coordinator_epoch: i32) -> WriteTxnMarkerRequest {
    WriteTxnMarkerRequest {
        target: TopicPartition::group_offsets("g"),
        transactional_id: "txn-0".into(),
        producer_id: pid,
        producer_epoch: epoch,
        commit,
        coordinator_epoch,
        transaction_version: 1,
    }
}

#[test]
fn join_bumps_the_generation() {
    // Proves section 6 Join: generation + 1 and the joiner becomes the member.
    let mut g = group();
    assert_eq!(g.join("g", "producer-0"), 1);
    assert_eq!(g.join("g", "producer-1"), 2);
    assert_eq!(g.group("g").unwrap().member_id.as_deref(), Some("producer-1"));
}

#[test]
fn old_member_is_unknown_and_old_generation_illegal() {
    // Proves KIP-447: a zombie (a member a newer join replaced) is fenced at TxnOffsetCommit with
    // UNKNOWN_MEMBER_ID, as Kafka's group coordinator checks the member first; the current member
    // with an old generation gets ILLEGAL_GENERATION.
    let mut g = group();
    g.join("g", "producer-0");
    g.join("g", "producer-1");
    assert_eq!(g.check_txn_offset_commit(&txn_commit(1, 0, 1, "producer-0", 5), true), Err(ErrorCode::UnknownMemberId));
    assert_eq!(g.check_txn_offset_commit(&txn_commit(1, 0, 2, "producer-0", 5), true), Err(ErrorCode::UnknownMemberId));
    assert_eq!(
        g.check_txn_offset_commit(&txn_commit(1, 0, 1, "producer-1", 5), true),
        Err(ErrorCode::IllegalGeneration)
    );
    assert_eq!(g.check_txn_offset_commit(&txn_commit(1, 0, 2, "producer-1", 5), true), Ok(()));
    assert_eq!(g.needs_verification(&txn_commit(1, 0, 2, "producer-1", 5)), Ok(true));
    let plain = OffsetCommitRequest {
        group: "g".into(),
        generation: 1,
        member_id: "producer-0".into(),
        partition: TopicPartition::input(),
        offset: 1,
    };
    assert_eq!(g.handle_offset_commit(&plain), Err(ErrorCode::UnknownMemberId));
}

#[test]
fn pending_offsets_become_committed_on_commit_and_vanish_on_abort() {
    // Proves section 6: COMMIT materialises pending offsets, ABORT drops them; OffsetFetch(require_stable)
    // is UNSTABLE_OFFSET_COMMIT while any are pending.
    let mut g = group();
    g.join("g", "producer-0");
    g.append_txn_offset_commit(&txn_commit(1, 0, 1, "producer-0", 5)).unwrap();
    assert_eq!(g.offset_fetch("g", true), Err(ErrorCode::UnstableOffsetCommit));
    assert_eq!(g.offset_fetch("g", false), Ok(BTreeMap::new()));
    assert!(!g.needs_verification(&txn_commit(1, 0, 1, "producer-0", 6)).unwrap(), "already open: no verification");
    assert_eq!(g.handle_marker(&marker(1, 0, false, 0)), ErrorCode::None);
    assert_eq!(g.offset_fetch("g", true), Ok(BTreeMap::new()));
    g.append_txn_offset_commit(&txn_commit(1, 0, 1, "producer-0", 7)).unwrap();
    assert_eq!(g.handle_marker(&marker(1, 0, true, 0)), ErrorCode::None);
    assert_eq!(g.offset_fetch("g", true), Ok(BTreeMap::from([(TopicPartition::input(), 7)])));
}

#[test]
fn offsets_partition_checks_epochs() {
    // Proves section 6: an older epoch is INVALID_PRODUCER_EPOCH; markers are checked as in 5.2.
    let mut g = group();
    g.join("g", "producer-0");
    g.append_txn_offset_commit(&txn_commit(1, 3, 1, "producer-0", 5)).unwrap();
    assert_eq!(
        g.check_txn_offset_commit(&txn_commit(1, 2, 1, "producer-0", 5), true),
        Err(ErrorCode::InvalidProducerEpoch)
    );
    assert_eq!(g.handle_marker(&marker(1, 2, true, 0)), ErrorCode::InvalidProducerEpoch);
    assert_eq!(g.handle_marker(&marker(1, 3, true, 4)), ErrorCode::None);
    assert_eq!(g.handle_marker(&marker(1, 3, true, 3)), ErrorCode::TransactionCoordinatorFenced);
    assert_eq!(g.check_txn_offset_commit(&txn_commit(-1, 0, 1, "producer-0", 5), true), Err(ErrorCode::InvalidRequest));
    assert_eq!(g.needs_verification(&txn_commit(-1, 0, 1, "producer-0", 5)), Err(ErrorCode::InvalidRequest));
}

#[test]
fn plain_offset_commit_commits_at_once() {
    // Proves section 6 OffsetCommit: the current member's plain commit is committed immediately.
    let mut g = group();
    g.join("g", "producer-0");
    let plain = OffsetCommitRequest {
        group: "g".into(),
        generation: 1,
        member_id: "producer-0".into(),
        partition: TopicPartition::input(),
        offset: 3,
    };
    assert_eq!(g.handle_offset_commit(&plain), Ok(()));
    assert_eq!(g.offset_fetch("g", true).unwrap()[&TopicPartition::input()], 3);
    assert_eq!(g.offset_fetch("unknown", true), Ok(BTreeMap::new()));
}

#[test]
fn pending_offsets_materialise_only_if_newer_than_the_commit() {
    // Proves section 6: a committed transaction's pending offset loses to a plain commit written after
    // it (Kafka's OffsetMetadataManager.replayEndTransactionMarker), and wins when written after it.
    let mut g = group();
    let generation = g.join("g", "producer-0");
    g.append_txn_offset_commit(&txn_commit(7, 0, generation, "producer-0", 5)).unwrap();
    let plain = OffsetCommitRequest {
        group: "g".into(),
        generation,
        member_id: "producer-0".into(),
        partition: TopicPartition::input(),
        offset: 9,
    };
    g.handle_offset_commit(&plain).unwrap();
    assert_eq!(g.handle_marker(&marker(7, 0, true, 0)), ErrorCode::None);
    assert_eq!(g.group("g").unwrap().committed.get(&TopicPartition::input()), Some(&9));
    g.append_txn_offset_commit(&txn_commit(7, 0, generation, "producer-0", 11)).unwrap();
    assert_eq!(g.handle_marker(&marker(7, 0, true, 0)), ErrorCode::None);
    assert_eq!(g.group("g").unwrap().committed.get(&TopicPartition::input()), Some(&11));
}

#[test]
fn tv2_markers_follow_kip_1228_on_the_offsets_partition() {
    // Proves 5.2 on the offsets partition: a TV2 marker at the producer's epoch with pending offsets is a
    // late copy and is refused; after the transaction ended it is an idempotent retry.
    let mut g = group();
    let generation = g.join("g", "producer-0");
    g.append_txn_offset_commit(&txn_commit(7, 1, generation, "producer-0", 5)).unwrap();
    let tv2 = |epoch| WriteTxnMarkerRequest { transaction_version: 2, ..marker(7, epoch, true, 0) };
    assert_eq!(g.handle_marker(&tv2(1)), ErrorCode::InvalidProducerEpoch);
    assert_eq!(g.handle_marker(&tv2(2)), ErrorCode::None);
    assert_eq!(g.handle_marker(&tv2(2)), ErrorCode::None, "an idempotent retry");
}
