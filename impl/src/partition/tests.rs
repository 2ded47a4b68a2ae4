//! Unit tests of the partition leader: every answer of specs 5.1 and 5.2 and both fetch views.

use super::*;
use crate::storage::MemoryLog;
use crate::types::IsolationLevel;

fn partition() -> PartitionLog {
    PartitionLog::new(TopicPartition::output(0), Box::new(MemoryLog::new()), true, Faults::none())
}

fn batch(pid: ProducerId, epoch: ProducerEpoch, sequence: Sequence, transactional: bool, value: &str) -> ProducerBatch {
    ProducerBatch {
        producer_id: pid,
        producer_epoch: epoch,
        base_sequence: sequence,
        is_transactional: transactional,
        records: vec![Record::value(value)],
    }
}

fn values(log: &PartitionLog, isolation: IsolationLevel) -> Vec<String> {
    let response = log.fetch(&FetchRequest::from_offset(0, isolation)).expect("fetch");
    crate::client::consumer::filter_records(&response, 0).into_iter().map(|r| r.record.value_text()).collect()
}

#[test]
fn non_idempotent_batches_are_always_appended() {
    // Proves 5.1 step 1: without a producer id every Produce (even a retry) is appended.
    let mut log = partition();
    assert_eq!(log.append(batch(-1, -1, -1, false, "a"), AppendOrigin::Client).unwrap().first_offset, 0);
    assert_eq!(log.append(batch(-1, -1, -1, false, "a"), AppendOrigin::Client).unwrap().first_offset, 1);
    assert_eq!(log.high_watermark(), 2);
}

#[test]
fn duplicate_returns_the_original_offset_and_appends_nothing() {
    // Proves 5.1 step 3: a retried batch gets NONE with its original offset.
    let mut log = partition();
    log.append(batch(1, 0, 0, false, "a"), AppendOrigin::Client).unwrap();
    log.append(batch(1, 0, 1, false, "b"), AppendOrigin::Client).unwrap();
    let retry = log.append(batch(1, 0, 0, false, "a"), AppendOrigin::Client).unwrap();
    assert_eq!(retry, AppendInfo { first_offset: 0, duplicate: true });
    assert_eq!(log.high_watermark(), 2);
}

#[test]
fn stale_epoch_is_rejected() {
    // Proves 5.1 step 4: a batch with an epoch below the producer's current one is INVALID_PRODUCER_EPOCH.
    let mut log = partition();
    log.append(batch(1, 3, 0, false, "a"), AppendOrigin::Client).unwrap();
    assert_eq!(log.append(batch(1, 2, 1, false, "z"), AppendOrigin::Client), Err(ErrorCode::InvalidProducerEpoch));
    assert_eq!(log.high_watermark(), 1);
}

#[test]
fn stale_epoch_is_appended_without_fencing() {
    // Proves the fencing guard off skips 5.1 step 4 (the zombie's write lands).
    let mut log = PartitionLog::new(TopicPartition::output(0), Box::new(MemoryLog::new()), false, Faults::none());
    log.append(batch(1, 3, 0, false, "a"), AppendOrigin::Client).unwrap();
    assert!(log.append(batch(1, 2, 0, false, "z"), AppendOrigin::Client).is_ok());
}

#[test]
fn sequence_gap_is_out_of_order() {
    // Proves 5.1 step 5: same epoch must continue at last + 1.
    let mut log = partition();
    log.append(batch(1, 0, 0, false, "a"), AppendOrigin::Client).unwrap();
    assert_eq!(log.append(batch(1, 0, 2, false, "c"), AppendOrigin::Client), Err(ErrorCode::OutOfOrderSequenceNumber));
    assert_eq!(log.append(batch(1, 1, 3, false, "c"), AppendOrigin::Client), Err(ErrorCode::OutOfOrderSequenceNumber));
    assert!(log.append(batch(1, 0, 1, false, "b"), AppendOrigin::Client).is_ok());
}

#[test]
fn non_transactional_batch_inside_a_transaction_is_invalid() {
    // Proves 5.1 step 6: INVALID_TXN_STATE for a plain batch while the producer's transaction is open.
    let mut log = partition();
    log.append(batch(1, 0, 0, true, "a"), AppendOrigin::Client).unwrap();
    assert_eq!(log.append(batch(1, 0, 1, false, "b"), AppendOrigin::Client), Err(ErrorCode::InvalidTxnState));
}

#[test]
fn malformed_batches_are_invalid_requests() {
    // Proves a transactional batch without a producer id, or an empty one, is rejected, not panicked on.
    let mut log = partition();
    assert_eq!(log.append(batch(-1, -1, -1, true, "a"), AppendOrigin::Client), Err(ErrorCode::InvalidRequest));
    let mut empty = batch(1, 0, 0, false, "a");
    empty.records.clear();
    assert_eq!(log.append(empty, AppendOrigin::Client), Err(ErrorCode::InvalidRequest));
    assert_eq!(log.write_marker(-1, 0, TransactionResult::Commit, 0), Err(ErrorCode::InvalidRequest));
}

#[test]
fn transactions_hold_the_lso_and_abort_markers_fill_the_index() {
    // Proves LSO = first offset of the earliest open transaction, markers close it, ABORT is indexed.
    let mut log = partition();
    log.append(batch(-1, -1, -1, false, "plain"), AppendOrigin::Client).unwrap();
    log.append(batch(1, 0, 0, true, "t1"), AppendOrigin::Client).unwrap();
    log.append(batch(2, 0, 0, true, "t2"), AppendOrigin::Client).unwrap();
    assert_eq!((log.last_stable_offset(), log.high_watermark()), (1, 3));
    assert!(!log.needs_verification(1, 0, true));
    assert!(log.needs_verification(1, 1, true));
    let marker = log.write_marker(1, 0, TransactionResult::Abort, 0).unwrap();
    assert_eq!(marker, MarkerInfo { offset: 3, closed_first_offset: Some(1) });
    assert_eq!(log.last_stable_offset(), 2);
    assert_eq!(log.aborted_index(), &[AbortedTxn { producer_id: 1, first_offset: 1, last_offset: 3 }]);
    log.write_marker(2, 0, TransactionResult::Commit, 0).unwrap();
    assert_eq!(log.last_stable_offset(), 5);
    assert_eq!(values(&log, IsolationLevel::ReadCommitted), vec!["plain", "t2"]);
    assert_eq!(values(&log, IsolationLevel::ReadUncommitted), vec!["plain", "t1", "t2"]);
}

#[test]
fn read_committed_stops_at_the_lso() {
    // Proves read_committed returns nothing at or above the LSO while read_uncommitted does.
    let mut log = partition();
    log.append(batch(1, 0, 0, true, "open"), AppendOrigin::Client).unwrap();
    log.append(batch(-1, -1, -1, false, "after"), AppendOrigin::Client).unwrap();
    assert!(values(&log, IsolationLevel::ReadCommitted).is_empty());
    assert_eq!(values(&log, IsolationLevel::ReadUncommitted), vec!["open", "after"]);
}

#[test]
fn marker_epoch_and_coordinator_epoch_checks() {
    // Proves 5.2: an older epoch is INVALID_PRODUCER_EPOCH, an older coordinator epoch TRANSACTION_COORDINATOR_FENCED.
    let mut log = partition();
    log.append(batch(1, 2, 0, true, "a"), AppendOrigin::Client).unwrap();
    assert_eq!(log.write_marker(1, 1, TransactionResult::Commit, 0), Err(ErrorCode::InvalidProducerEpoch));
    log.write_marker(1, 2, TransactionResult::Commit, 5).unwrap();
    assert_eq!(log.write_marker(1, 2, TransactionResult::Abort, 4), Err(ErrorCode::TransactionCoordinatorFenced));
    // A marker without an open transaction is still appended.
    let again = log.write_marker(1, 2, TransactionResult::Commit, 5).unwrap();
    assert_eq!(again.closed_first_offset, None);
    assert_eq!(log.high_watermark(), 3);
}

#[test]
fn entries_show_data_and_control_records() {
    // Proves the per-offset view carries every field of specs section 11.
    let mut log = partition();
    log.append(batch(1, 0, 0, true, "v"), AppendOrigin::Client).unwrap();
    log.write_marker(1, 0, TransactionResult::Commit, 3).unwrap();
    assert_eq!(
        log.entries().unwrap(),
        vec![
            LogEntry::Data {
                offset: 0,
                producer_id: 1,
                producer_epoch: 0,
                sequence: 0,
                transactional: true,
                value: "v".into()
            },
            LogEntry::Control { offset: 1, producer_id: 1, producer_epoch: 0, commit: true, coordinator_epoch: 3 },
        ]
    );
    let state = &log.producer_states()[&1];
    assert_eq!(
        (state.producer_epoch, state.last_sequence, state.current_txn_first_offset, state.coordinator_epoch),
        (0, 0, None, 3)
    );
}

#[test]
fn storage_failure_is_an_error_answer_and_changes_nothing() {
    // Proves a failed append answers KAFKA_STORAGE_ERROR and leaves offsets and producer state alone.
    let mut log =
        PartitionLog::new(TopicPartition::output(0), Box::new(MemoryLog::failing_from(1)), true, Faults::none());
    log.append(batch(1, 0, 0, true, "a"), AppendOrigin::Client).unwrap();
    assert_eq!(log.append(batch(1, 0, 1, true, "b"), AppendOrigin::Client), Err(ErrorCode::KafkaStorageError));
    assert_eq!(log.write_marker(1, 0, TransactionResult::Commit, 0), Err(ErrorCode::KafkaStorageError));
    assert_eq!(log.high_watermark(), 1);
    assert_eq!(log.producer_states()[&1].last_sequence, 0);
    assert_eq!(log.last_stable_offset(), 0);
}

#[test]
fn fetch_from_the_middle_of_the_log() {
    // Proves fetch starts at the batch holding the fetch offset and the aborted list covers the range.
    let mut log = partition();
    for (sequence, value) in ["a", "b", "c"].iter().enumerate() {
        log.append(batch(1, 0, sequence as i32, true, value), AppendOrigin::Client).unwrap();
    }
    log.write_marker(1, 0, TransactionResult::Abort, 0).unwrap();
    let response = log.fetch(&FetchRequest::from_offset(1, IsolationLevel::ReadCommitted)).unwrap();
    assert_eq!(response.batches.first().map(|b| b.base_offset), Some(1));
    assert_eq!(response.aborted_transactions.as_ref().map(Vec::len), Some(1));
    assert!(crate::client::consumer::filter_records(&response, 1).is_empty());
}

#[test]
fn a_verification_holds_back_higher_sequences() {
    // Proves 5.1 step 5's first check (KAFKA-14920): batches 1 and 0 start verifying; batch 1 is
    // refused until batch 0 lands (then the transaction is open and nothing is verified); with the fix
    // off batch 1 lands first, as a producer's first batch under tv1.
    let mut log = partition();
    let guard = log.start_verification(1, 1, 0);
    assert_eq!(log.start_verification(1, 0, 0), guard);
    let early = log.append_guarded(batch(1, 0, 1, true, "b"), AppendOrigin::Client, guard);
    assert_eq!(early.unwrap_err(), ErrorCode::OutOfOrderSequenceNumber);
    assert_eq!(log.append_guarded(batch(1, 0, 0, true, "a"), AppendOrigin::Client, guard).unwrap().first_offset, 0);
    assert_eq!(log.append(batch(1, 0, 1, true, "b"), AppendOrigin::Client).unwrap().first_offset, 1);

    let mut unfixed = partition().with_fixes(Fixes { kafka_14920: false, ..Fixes::default() });
    let guard = unfixed.start_verification(1, 1, 0);
    unfixed.start_verification(1, 0, 0);
    let early = unfixed.append_guarded(batch(1, 0, 1, true, "b"), AppendOrigin::Client, guard);
    assert_eq!(early.unwrap().first_offset, 0, "KAFKA-14920 off: batch 1 first");
}

#[test]
fn verification_guard_refuses_an_append_after_the_marker() {
    // Proves 5.1 step 4a (KAFKA-14884): a batch held for its verification presents its guard; the
    // marker clears it, so the append is refused; a stale epoch is answered first (KAFKA-19690); with
    // the fix off the batch is appended after the marker.
    let mut log = partition();
    let guard = log.start_verification(1, 0, 0);
    assert_eq!(log.start_verification(1, 0, 0), guard, "a verification in progress keeps its guard");
    log.write_marker(1, 1, TransactionResult::Abort, 0).unwrap();
    let refused = log.append_guarded(batch(1, 1, 0, true, "a"), AppendOrigin::Client, guard);
    assert_eq!(refused.unwrap_err(), ErrorCode::InvalidTxnState);
    let stale = log.append_guarded(batch(1, 0, 0, true, "a"), AppendOrigin::Client, guard);
    assert_eq!(stale.unwrap_err(), ErrorCode::InvalidProducerEpoch);
    let mut guard_first = partition().with_fixes(Fixes { kafka_19690: false, ..Fixes::default() });
    let stale_guard = guard_first.start_verification(1, 0, 0);
    guard_first.write_marker(1, 1, TransactionResult::Abort, 0).unwrap();
    let stale = guard_first.append_guarded(batch(1, 0, 0, true, "a"), AppendOrigin::Client, stale_guard);
    assert_eq!(stale.unwrap_err(), ErrorCode::InvalidTxnState, "KAFKA-19690 off: the guard first");
    let next = log.start_verification(1, 0, 1);
    assert_ne!(next, guard);
    assert_eq!(log.append_guarded(batch(1, 1, 0, true, "a"), AppendOrigin::Client, next).unwrap().first_offset, 1);

    let mut unfixed = partition().with_fixes(Fixes { kafka_14884: false, ..Fixes::default() });
    let guard = unfixed.start_verification(1, 0, 0);
    unfixed.write_marker(1, 0, TransactionResult::Abort, 0).unwrap();
    let late = unfixed.append_guarded(batch(1, 0, 0, true, "late"), AppendOrigin::Client, guard);
    assert_eq!(late.unwrap().first_offset, 1, "KAFKA-14884 off: the record lands after the marker");
    assert_eq!(unfixed.last_stable_offset(), 1, "and its transaction hangs");
}

#[test]
fn expiry_forgets_a_producer_without_an_open_transaction() {
    // Proves 5.4: an expired producer's retry is appended again and its old epoch is no longer
    // fenced; a producer with a transaction open, or one never seen, is not expired.
    let mut log = partition();
    log.append(batch(1, 1, 0, false, "a"), AppendOrigin::Client).unwrap();
    log.append(batch(2, 0, 0, true, "t"), AppendOrigin::Client).unwrap();
    assert_eq!(log.expire_producer(2), Err(ErrorCode::InvalidRequest), "a transaction is open");
    assert_eq!(log.expire_producer(3), Err(ErrorCode::InvalidRequest), "never seen");
    assert_eq!(log.expire_producer(1), Ok(()));
    let retry = log.append(batch(1, 1, 0, false, "a"), AppendOrigin::Client).unwrap();
    assert!(!retry.duplicate && retry.first_offset == 2, "the retry is appended again");
    log.expire_producer(1).unwrap();
    assert!(log.append(batch(1, 0, 5, false, "old"), AppendOrigin::Client).is_ok(), "the old epoch is not fenced");
}
