//! InitProducerId (specs 4.2), AddPartitionsToTxn / AddOffsetsToTxn (4.3), pending transitions.

use super::*;
use crate::mutation::Faults;

#[test]
fn init_without_transactional_id_allocates_sequential_ids() {
    // Proves 4.2 step 1: idempotent producers get fresh ids from first_producer_id at epoch 0.
    let mut c = coordinator(ProtocolMode::Tv1);
    let request = InitProducerIdRequest { transactional_id: None, transaction_timeout_ms: 0, expected: None };
    assert_eq!(c.handle_init_producer_id(0, &request).0.producer_id, 1000);
    let second = c.handle_init_producer_id(0, &request).0;
    assert_eq!((second.error, second.producer_id, second.producer_epoch), (ErrorCode::None, 1001, 0));
}

#[test]
fn init_rejects_a_timeout_above_the_maximum() {
    // Proves 4.2 step 2: INVALID_TRANSACTION_TIMEOUT, and nothing is created.
    let mut c = coordinator_with(BrokerConfig { max_transaction_timeout_ms: 999, ..BrokerConfig::default() });
    assert_eq!(init(&mut c, None), (ErrorCode::InvalidTransactionTimeout, -1, -1));
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
    let request = InitProducerIdRequest { transactional_id: Some(id()), transaction_timeout_ms: 1000, expected: None };
    let (answer, markers) = c.handle_init_producer_id(40, &request);
    assert_eq!(answer.error, ErrorCode::ConcurrentTransactions);
    assert_eq!(state(&c), TxnState::PrepareAbort);
    assert_eq!(markers.len(), 1);
    assert_eq!((markers[0].producer_epoch, markers[0].commit), (1, false));
    // The old producer is fenced at the coordinator (EndTxn checks the epoch first in tv1) and told
    // to wait by AddPartitions while the abort is pending (KAFKA-18660's order).
    assert_eq!(add(&mut c, 1000, 0, 1), ErrorCode::ConcurrentTransactions);
    assert_eq!(end(&mut c, 1000, 0, true).0, ErrorCode::ProducerFenced);
    // While markers are pending the retry waits; once acknowledged it gets epoch 2.
    assert_eq!(init(&mut c, None).0, ErrorCode::ConcurrentTransactions);
    ack_all(&mut c, &markers);
    assert_eq!(state(&c), TxnState::CompleteAbort);
    assert_eq!(init(&mut c, None), (ErrorCode::None, 1000, 2));
}

#[test]
fn tv2_fence_bumps_once() {
    // Proves specs 2 and 4.5 (tv2, KAFKA-19367): a coordinator abort bumps once, for the fence; with the
    // fix switched off, once more for the end.
    for (kafka_19367, epoch) in [(true, 1), (false, 2)] {
        let mut config = BrokerConfig { protocol: ProtocolMode::Tv2, ..BrokerConfig::default() };
        config.fixes.kafka_19367 = kafka_19367;
        let mut c = coordinator_with(config);
        init(&mut c, None);
        c.add_partition(0, &id(), 1000, 0, &TopicPartition::output(0)).expect("add");
        let markers = c.handle_transaction_timeout(5_000, &id());
        assert_eq!((markers[0].producer_epoch, markers[0].transaction_version), (epoch, 2));
        assert_eq!(c.metadata(&id()).unwrap().producer_epoch, epoch);
    }
}

#[test]
fn add_partitions_checks_pending_first() {
    // Proves 4.3 (KAFKA-18660): in Prepare*, AddPartitions is told to wait before its producer id and
    // epoch are looked at; with the fix off, a wrong epoch is fenced first.
    for (kafka_18660, expected) in [(true, ErrorCode::ConcurrentTransactions), (false, ErrorCode::ProducerFenced)] {
        let mut config = BrokerConfig { protocol: ProtocolMode::Tv2, ..BrokerConfig::default() };
        config.fixes.kafka_18660 = kafka_18660;
        let mut c = coordinator_with(config);
        init(&mut c, None);
        c.add_partition(0, &id(), 1000, 0, &TopicPartition::output(0)).expect("add");
        end(&mut c, 1000, 0, true);
        assert_eq!(c.add_partition(0, &id(), 1000, 7, &TopicPartition::output(1)), Err(expected));
    }
}

#[test]
fn kip360_expected_epoch_paths() {
    // Proves 4.2 KIP-360: a matching expected epoch bumps, a retry gets the same epoch (and Empty), a stale
    // one is fenced.
    let mut c = coordinator(ProtocolMode::Tv1);
    assert_eq!(init(&mut c, None), (ErrorCode::None, 1000, 0));
    assert_eq!(init(&mut c, Some((1000, 0))), (ErrorCode::None, 1000, 1));
    assert_eq!(c.metadata(&id()).unwrap().last_producer_epoch, 0);
    let records = c.log_records().len();
    assert_eq!(init(&mut c, Some((1000, 0))), (ErrorCode::None, 1000, 1), "a retry of the bump");
    // Kafka's prepareIncrementProducerEpoch logs Empty in every case, the retry too (same epochs).
    assert_eq!(c.log_records().len(), records + 1, "a retry is logged as Empty");
    let metadata = c.metadata(&id()).unwrap();
    assert_eq!((metadata.producer_epoch, metadata.last_producer_epoch), (1, 0), "a retry bumps nothing");
    assert_eq!(init(&mut c, None), (ErrorCode::None, 1000, 2));
    assert_eq!(init(&mut c, Some((1000, 0))), (ErrorCode::ProducerFenced, -1, -1));
    assert_eq!(init(&mut c, Some((999, 2))), (ErrorCode::ProducerFenced, -1, -1), "another producer id");
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
    assert_eq!((metadata.previous_producer_id, metadata.last_producer_epoch), (1000, 2));
    assert_eq!(init(&mut c, Some((1000, 2))), (ErrorCode::None, 1001, 0), "retry across the rotation");
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
    let request =
        AddOffsetsToTxnRequest { transactional_id: id(), producer_id: 1000, producer_epoch: 0, group: "g".into() };
    assert_eq!(c.handle_add_offsets(0, &request).error, ErrorCode::None);
    assert!(c.metadata(&id()).unwrap().partitions.contains(&TopicPartition::group_offsets("g")));
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
    assert_eq!(end(&mut c, 1000, 0, false).0, ErrorCode::ConcurrentTransactions);
    assert_eq!(init(&mut c, None).0, ErrorCode::ConcurrentTransactions);
    assert!(c.timers().is_empty(), "no timeout while a transition is pending");
}

#[test]
fn failed_log_append_drops_the_pending_transition() {
    // Proves prepare/append/complete: a failed append answers COORDINATOR_NOT_AVAILABLE and leaves the state.
    let mut c = TransactionCoordinator::new(
        BrokerConfig { protocol: ProtocolMode::Tv1, ..BrokerConfig::default() },
        Box::new(MemoryLog::failing_from(1)),
    );
    assert_eq!(init(&mut c, None).0, ErrorCode::None);
    assert_eq!(add(&mut c, 1000, 0, 0), ErrorCode::CoordinatorNotAvailable);
    let metadata = c.metadata(&id()).unwrap();
    assert_eq!((metadata.state, metadata.pending_state), (TxnState::Empty, None));
}

#[test]
fn failed_fence_append_does_not_bump_twice() {
    // Proves Kafka's hasFailedEpochFence: a fence whose append failed keeps its bump for the next try.
    let mut c = TransactionCoordinator::new(
        BrokerConfig { protocol: ProtocolMode::Tv1, ..BrokerConfig::default() },
        Box::new(MemoryLog::failing_from(2)),
    );
    init(&mut c, None);
    assert_eq!(add(&mut c, 1000, 0, 0), ErrorCode::None);
    assert_eq!(init(&mut c, None).0, ErrorCode::CoordinatorNotAvailable);
    assert!(c.metadata(&id()).unwrap().has_failed_epoch_fence);
    assert_eq!(c.metadata(&id()).unwrap().producer_epoch, 1);
    assert_eq!(init(&mut c, None).0, ErrorCode::CoordinatorNotAvailable);
    assert_eq!(c.metadata(&id()).unwrap().producer_epoch, 1, "not bumped again");
}
