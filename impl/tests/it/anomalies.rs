//! The old-protocol anomalies of REFERENCE.md section 4, reproduced in tv1 by delivering the late
//! message by hand, and shown impossible in the modes that fix them (the same schedule, the late
//! message rejected).

use crate::common::*;
use eos_broker::cluster::{Cluster, Timer};
use eos_broker::{ClientId, ErrorCode, IsolationLevel, Message, MessageId, ProtocolMode, TopicPartition, TxnState};

const C0: ClientId = ClientId(0);

/// A producer from before Java 4.x: it keeps its epoch after an abort that gave up a Produce, which
/// anomalies A and B need (a Java 4.x client bumps it on tv1, see `java_client_bumps_after_giving_up`).
fn legacy_producer() -> eos_broker::ClientConfig {
    eos_broker::ClientConfig { version: eos_broker::client::ClientVersion::Legacy, ..producer("txn-0") }
}

fn p0() -> TopicPartition {
    TopicPartition::output(0)
}

fn produce_answer(c: &Cluster, sent: &[MessageId]) -> ErrorCode {
    let response = sent.iter().filter_map(|id| c.message(*id)).find_map(|m| match &m.message {
        Message::ProduceResponse(r) => Some(r.error),
        _ => None,
    });
    response.expect("the leader answered")
}

/// T1 sends one record to out-0, the Produce is held in the network, and the client aborts; every
/// other message is delivered. Returns the held Produce.
fn abort_with_a_delayed_produce(c: &mut Cluster) -> MessageId {
    start(c, C0);
    c.send(C0, 0, "t1-aborted").unwrap();
    deliver_while(c, |m| m.message.kind() != "Produce");
    let late = find(c, |m| is_produce_of(m, "t1-aborted")).expect("the Produce is in flight");
    c.abort(C0).unwrap();
    deliver_all_but(c, |m| m.id == late);
    assert_eq!(c.client(C0).unwrap().phase(), eos_broker::Phase::Ready);
    late
}

#[test]
fn a_hanging_transaction_in_tv1() {
    // Proves anomaly A in tv1: the late Produce opens a transaction the coordinator does not know,
    // the LSO stalls, and no timer can ever end it.
    let mut c = cluster(ProtocolMode::Tv1, 2, vec![legacy_producer()]);
    let late = abort_with_a_delayed_produce(&mut c);
    let answer = c.deliver(late).unwrap();
    assert_eq!(produce_answer(&c, &answer), ErrorCode::None);
    settle(&mut c);
    let view = c.partition_view(&p0()).unwrap();
    assert!(view.last_stable_offset < view.high_watermark, "the LSO is stuck behind the hanging record");
    assert_eq!(c.describe_transaction(&"txn-0".into()).unwrap().state, TxnState::CompleteAbort);
    assert!(!c.timers().iter().any(|(t, _)| matches!(t, Timer::TransactionTimeout { .. })), "nothing will time it out");
    // Later committed work on the partition stays invisible to read_committed.
    commit_one(&mut c, C0, 1, "t2");
    assert_eq!(committed(&c, 1), vec!["t2"]);
    let view = c.partition_view(&p0()).unwrap();
    assert!(view.last_stable_offset < view.high_watermark);
}

#[test]
fn no_hanging_transaction_with_verification_or_tv2() {
    // Proves anomaly A is impossible in tv1-verified (INVALID_TXN_STATE) and tv2 (INVALID_PRODUCER_EPOCH).
    for (protocol, expected) in
        [(ProtocolMode::Tv1Verified, ErrorCode::InvalidTxnState), (ProtocolMode::Tv2, ErrorCode::InvalidProducerEpoch)]
    {
        let mut c = cluster(protocol, 2, vec![legacy_producer()]);
        let late = abort_with_a_delayed_produce(&mut c);
        let answer = c.deliver(late).unwrap();
        assert_eq!(produce_answer(&c, &answer), expected, "{protocol:?}");
        settle(&mut c);
        let view = c.partition_view(&p0()).unwrap();
        assert_eq!(view.last_stable_offset, view.high_watermark, "{protocol:?}: nothing open");
        assert!(read(&c, 0, IsolationLevel::ReadUncommitted).is_empty(), "{protocol:?}: nothing appended");
    }
}

/// Anomaly B's schedule: T1's Produce is delayed past its abort; T2 (same producer) writes to the
/// same partition; the late T1 record lands before T2's; T2 commits. Returns out-0's committed values.
fn late_produce_joins_the_next_transaction(protocol: ProtocolMode) -> (ErrorCode, Vec<String>) {
    let mut c = cluster(protocol, 2, vec![legacy_producer()]);
    let late = abort_with_a_delayed_produce(&mut c);
    c.send(C0, 0, "t2").unwrap();
    deliver_all_but(&mut c, |m| m.id == late || is_produce_of(m, "t2"));
    let answer = c.deliver(late).unwrap();
    let error = produce_answer(&c, &answer);
    settle(&mut c);
    if c.client(C0).unwrap().phase() == eos_broker::Phase::InTransaction {
        c.commit(C0).unwrap();
    } else {
        c.abort(C0).unwrap();
    }
    settle(&mut c);
    (error, committed(&c, 0))
}

#[test]
fn late_produce_joins_the_next_transaction_in_tv1() {
    // Proves anomaly B in tv1 (and tv1-verified, which only checks the partition is in *a*
    // transaction): T1's aborted record becomes visible when T2 commits.
    for protocol in [ProtocolMode::Tv1, ProtocolMode::Tv1Verified] {
        let (error, visible) = late_produce_joins_the_next_transaction(protocol);
        assert_eq!(error, ErrorCode::None, "{protocol:?}");
        assert_eq!(visible, vec!["t1-aborted", "t2"], "{protocol:?}: the aborted record is read as committed");
    }
}

#[test]
fn late_produce_cannot_join_the_next_transaction_in_tv2() {
    // Proves anomaly B is impossible in tv2: T2 runs at epoch + 1, so the late record is fenced
    // and never visible. (Its answer names out-0 and sequence 0, the key fields of specs section 3,
    // which T2's own first Produce shares: the client takes it for T2's and aborts T2 — atomic.)
    let (error, visible) = late_produce_joins_the_next_transaction(ProtocolMode::Tv2);
    assert_eq!(error, ErrorCode::InvalidProducerEpoch);
    assert!(!visible.contains(&"t1-aborted".to_owned()), "{visible:?}");
}

/// Anomaly C's schedule: T1's EndTxn(commit) is duplicated by a request timeout; the duplicate
/// completes T1; T2 writes to out-0 (acknowledged); the stale EndTxn is delivered; T2 writes to
/// out-1 and the client aborts T2. Returns the stale EndTxn's answer and out-0's committed values.
fn stale_end_txn(protocol: ProtocolMode) -> (ErrorCode, Vec<String>) {
    let mut c = cluster(protocol, 2, vec![producer("txn-0")]);
    start(&mut c, C0);
    c.send(C0, 0, "t1").unwrap();
    settle(&mut c);
    let stale = c.commit(C0).unwrap()[0];
    let request = c.client_view(C0).unwrap().outstanding[0].id;
    c.fire(&Timer::RequestTimeout { client: C0, request }).unwrap();
    deliver_all_but(&mut c, |m| m.id == stale);
    assert_eq!(c.client(C0).unwrap().phase(), eos_broker::Phase::Ready);
    c.send(C0, 0, "t2-aborted").unwrap();
    deliver_all_but(&mut c, |m| m.id == stale);
    let answer = c.deliver(stale).unwrap();
    let error = match &c.message(answer[0]).unwrap().message {
        Message::EndTxnResponse(r) => r.error,
        other => panic!("{other:?}"),
    };
    settle(&mut c);
    c.send(C0, 1, "t2-tail").unwrap();
    settle(&mut c);
    c.abort(C0).unwrap();
    settle(&mut c);
    (error, committed(&c, 0))
}

#[test]
fn stale_end_txn_ends_the_next_transaction_in_tv1() {
    // Proves anomaly C in tv1 (KAFKA-17754): the stale EndTxn commits T2 early, so a record of a
    // transaction the client aborted is read as committed (a torn transaction).
    let (error, visible) = stale_end_txn(ProtocolMode::Tv1);
    assert_eq!(error, ErrorCode::None);
    assert_eq!(visible, vec!["t1", "t2-aborted"]);
}

#[test]
fn stale_end_txn_is_fenced_in_tv2() {
    // Proves anomaly C is impossible in tv2: the stale EndTxn's epoch is one behind, PRODUCER_FENCED.
    let (error, visible) = stale_end_txn(ProtocolMode::Tv2);
    assert_eq!(error, ErrorCode::ProducerFenced);
    assert_eq!(visible, vec!["t1"]);
}

#[test]
fn verification_answers_concurrent_transactions_while_prepared() {
    // Proves specs 5.1 step 2 (tv1-verified) at the leader: a Produce verified while its abort is
    // PrepareAbort gets CONCURRENT_TRANSACTIONS, as Kafka's coordinator answers (once CompleteAbort,
    // INVALID_TXN_STATE: `no_hanging_transaction_with_verification_or_tv2`); nothing is appended.
    let mut c = cluster(ProtocolMode::Tv1Verified, 2, vec![legacy_producer()]);
    start(&mut c, C0);
    c.send(C0, 0, "t1").unwrap();
    deliver_while(&mut c, |m| m.message.kind() != "Produce");
    let late = find(&c, |m| is_produce_of(m, "t1")).expect("the Produce is in flight");
    c.abort(C0).unwrap();
    deliver_kind(&mut c, "EndTxn");
    assert_eq!(c.describe_transaction(&"txn-0".into()).unwrap().state, TxnState::PrepareAbort);
    let answer = c.deliver(late).unwrap();
    assert_eq!(produce_answer(&c, &answer), ErrorCode::ConcurrentTransactions);
    settle(&mut c);
    assert_eq!(c.describe_transaction(&"txn-0".into()).unwrap().state, TxnState::CompleteAbort);
    assert!(read(&c, 0, IsolationLevel::ReadUncommitted).is_empty(), "nothing appended");
}

#[test]
fn java_client_bumps_after_giving_up() {
    // Proves specs 7 (KIP-360, Java 4.x): on tv1 an abort that gave up a Produce is followed by
    // InitProducerId with the current (pid, epoch), so the next transaction runs at a new epoch (the
    // late Produce itself still lands: the partition has not seen that epoch, and tv1 has no
    // verification); on tv2 the client leaves the bump to EndTxn and sends no InitProducerId.
    let mut c = cluster(ProtocolMode::Tv1, 2, vec![producer("txn-0")]);
    start(&mut c, C0);
    c.send(C0, 0, "t1-aborted").unwrap();
    deliver_while(&mut c, |m| m.message.kind() != "Produce");
    let late = find(&c, |m| is_produce_of(m, "t1-aborted")).expect("the Produce is in flight");
    c.abort(C0).unwrap();
    deliver_all_but(&mut c, |m| m.id == late);
    assert_eq!(c.client(C0).unwrap().producer_id_and_epoch(), (1000, 1), "bumped by InitProducerId");
    let answer = c.deliver(late).unwrap();
    assert_eq!(produce_answer(&c, &answer), ErrorCode::None, "the hanging transaction of anomaly A");
    let mut v2 = cluster(ProtocolMode::Tv2, 2, vec![producer("txn-0")]);
    start(&mut v2, C0);
    v2.send(C0, 0, "t1-aborted").unwrap();
    deliver_while(&mut v2, |m| m.message.kind() != "Produce");
    v2.abort(C0).unwrap();
    assert!(v2.in_flight().all(|m| m.message.kind() != "InitProducerId"), "tv2 sends EndTxn only");
}
