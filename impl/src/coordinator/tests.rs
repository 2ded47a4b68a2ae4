//! Unit tests of the transaction coordinator: every answer of specs 4.2 to 4.5.

use super::*;
use crate::config::ProtocolMode;
use crate::protocol::{
    AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, EndTxnRequest, InitProducerIdRequest,
    ProducerIdAndEpoch,
};
use crate::storage::MemoryLog;

const T: &str = "txn-0";

fn coordinator(protocol: ProtocolMode) -> TransactionCoordinator {
    coordinator_with(BrokerConfig {
        protocol,
        ..BrokerConfig::default()
    })
}

fn coordinator_with(config: BrokerConfig) -> TransactionCoordinator {
    TransactionCoordinator::new(config, Box::new(MemoryLog::new()))
}

fn id() -> TransactionalId {
    TransactionalId::from(T)
}

fn init(c: &mut TransactionCoordinator, expected: Option<(i64, i16)>) -> (ErrorCode, i64, i16) {
    let request = InitProducerIdRequest {
        transactional_id: Some(id()),
        transaction_timeout_ms: 1000,
        expected: expected.map(|(producer_id, producer_epoch)| ProducerIdAndEpoch {
            producer_id,
            producer_epoch,
        }),
    };
    let (r, _) = c.handle_init_producer_id(0, &request);
    (r.error, r.producer_id, r.producer_epoch)
}

fn add(c: &mut TransactionCoordinator, pid: i64, epoch: i16, partition: i32) -> ErrorCode {
    let request = AddPartitionsToTxnRequest {
        transactional_id: id(),
        producer_id: pid,
        producer_epoch: epoch,
        partition: TopicPartition::output(partition),
    };
    c.handle_add_partitions(10, &request).error
}

fn end(
    c: &mut TransactionCoordinator,
    pid: i64,
    epoch: i16,
    commit: bool,
) -> (ErrorCode, i64, i16, Vec<WriteTxnMarkerRequest>) {
    let request = EndTxnRequest {
        transactional_id: id(),
        producer_id: pid,
        producer_epoch: epoch,
        commit,
    };
    let (r, markers) = c.handle_end_txn(20, &request);
    (r.error, r.producer_id, r.producer_epoch, markers)
}

fn ack_all(c: &mut TransactionCoordinator, markers: &[WriteTxnMarkerRequest]) {
    for marker in markers {
        c.handle_marker_response(30, &marker.respond(ErrorCode::None));
    }
}

fn state(c: &TransactionCoordinator) -> TxnState {
    c.metadata(&id()).expect("metadata").state
}

#[test]
fn init_without_transactional_id_allocates_sequential_ids() {
    // Proves 4.2 step 1: idempotent producers get fresh ids from first_producer_id at epoch 0.
    let mut c = coordinator(ProtocolMode::Tv1);
    let request = InitProducerIdRequest {
        transactional_id: None,
        transaction_timeout_ms: 0,
        expected: None,
    };
    assert_eq!(c.handle_init_producer_id(0, &request).0.producer_id, 1000);
    let second = c.handle_init_producer_id(0, &request).0;
    assert_eq!(
        (second.error, second.producer_id, second.producer_epoch),
        (ErrorCode::None, 1001, 0)
    );
}

#[test]
fn init_rejects_a_timeout_above_the_maximum() {
    // Proves 4.2 step 2: INVALID_TRANSACTION_TIMEOUT, and nothing is created.
    let mut c = coordinator_with(BrokerConfig {
        max_transaction_timeout_ms: 999,
        ..BrokerConfig::default()
    });
    assert_eq!(
        init(&mut c, None),
        (ErrorCode::InvalidTransactionTimeout, -1, -1)
    );
    assert!(c.metadata(&id()).is_none());
}

#[test]
fn init_bumps_the_epoch_each_time() {
    // Proves 4.2: a new id starts at epoch 0, each InitProducerId bumps it and logs Empty.
    let mut c = coordinator(ProtocolMode::Tv1);
    assert_eq!(init(&mut c, None), (ErrorCode::None, 1000, 0));
    assert_eq!(init(&mut c, None), (ErrorCode::None, 1000, 1));
    assert_eq!(state(&c), TxnState::Empty);
    assert_eq!(c.log_records().len(), 2);
}

#[test]
fn init_fences_an_ongoing_transaction() {
    // Proves 4.2 Ongoing: the fence bumps the epoch, aborts with markers, answers CONCURRENT_TRANSACTIONS.
    let mut c = coordinator(ProtocolMode::Tv1);
    init(&mut c, None);
    assert_eq!(add(&mut c, 1000, 0, 0), ErrorCode::None);
    let request = InitProducerIdRequest {
        transactional_id: Some(id()),
        transaction_timeout_ms: 1000,
        expected: None,
    };
    let (answer, markers) = c.handle_init_producer_id(40, &request);
    assert_eq!(answer.error, ErrorCode::ConcurrentTransactions);
    assert_eq!(state(&c), TxnState::PrepareAbort);
    assert_eq!(markers.len(), 1);
    assert_eq!((markers[0].producer_epoch, markers[0].commit), (1, false));
    // The old producer is fenced everywhere at the coordinator.
    assert_eq!(add(&mut c, 1000, 0, 1), ErrorCode::ProducerFenced);
    assert_eq!(end(&mut c, 1000, 0, true).0, ErrorCode::ProducerFenced);
    // While markers are pending the retry waits; once acknowledged it gets epoch 2.
    assert_eq!(init(&mut c, None).0, ErrorCode::ConcurrentTransactions);
    ack_all(&mut c, &markers);
    assert_eq!(state(&c), TxnState::CompleteAbort);
    assert_eq!(init(&mut c, None), (ErrorCode::None, 1000, 2));
}

#[test]
fn tv2_fence_bumps_twice() {
    // Proves specs 2 (tv2): a coordinator abort bumps once for the fence and once for the end.
    let mut c = coordinator(ProtocolMode::Tv2);
    init(&mut c, None);
    c.add_partition(0, &id(), 1000, 0, &TopicPartition::output(0))
        .expect("add");
    let markers = c.handle_transaction_timeout(5_000, &id());
    assert_eq!(markers[0].producer_epoch, 2);
    assert_eq!(c.metadata(&id()).unwrap().producer_epoch, 2);
}

#[test]
fn kip360_expected_epoch_paths() {
    // Proves 4.2 KIP-360: a matching expected epoch bumps, a retry gets the same epoch, a stale one is fenced.
    let mut c = coordinator(ProtocolMode::Tv1);
    assert_eq!(init(&mut c, None), (ErrorCode::None, 1000, 0));
    assert_eq!(init(&mut c, Some((1000, 0))), (ErrorCode::None, 1000, 1));
    assert_eq!(c.metadata(&id()).unwrap().last_producer_epoch, 0);
    let records = c.log_records().len();
    assert_eq!(
        init(&mut c, Some((1000, 0))),
        (ErrorCode::None, 1000, 1),
        "a retry of the bump"
    );
    assert_eq!(c.log_records().len(), records, "a retry changes nothing");
    assert_eq!(init(&mut c, None), (ErrorCode::None, 1000, 2));
    assert_eq!(
        init(&mut c, Some((1000, 0))),
        (ErrorCode::ProducerFenced, -1, -1)
    );
    assert_eq!(
        init(&mut c, Some((999, 2))),
        (ErrorCode::ProducerFenced, -1, -1),
        "another producer id"
    );
}

#[test]
fn exhausted_epoch_rotates_the_producer_id() {
    // Proves 4.2: at epoch >= max - 1 InitProducerId moves to a new producer id at epoch 0, and a
    // KIP-360 retry across the rotation is accepted.
    let mut c = coordinator_with(BrokerConfig {
        protocol: ProtocolMode::Tv1,
        max_producer_epoch: 3,
        ..BrokerConfig::default()
    });
    assert_eq!(init(&mut c, None), (ErrorCode::None, 1000, 0));
    assert_eq!(init(&mut c, None), (ErrorCode::None, 1000, 1));
    assert_eq!(init(&mut c, None), (ErrorCode::None, 1000, 2));
    assert_eq!(init(&mut c, Some((1000, 2))), (ErrorCode::None, 1001, 0));
    let metadata = c.metadata(&id()).unwrap();
    assert_eq!(
        (metadata.previous_producer_id, metadata.last_producer_epoch),
        (1000, 2)
    );
    assert_eq!(
        init(&mut c, Some((1000, 2))),
        (ErrorCode::None, 1001, 0),
        "retry across the rotation"
    );
}

#[test]
fn add_partitions_errors() {
    // Proves 4.3: unknown id / wrong pid -> INVALID_PRODUCER_ID_MAPPING, old epoch -> PRODUCER_FENCED,
    // Prepare* -> CONCURRENT_TRANSACTIONS, an already-added partition logs nothing.
    let mut c = coordinator(ProtocolMode::Tv1);
    assert_eq!(add(&mut c, 1000, 0, 0), ErrorCode::InvalidProducerIdMapping);
    init(&mut c, None);
    init(&mut c, None);
    assert_eq!(add(&mut c, 1001, 1, 0), ErrorCode::InvalidProducerIdMapping);
    assert_eq!(add(&mut c, 1000, 0, 0), ErrorCode::ProducerFenced);
    assert_eq!(add(&mut c, 1000, 1, 0), ErrorCode::None);
    let records = c.log_records().len();
    assert_eq!(add(&mut c, 1000, 1, 0), ErrorCode::None);
    assert_eq!(c.log_records().len(), records);
    assert_eq!(c.metadata(&id()).unwrap().txn_start_timestamp, 10);
    let (error, ..) = end(&mut c, 1000, 1, true);
    assert_eq!(error, ErrorCode::None);
    assert_eq!(add(&mut c, 1000, 1, 1), ErrorCode::ConcurrentTransactions);
}

#[test]
fn add_offsets_adds_the_group_offsets_partition() {
    // Proves 4.3: AddOffsetsToTxn puts __consumer_offsets-0 in the transaction.
    let mut c = coordinator(ProtocolMode::Tv1);
    init(&mut c, None);
    let request = AddOffsetsToTxnRequest {
        transactional_id: id(),
        producer_id: 1000,
        producer_epoch: 0,
        group: "g".into(),
    };
    assert_eq!(c.handle_add_offsets(0, &request).error, ErrorCode::None);
    assert!(c
        .metadata(&id())
        .unwrap()
        .partitions
        .contains(&TopicPartition::group_offsets("g")));
}

#[test]
fn pending_transition_answers_concurrent_transactions() {
    // Proves specs 4.1: while a transition is pending every request gets CONCURRENT_TRANSACTIONS.
    let mut c = coordinator(ProtocolMode::Tv1);
    init(&mut c, None);
    let metadata = c.transactions.get_mut(&id()).unwrap();
    let transit = metadata.transit(TxnState::Ongoing, 5);
    metadata.prepare_transition(&transit, ProtocolMode::Tv1, Faults::none());
    assert_eq!(add(&mut c, 1000, 0, 0), ErrorCode::ConcurrentTransactions);
    assert_eq!(
        end(&mut c, 1000, 0, false).0,
        ErrorCode::ConcurrentTransactions
    );
    assert_eq!(init(&mut c, None).0, ErrorCode::ConcurrentTransactions);
    assert!(
        c.timers().is_empty(),
        "no timeout while a transition is pending"
    );
}

#[test]
fn failed_log_append_drops_the_pending_transition() {
    // Proves prepare/append/complete: a failed append answers COORDINATOR_NOT_AVAILABLE and leaves the state.
    let mut c = TransactionCoordinator::new(
        BrokerConfig {
            protocol: ProtocolMode::Tv1,
            ..BrokerConfig::default()
        },
        Box::new(MemoryLog::failing_from(1)),
    );
    assert_eq!(init(&mut c, None).0, ErrorCode::None);
    assert_eq!(add(&mut c, 1000, 0, 0), ErrorCode::CoordinatorNotAvailable);
    let metadata = c.metadata(&id()).unwrap();
    assert_eq!(
        (metadata.state, metadata.pending_state),
        (TxnState::Empty, None)
    );
}

#[test]
fn failed_fence_append_does_not_bump_twice() {
    // Proves Kafka's hasFailedEpochFence: a fence whose append failed keeps its bump for the next try.
    let mut c = TransactionCoordinator::new(
        BrokerConfig {
            protocol: ProtocolMode::Tv1,
            ..BrokerConfig::default()
        },
        Box::new(MemoryLog::failing_from(2)),
    );
    init(&mut c, None);
    assert_eq!(add(&mut c, 1000, 0, 0), ErrorCode::None);
    assert_eq!(init(&mut c, None).0, ErrorCode::CoordinatorNotAvailable);
    assert!(c.metadata(&id()).unwrap().has_failed_epoch_fence);
    assert_eq!(c.metadata(&id()).unwrap().producer_epoch, 1);
    assert_eq!(init(&mut c, None).0, ErrorCode::CoordinatorNotAvailable);
    assert_eq!(
        c.metadata(&id()).unwrap().producer_epoch,
        1,
        "not bumped again"
    );
}

#[test]
fn end_txn_by_state_tv1() {
    // Proves 4.4 for tv1: every (state, result) answer.
    let mut c = coordinator(ProtocolMode::Tv1);
    assert_eq!(
        end(&mut c, 1000, 0, true).0,
        ErrorCode::InvalidProducerIdMapping
    );
    init(&mut c, None);
    assert_eq!(
        end(&mut c, 1000, 0, true).0,
        ErrorCode::InvalidTxnState,
        "Empty"
    );
    assert_eq!(
        end(&mut c, 1000, 0, false).0,
        ErrorCode::InvalidTxnState,
        "Empty"
    );
    add(&mut c, 1000, 0, 0);
    assert_eq!(
        end(&mut c, 1001, 0, true).0,
        ErrorCode::InvalidProducerIdMapping
    );
    assert_eq!(end(&mut c, 1000, 1, true).0, ErrorCode::ProducerFenced);
    let (error, pid, epoch, markers) = end(&mut c, 1000, 0, true);
    assert_eq!(
        (error, pid, epoch, markers.len()),
        (ErrorCode::None, 1000, 0, 1)
    );
    assert_eq!(
        end(&mut c, 1000, 0, true).0,
        ErrorCode::ConcurrentTransactions,
        "PrepareCommit + commit"
    );
    assert_eq!(
        end(&mut c, 1000, 0, false).0,
        ErrorCode::InvalidTxnState,
        "PrepareCommit + abort"
    );
    ack_all(&mut c, &markers);
    assert_eq!(state(&c), TxnState::CompleteCommit);
    assert!(c.metadata(&id()).unwrap().partitions.is_empty());
    assert_eq!(
        end(&mut c, 1000, 0, true).0,
        ErrorCode::None,
        "a retried commit"
    );
    assert_eq!(end(&mut c, 1000, 0, false).0, ErrorCode::InvalidTxnState);
    add(&mut c, 1000, 0, 0);
    let (_, _, _, markers) = end(&mut c, 1000, 0, false);
    assert_eq!(
        end(&mut c, 1000, 0, false).0,
        ErrorCode::ConcurrentTransactions,
        "PrepareAbort + abort"
    );
    assert_eq!(
        end(&mut c, 1000, 0, true).0,
        ErrorCode::InvalidTxnState,
        "PrepareAbort + commit"
    );
    ack_all(&mut c, &markers);
    assert_eq!(
        end(&mut c, 1000, 0, false).0,
        ErrorCode::None,
        "a retried abort"
    );
    assert_eq!(end(&mut c, 1000, 0, true).0, ErrorCode::InvalidTxnState);
}

#[test]
fn end_txn_tv2_bumps_and_accepts_retries() {
    // Proves 4.4 for tv2: EndTxn answers epoch + 1; the retry with the old epoch is accepted in
    // Prepare* (CONCURRENT_TRANSACTIONS) and Complete* (NONE); the old epoch is fenced in Ongoing.
    let mut c = coordinator(ProtocolMode::Tv2);
    init(&mut c, None);
    c.add_partition(0, &id(), 1000, 0, &TopicPartition::output(0))
        .unwrap();
    let (error, pid, epoch, markers) = end(&mut c, 1000, 0, true);
    assert_eq!((error, pid, epoch), (ErrorCode::None, 1000, 1));
    assert_eq!(markers[0].producer_epoch, 1);
    assert_eq!(c.metadata(&id()).unwrap().last_producer_epoch, 0);
    assert_eq!(
        end(&mut c, 1000, 0, true).0,
        ErrorCode::ConcurrentTransactions
    );
    assert_eq!(
        end(&mut c, 1000, 1, true).0,
        ErrorCode::ProducerFenced,
        "epoch+1 is not a retry in Prepare*"
    );
    ack_all(&mut c, &markers);
    assert_eq!(
        end(&mut c, 1000, 0, true),
        (ErrorCode::None, 1000, 1, vec![])
    );
    c.add_partition(0, &id(), 1000, 1, &TopicPartition::output(0))
        .unwrap();
    assert_eq!(
        end(&mut c, 1000, 0, true).0,
        ErrorCode::ProducerFenced,
        "a stale EndTxn cannot end the next transaction"
    );
}

#[test]
fn tv2_empty_abort() {
    // Proves 4.4: tv2 abort with the current epoch in Empty/Complete* bumps the epoch and completes at once.
    let mut c = coordinator(ProtocolMode::Tv2);
    init(&mut c, None);
    let (error, pid, epoch, markers) = end(&mut c, 1000, 0, false);
    assert_eq!(
        (error, pid, epoch, markers.len()),
        (ErrorCode::None, 1000, 1, 0)
    );
    assert_eq!(state(&c), TxnState::CompleteAbort);
    assert_eq!(end(&mut c, 1000, 1, true).0, ErrorCode::ProducerFenced);
    assert_eq!(end(&mut c, 1000, 1, false).1, 1000);
    assert_eq!(c.metadata(&id()).unwrap().producer_epoch, 2);
    let mut v1 = coordinator(ProtocolMode::Tv1);
    init(&mut v1, None);
    assert_eq!(
        end(&mut v1, 1000, 0, false).0,
        ErrorCode::InvalidTxnState,
        "no empty abort in tv1"
    );
}

#[test]
fn tv2_end_rotates_an_exhausted_producer_id() {
    // Proves the tv2 rotation: an EndTxn at an exhausted epoch answers the next producer id at
    // epoch 0, markers keep the old id, completion moves to the new one.
    let mut c = coordinator_with(BrokerConfig {
        protocol: ProtocolMode::Tv2,
        max_producer_epoch: 2,
        ..BrokerConfig::default()
    });
    assert_eq!(init(&mut c, None), (ErrorCode::None, 1000, 0));
    assert_eq!(init(&mut c, None), (ErrorCode::None, 1000, 1));
    c.add_partition(0, &id(), 1000, 1, &TopicPartition::output(0))
        .unwrap();
    let (error, pid, epoch, markers) = end(&mut c, 1000, 1, true);
    assert_eq!((error, pid, epoch), (ErrorCode::None, 1001, 0));
    assert_eq!(
        (markers[0].producer_id, markers[0].producer_epoch),
        (1000, 2)
    );
    assert_eq!(
        c.add_partition(0, &id(), 1001, 0, &TopicPartition::output(0)),
        Err(ErrorCode::ConcurrentTransactions)
    );
    ack_all(&mut c, &markers);
    let metadata = c.metadata(&id()).unwrap();
    assert_eq!(
        (
            metadata.producer_id,
            metadata.producer_epoch,
            metadata.previous_producer_id
        ),
        (1001, 0, 1000)
    );
    assert_eq!(
        end(&mut c, 1000, 1, true),
        (ErrorCode::None, 1001, 0, vec![]),
        "a retry across the rotation"
    );
}

#[test]
fn marker_responses_complete_or_are_ignored() {
    // Proves 4.5: only a NONE for the current transaction and coordinator epoch counts; duplicates
    // and stale answers are ignored; INVALID_PRODUCER_EPOCH stops the markers.
    let mut c = coordinator(ProtocolMode::Tv1);
    init(&mut c, None);
    add(&mut c, 1000, 0, 0);
    add(&mut c, 1000, 0, 1);
    let (_, _, _, markers) = end(&mut c, 1000, 0, true);
    assert_eq!(markers.len(), 2);
    let mut stale = markers[0].respond(ErrorCode::None);
    stale.coordinator_epoch = -1;
    c.handle_marker_response(30, &stale);
    assert_eq!(
        c.describe(&id()).unwrap().pending_markers.len(),
        2,
        "older coordinator epoch ignored"
    );
    c.handle_marker_response(30, &markers[0].respond(ErrorCode::None));
    c.handle_marker_response(30, &markers[0].respond(ErrorCode::None));
    assert_eq!(state(&c), TxnState::PrepareCommit);
    c.handle_marker_response(30, &markers[1].respond(ErrorCode::InvalidProducerEpoch));
    let view = c.describe(&id()).unwrap();
    assert!(view.markers_abandoned && view.pending_markers.is_empty());
    assert_eq!(
        view.state,
        TxnState::PrepareCommit,
        "stays prepared: someone newer owns it"
    );
}

#[test]
fn lost_markers_wait_for_the_retry_timer() {
    // Proves 4.5 retry: a lost marker is failed, arms MarkerRetry, and the retry re-sends exactly it.
    let mut c = coordinator(ProtocolMode::Tv1);
    init(&mut c, None);
    add(&mut c, 1000, 0, 0);
    add(&mut c, 1000, 0, 1);
    let (_, _, _, markers) = end(&mut c, 1000, 0, false);
    c.marker_lost(50, &markers[1]);
    c.handle_marker_response(51, &markers[0].respond(ErrorCode::KafkaStorageError));
    assert_eq!(c.timers(), vec![(CoordinatorTimer::MarkerRetry(id()), 150)]);
    let resent = c.retry_markers(150, &id());
    assert_eq!(resent, markers);
    assert!(c.timers().is_empty());
    ack_all(&mut c, &resent);
    assert_eq!(state(&c), TxnState::CompleteAbort);
}

#[test]
fn transaction_timeout_aborts_only_expired_ongoing_transactions() {
    // Proves 4.5 timeout: the timer is armed at start + timeout, does nothing early, then fences and aborts.
    let mut c = coordinator(ProtocolMode::Tv1);
    init(&mut c, None);
    assert!(c.timers().is_empty());
    add(&mut c, 1000, 0, 0);
    assert_eq!(
        c.timers(),
        vec![(CoordinatorTimer::TransactionTimeout(id()), 1010)]
    );
    assert!(c.handle_transaction_timeout(1009, &id()).is_empty());
    let markers = c.handle_transaction_timeout(1010, &id());
    assert_eq!(
        (markers.len(), markers[0].producer_epoch, markers[0].commit),
        (1, 1, false)
    );
    assert_eq!(state(&c), TxnState::PrepareAbort);
    assert_eq!(end(&mut c, 1000, 0, true).0, ErrorCode::ProducerFenced);
}

#[test]
fn failover_replays_the_log_and_resends_markers() {
    // Proves 4.5 failover: a new coordinator epoch, state from the log, markers of Prepare* re-sent
    // with the new epoch, answers to the old epoch's markers ignored.
    let mut c = coordinator(ProtocolMode::Tv1);
    init(&mut c, None);
    add(&mut c, 1000, 0, 0);
    let (_, _, _, old) = end(&mut c, 1000, 0, true);
    let markers = c.failover(100, || Box::new(MemoryLog::new()));
    assert_eq!(c.coordinator_epoch(), 1);
    assert_eq!(state(&c), TxnState::PrepareCommit);
    assert_eq!(markers.len(), 1);
    assert_eq!(markers[0].coordinator_epoch, 1);
    c.handle_marker_response(101, &old[0].respond(ErrorCode::None));
    assert_eq!(
        state(&c),
        TxnState::PrepareCommit,
        "the old epoch's answer is ignored"
    );
    ack_all(&mut c, &markers);
    assert_eq!(state(&c), TxnState::CompleteCommit);
    assert_eq!(c.next_producer_id(), 1001, "producer ids survive failover");
}

#[test]
fn verification_reads_the_ongoing_transaction() {
    // Proves KIP-890 part 1: only (pid, epoch) with the partition in an Ongoing transaction verifies.
    let mut c = coordinator(ProtocolMode::Tv1Verified);
    let p0 = TopicPartition::output(0);
    assert_eq!(
        c.verify_partition(&id(), 1000, 0, &p0),
        Err(ErrorCode::InvalidTxnState)
    );
    init(&mut c, None);
    assert_eq!(
        c.verify_partition(&id(), 1000, 0, &p0),
        Err(ErrorCode::InvalidTxnState)
    );
    add(&mut c, 1000, 0, 0);
    assert_eq!(c.verify_partition(&id(), 1000, 0, &p0), Ok(()));
    assert_eq!(
        c.verify_partition(&id(), 1000, 1, &p0),
        Err(ErrorCode::InvalidTxnState)
    );
    assert_eq!(
        c.verify_partition(&id(), 1000, 0, &TopicPartition::output(1)),
        Err(ErrorCode::InvalidTxnState)
    );
}

#[test]
fn fencing_off_skips_coordinator_epoch_checks() {
    // Proves the fencing guard: with it off, an old epoch is not PRODUCER_FENCED at the coordinator.
    let mut c = coordinator_with(BrokerConfig {
        protocol: ProtocolMode::Tv1,
        fencing: false,
        ..BrokerConfig::default()
    });
    init(&mut c, None);
    init(&mut c, None);
    assert_eq!(add(&mut c, 1000, 0, 0), ErrorCode::None);
    assert_eq!(end(&mut c, 1000, 0, true).0, ErrorCode::None);
}
