//! EndTxn (specs 4.4) in tv1 and tv2.

use super::*;

#[test]
fn end_txn_by_state_tv1() {
    // Proves 4.4 for tv1: every (state, result) answer.
    let mut c = coordinator(ProtocolMode::Tv1);
    assert_eq!(end(&mut c, 1000, 0, true).0, ErrorCode::InvalidProducerIdMapping);
    init(&mut c, None);
    assert_eq!(end(&mut c, 1000, 0, true).0, ErrorCode::InvalidTxnState, "Empty");
    assert_eq!(end(&mut c, 1000, 0, false).0, ErrorCode::InvalidTxnState, "Empty");
    add(&mut c, 1000, 0, 0);
    assert_eq!(end(&mut c, 1001, 0, true).0, ErrorCode::InvalidProducerIdMapping);
    assert_eq!(end(&mut c, 1000, 1, true).0, ErrorCode::ProducerFenced);
    let (error, pid, epoch, markers) = end(&mut c, 1000, 0, true);
    assert_eq!((error, pid, epoch, markers.len()), (ErrorCode::None, 1000, 0, 1));
    assert_eq!(end(&mut c, 1000, 0, true).0, ErrorCode::ConcurrentTransactions, "PrepareCommit + commit");
    assert_eq!(end(&mut c, 1000, 0, false).0, ErrorCode::ConcurrentTransactions, "PrepareCommit is pending");
    ack_all(&mut c, &markers);
    assert_eq!(state(&c), TxnState::CompleteCommit);
    assert!(c.metadata(&id()).unwrap().partitions.is_empty());
    assert_eq!(end(&mut c, 1000, 0, true).0, ErrorCode::None, "a retried commit");
    assert_eq!(end(&mut c, 1000, 0, false).0, ErrorCode::InvalidTxnState);
    add(&mut c, 1000, 0, 0);
    let (_, _, _, markers) = end(&mut c, 1000, 0, false);
    assert_eq!(end(&mut c, 1000, 0, false).0, ErrorCode::ConcurrentTransactions, "PrepareAbort + abort");
    assert_eq!(end(&mut c, 1000, 0, true).0, ErrorCode::ConcurrentTransactions, "PrepareAbort is pending");
    ack_all(&mut c, &markers);
    assert_eq!(end(&mut c, 1000, 0, false).0, ErrorCode::None, "a retried abort");
    assert_eq!(end(&mut c, 1000, 0, true).0, ErrorCode::InvalidTxnState);
}

#[test]
fn end_txn_tv2_bumps_and_accepts_retries() {
    // Proves 4.4 for tv2: EndTxn answers epoch + 1; any EndTxn waits while Prepare* is pending
    // (KAFKA-18464); the retry with the old epoch gets NONE in Complete*; the old epoch is fenced in
    // Ongoing.
    let mut c = coordinator(ProtocolMode::Tv2);
    init(&mut c, None);
    c.add_partition(0, &id(), 1000, 0, &TopicPartition::output(0)).unwrap();
    let (error, pid, epoch, markers) = end(&mut c, 1000, 0, true);
    assert_eq!((error, pid, epoch), (ErrorCode::None, 1000, 1));
    assert_eq!(markers[0].producer_epoch, 1);
    assert_eq!(c.metadata(&id()).unwrap().last_producer_epoch, 0);
    assert_eq!(end(&mut c, 1000, 0, true).0, ErrorCode::ConcurrentTransactions);
    assert_eq!(end(&mut c, 1000, 1, false).0, ErrorCode::ConcurrentTransactions, "the next, empty abort waits");
    ack_all(&mut c, &markers);
    assert_eq!(end(&mut c, 1000, 0, true), (ErrorCode::None, 1000, 1, vec![]));
    c.add_partition(0, &id(), 1000, 1, &TopicPartition::output(0)).unwrap();
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
    assert_eq!((error, pid, epoch, markers.len()), (ErrorCode::None, 1000, 1, 0));
    assert_eq!(state(&c), TxnState::CompleteAbort);
    assert_eq!(end(&mut c, 1000, 1, true).0, ErrorCode::InvalidTxnState, "a commit at the current epoch");
    assert_eq!(end(&mut c, 1000, 0, true).0, ErrorCode::ProducerFenced, "a commit at a retry epoch (KAFKA-20785)");
    assert_eq!(end(&mut c, 1000, 1, false).1, 1000);
    assert_eq!(c.metadata(&id()).unwrap().producer_epoch, 2);
    let mut v1 = coordinator(ProtocolMode::Tv1);
    init(&mut v1, None);
    assert_eq!(end(&mut v1, 1000, 0, false).0, ErrorCode::InvalidTxnState, "no empty abort in tv1");
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
    c.add_partition(0, &id(), 1000, 1, &TopicPartition::output(0)).unwrap();
    let (error, pid, epoch, markers) = end(&mut c, 1000, 1, true);
    assert_eq!((error, pid, epoch), (ErrorCode::None, 1001, 0));
    assert_eq!((markers[0].producer_id, markers[0].producer_epoch), (1000, 2));
    assert_eq!(c.add_partition(0, &id(), 1001, 0, &TopicPartition::output(0)), Err(ErrorCode::ConcurrentTransactions));
    ack_all(&mut c, &markers);
    let metadata = c.metadata(&id()).unwrap();
    assert_eq!((metadata.producer_id, metadata.producer_epoch, metadata.previous_producer_id), (1001, 0, 1000));
    assert_eq!(end(&mut c, 1000, 1, true), (ErrorCode::None, 1001, 0, vec![]), "a retry across the rotation");
}

fn without(fixes: impl FnOnce(&mut crate::config::Fixes)) -> BrokerConfig {
    let mut config = BrokerConfig { protocol: ProtocolMode::Tv2, ..BrokerConfig::default() };
    fixes(&mut config.fixes);
    config
}

#[test]
fn kafka_18464_switch() {
    // Proves the switch: without the fix, the epoch is checked before the pending transition and the
    // producer's own next (empty) abort during PrepareCommit is fenced.
    let mut c = coordinator_with(without(|f| f.kafka_18464 = false));
    init(&mut c, None);
    c.add_partition(0, &id(), 1000, 0, &TopicPartition::output(0)).unwrap();
    end(&mut c, 1000, 0, true);
    assert_eq!(end(&mut c, 1000, 1, false).0, ErrorCode::ProducerFenced);
    assert_eq!(end(&mut c, 1000, 0, true).0, ErrorCode::ConcurrentTransactions, "a retry still waits");
}

#[test]
fn commit_racing_a_timeout_abort_is_fenced() {
    // Proves KAFKA-20785: a commit at the epoch before the coordinator's abort meets CompleteAbort at
    // a retry epoch and is told PRODUCER_FENCED; without the fix INVALID_TXN_STATE.
    for (config, expected) in
        [(without(|_| {}), ErrorCode::ProducerFenced), (without(|f| f.kafka_20785 = false), ErrorCode::InvalidTxnState)]
    {
        let mut c = coordinator_with(config);
        init(&mut c, None);
        c.add_partition(0, &id(), 1000, 0, &TopicPartition::output(0)).unwrap();
        let markers = c.handle_transaction_timeout(1_000_000, &id());
        assert_eq!(markers[0].producer_epoch, 1, "one bump (KAFKA-19367)");
        ack_all(&mut c, &markers);
        assert_eq!(end(&mut c, 1000, 0, true).0, expected);
    }
}

#[test]
fn kafka_18660_switch_answers_the_rotated_producer_id() {
    // Proves 4.4 (KAFKA-18660): an EndTxn that rotates the producer id answers the next id at epoch 0;
    // with the fix off, the old id at the overflowing epoch.
    for (kafka_18660, answer) in [(true, (1001, 0)), (false, (1000, 2))] {
        let mut config = without(|f| f.kafka_18660 = kafka_18660);
        config.max_producer_epoch = 2;
        let mut c = coordinator_with(config);
        init(&mut c, None);
        init(&mut c, None);
        c.add_partition(0, &id(), 1000, 1, &TopicPartition::output(0)).unwrap();
        let (error, pid, epoch, _) = end(&mut c, 1000, 1, true);
        assert_eq!((error, (pid, epoch)), (ErrorCode::None, answer));
    }
}

#[test]
fn kafka_20090_fence_at_an_exhausted_epoch_rotates() {
    // Proves 4.5 (KAFKA-20090): a timeout at epoch max - 1 fences to max and its abort rotates the
    // producer id at completion; with the fix off the id stays and the client's late abort is answered
    // as a retry at the maximum epoch.
    for (kafka_20090, after) in [(true, (1001, 0)), (false, (1000, 3))] {
        let mut config = without(|f| f.kafka_20090 = kafka_20090);
        config.max_producer_epoch = 3;
        let mut c = coordinator_with(config);
        init(&mut c, None);
        init(&mut c, None);
        init(&mut c, None);
        c.add_partition(0, &id(), 1000, 2, &TopicPartition::output(0)).unwrap();
        let markers = c.handle_transaction_timeout(1_000_000, &id());
        assert_eq!(markers[0].producer_epoch, 3);
        ack_all(&mut c, &markers);
        let metadata = c.metadata(&id()).unwrap();
        assert_eq!((metadata.producer_id, metadata.producer_epoch), after);
        let (error, pid, epoch, _) = end(&mut c, 1000, 2, false);
        assert_eq!((error, (pid, epoch)), (ErrorCode::None, after), "the late abort is a retry");
    }
}
