//! Transactional-id expiry (specs 4.5): Dead, tombstone, forgotten.

use super::*;

#[test]
fn only_an_idle_id_expires_and_then_starts_over() {
    // Proves 4.5: an Ongoing or Prepare* id is refused; an idle one is forgotten, its old producer
    // id gets INVALID_PRODUCER_ID_MAPPING, and the KIP-360 re-init gets a new producer id whose
    // re-sent copy is fenced.
    let mut c = coordinator(ProtocolMode::Tv2);
    assert_eq!(c.expire_transactional_id(0, &id()), Err(ErrorCode::InvalidRequest), "unknown");
    init(&mut c, None);
    assert_eq!(add(&mut c, 1000, 0, 0), ErrorCode::None);
    assert_eq!(c.expire_transactional_id(0, &id()), Err(ErrorCode::InvalidRequest), "Ongoing");
    let (_, _, _, markers) = end(&mut c, 1000, 0, true);
    assert_eq!(c.expire_transactional_id(0, &id()), Err(ErrorCode::InvalidRequest), "PrepareCommit");
    ack_all(&mut c, &markers);
    assert_eq!(state(&c), TxnState::CompleteCommit);
    assert_eq!(c.expire_transactional_id(40, &id()), Ok(()));
    assert!(c.metadata(&id()).is_none(), "forgotten");
    assert_eq!(c.log_records().last().map(|r| r.state), Some(TxnState::Dead), "a tombstone is logged");
    assert_eq!(add(&mut c, 1000, 1, 0), ErrorCode::InvalidProducerIdMapping);
    assert_eq!(end(&mut c, 1000, 1, false).0, ErrorCode::InvalidProducerIdMapping);
    assert_eq!(init(&mut c, Some((1000, 1))), (ErrorCode::None, 1001, 0));
    assert_eq!(init(&mut c, Some((1000, 1))).0, ErrorCode::ProducerFenced);
}

#[test]
fn a_failover_does_not_bring_an_expired_id_back() {
    // Proves 4.5: the replay skips a tombstoned id.
    let mut c = coordinator(ProtocolMode::Tv1);
    init(&mut c, None);
    c.expire_transactional_id(10, &id()).unwrap();
    c.failover(20, || Box::new(MemoryLog::new()));
    assert!(c.metadata(&id()).is_none());
}

#[test]
fn a_failed_tombstone_leaves_the_id_usable() {
    // Proves 4.5: a tombstone whose append fails clears the pending Dead; the id keeps its producer.
    let mut c = TransactionCoordinator::new(BrokerConfig::default(), Box::new(MemoryLog::failing_from(1)));
    assert_eq!(init(&mut c, None).0, ErrorCode::None);
    assert_eq!(c.expire_transactional_id(10, &id()), Err(ErrorCode::CoordinatorNotAvailable));
    let metadata = c.metadata(&id()).expect("still known");
    assert_eq!((metadata.state, metadata.pending_state, metadata.producer_id), (TxnState::Empty, None, 1000));
}
