//! Markers, timeouts, failover and verification (specs 4.5, KIP-890 part 1).

use super::*;

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
    assert_eq!(c.describe(&id()).unwrap().pending_markers.len(), 2, "older coordinator epoch ignored");
    c.handle_marker_response(30, &markers[0].respond(ErrorCode::None));
    c.handle_marker_response(30, &markers[0].respond(ErrorCode::None));
    assert_eq!(state(&c), TxnState::PrepareCommit);
    c.handle_marker_response(30, &markers[1].respond(ErrorCode::InvalidProducerEpoch));
    let view = c.describe(&id()).unwrap();
    assert!(view.markers_abandoned && view.pending_markers.is_empty());
    assert_eq!(view.state, TxnState::PrepareCommit, "stays prepared: someone newer owns it");
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
    let request_timeouts: Vec<CoordinatorTimer> =
        (0..2).map(|p| CoordinatorTimer::MarkerRequestTimeout(id(), TopicPartition::output(p))).collect();
    let armed: Vec<CoordinatorTimer> = c.timers().into_iter().map(|(t, _)| t).collect();
    assert_eq!(armed, request_timeouts, "only the resent markers' request timeouts");
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
    assert_eq!(c.timers(), vec![(CoordinatorTimer::TransactionTimeout(id()), 1010)]);
    assert!(c.handle_transaction_timeout(1009, &id()).is_empty());
    let markers = c.handle_transaction_timeout(1010, &id());
    assert_eq!((markers.len(), markers[0].producer_epoch, markers[0].commit), (1, 1, false));
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
    assert_eq!(state(&c), TxnState::PrepareCommit, "the old epoch's answer is ignored");
    ack_all(&mut c, &markers);
    assert_eq!(state(&c), TxnState::CompleteCommit);
    assert_eq!(c.next_producer_id(), 1001, "producer ids survive failover");
}

#[test]
fn verification_answers_as_kafkas_coordinator() {
    // Proves KIP-890 part 1 with Kafka's answers: only (pid, epoch) with the partition in its
    // transaction verifies; the rest is told apart (the leader translates, see broker tests).
    let mut c = coordinator(ProtocolMode::Tv1Verified);
    let p0 = TopicPartition::output(0);
    assert_eq!(c.verify_partition(&id(), 1000, 0, &p0), Err(ErrorCode::InvalidProducerIdMapping), "unknown id");
    init(&mut c, None);
    assert_eq!(c.verify_partition(&id(), 1000, 0, &p0), Err(ErrorCode::TransactionAbortable), "Empty");
    add(&mut c, 1000, 0, 0);
    assert_eq!(c.verify_partition(&id(), 1000, 0, &p0), Ok(()));
    assert_eq!(c.verify_partition(&id(), 1001, 0, &p0), Err(ErrorCode::InvalidProducerIdMapping), "another pid");
    assert_eq!(c.verify_partition(&id(), 1000, 1, &p0), Err(ErrorCode::ProducerFenced), "another epoch");
    let other = TopicPartition::output(1);
    assert_eq!(c.verify_partition(&id(), 1000, 0, &other), Err(ErrorCode::TransactionAbortable), "not added");
    let (_, _, _, markers) = end(&mut c, 1000, 0, true);
    assert_eq!(c.verify_partition(&id(), 1000, 0, &p0), Err(ErrorCode::ConcurrentTransactions), "PrepareCommit");
    ack_all(&mut c, &markers);
    assert_eq!(c.verify_partition(&id(), 1000, 0, &p0), Err(ErrorCode::TransactionAbortable), "CompleteCommit");
}

#[test]
fn fencing_off_skips_coordinator_epoch_checks() {
    // Proves the fencing guard: with it off, an old epoch is not PRODUCER_FENCED at the coordinator.
    let mut c =
        coordinator_with(BrokerConfig { protocol: ProtocolMode::Tv1, fencing: false, ..BrokerConfig::default() });
    init(&mut c, None);
    init(&mut c, None);
    assert_eq!(add(&mut c, 1000, 0, 0), ErrorCode::None);
    assert_eq!(end(&mut c, 1000, 0, true).0, ErrorCode::None);
}

#[test]
fn an_id_whose_first_bump_failed_is_owned_by_nobody() {
    // Proves requests naming a transactional id whose first InitProducerId was never logged get
    // INVALID_PRODUCER_ID_MAPPING (even with fencing off), never a transition without an epoch.
    let config = BrokerConfig { protocol: ProtocolMode::Tv1, fencing: false, ..BrokerConfig::default() };
    let mut c = TransactionCoordinator::new(config, Box::new(MemoryLog::failing_from(0)));
    assert_eq!(init(&mut c, None).0, ErrorCode::CoordinatorNotAvailable);
    assert_eq!(add(&mut c, 1000, 0, 0), ErrorCode::InvalidProducerIdMapping);
    assert_eq!(end(&mut c, 1000, 0, false).0, ErrorCode::InvalidProducerIdMapping);
}

#[test]
fn a_marker_request_timeout_resends_the_marker() {
    // Proves specs 9 (marker duplicates): the marker-request timer of an in-flight marker sends the
    // same marker again; an acknowledged or failed marker has no such timer.
    let mut c = coordinator(ProtocolMode::Tv2);
    init(&mut c, None);
    c.add_partition(0, &id(), 1000, 0, &TopicPartition::output(0)).unwrap();
    let (_, _, _, markers) = end(&mut c, 1000, 0, true);
    let timer = CoordinatorTimer::MarkerRequestTimeout(id(), TopicPartition::output(0));
    assert!(c.timers().iter().any(|(t, deadline)| *t == timer && *deadline == 20 + 30_000));
    let again = c.resend_marker(40, &id(), &TopicPartition::output(0)).expect("in flight");
    assert_eq!(again, markers[0]);
    ack_all(&mut c, &markers);
    assert_eq!(c.resend_marker(50, &id(), &TopicPartition::output(0)), None, "acknowledged");
    assert!(!c.timers().iter().any(|(t, _)| *t == timer));
}
