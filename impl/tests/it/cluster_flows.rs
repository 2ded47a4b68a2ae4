//! End-to-end flows through the in-process cluster: every protocol mode, the copier, retries,
//! duplicates, crashes, timeouts, failover, and client calls in the wrong phase.

use crate::common::*;
use eos_broker::client::{ClientConfig, Phase};
use eos_broker::cluster::Timer;
use eos_broker::{
    ClientError, ClientId, ClusterError, ErrorCode, IsolationLevel, Message, ProtocolMode, TopicPartition, TxnState,
};

const ALL_MODES: [ProtocolMode; 3] = [ProtocolMode::Tv1, ProtocolMode::Tv1Verified, ProtocolMode::Tv2];
const C0: ClientId = ClientId(0);
const C1: ClientId = ClientId(1);

fn txn() -> eos_broker::TransactionalId {
    "txn-0".into()
}

#[test]
fn commit_and_abort_in_every_mode() {
    // Proves the basic flow in each mode: committed records become visible, aborted ones never do.
    for protocol in ALL_MODES {
        let mut c = cluster(protocol, 2, vec![producer("txn-0")]);
        start(&mut c, C0);
        assert_eq!(c.client(C0).unwrap().phase(), Phase::Ready);
        c.send(C0, 0, "p0-t0-o0").unwrap();
        c.send(C0, 1, "p0-t0-o1").unwrap();
        settle(&mut c);
        assert!(committed(&c, 0).is_empty(), "{protocol:?}: undecided records are invisible");
        assert_eq!(read(&c, 0, IsolationLevel::ReadUncommitted), vec!["p0-t0-o0"]);
        c.commit(C0).unwrap();
        settle(&mut c);
        assert_eq!(committed(&c, 0), vec!["p0-t0-o0"], "{protocol:?}");
        assert_eq!(committed(&c, 1), vec!["p0-t0-o1"], "{protocol:?}");
        assert_eq!(c.describe_transaction(&txn()).unwrap().state, TxnState::CompleteCommit);
        c.send(C0, 0, "p0-t1-o0").unwrap();
        settle(&mut c);
        c.abort(C0).unwrap();
        settle(&mut c);
        assert_eq!(committed(&c, 0), vec!["p0-t0-o0"], "{protocol:?}: aborted record invisible");
        assert_eq!(c.partition_view(&TopicPartition::output(0)).unwrap().aborted_index.len(), 1);
        assert_eq!(c.client(C0).unwrap().phase(), Phase::Ready);
        let view = c.partition_view(&TopicPartition::output(0)).unwrap();
        assert_eq!(view.last_stable_offset, view.high_watermark, "{protocol:?}: nothing left open");
    }
}

#[test]
fn tv2_epoch_advances_every_transaction() {
    // Proves KIP-890 part 2: every EndTxn bumps the epoch, the client adopts it and restarts sequences.
    let mut c = cluster(ProtocolMode::Tv2, 1, vec![producer("txn-0")]);
    start(&mut c, C0);
    for k in 0..3 {
        c.send(C0, 0, format!("p0-t{k}-o0")).unwrap();
        settle(&mut c);
        c.commit(C0).unwrap();
        settle(&mut c);
        assert_eq!(c.client(C0).unwrap().producer_id_and_epoch(), (1000, k + 1));
    }
    let view = c.partition_view(&TopicPartition::output(0)).unwrap();
    let sequences: Vec<i32> = view
        .log
        .iter()
        .filter_map(|e| match e {
            eos_broker::partition::LogEntry::Data { sequence, .. } => Some(*sequence),
            _ => None,
        })
        .collect();
    assert_eq!(sequences, vec![0, 0, 0]);
}

#[test]
fn tv1_holds_records_until_the_partition_is_added() {
    // Proves section 7 tv1: the record waits for AddPartitionsToTxn's NONE and is sent in that step.
    let mut c = cluster(ProtocolMode::Tv1, 1, vec![producer("txn-0")]);
    start(&mut c, C0);
    let sent = c.send(C0, 0, "v").unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(c.message(sent[0]).unwrap().message.kind(), "AddPartitionsToTxn");
    assert_eq!(c.client_view(C0).unwrap().held_records, 1);
    assert!(matches!(c.commit(C0), Err(ClusterError::Client(ClientError::NotFlushed { .. }))));
    let reaction = deliver_kind(&mut c, "AddPartitionsToTxn");
    assert_eq!(reaction.len(), 1, "the response");
    let produce = deliver_kind(&mut c, "AddPartitionsToTxnResponse");
    assert_eq!(c.message(produce[0]).unwrap().message.kind(), "Produce");
}

#[test]
fn lost_request_is_retried_by_the_retry_timer() {
    // Proves section 9 loss: the sender marks the request failed; ClientRetry re-sends it.
    let mut c = cluster(ProtocolMode::Tv2, 1, vec![producer("txn-0")]);
    start(&mut c, C0);
    let sent = c.send(C0, 0, "v").unwrap();
    c.lose(sent[0]).unwrap();
    assert!(c.client_view(C0).unwrap().outstanding[0].failed);
    let timers = c.timers();
    assert_eq!(timers.iter().filter(|(t, _)| matches!(t, Timer::ClientRetry { .. })).count(), 1);
    let resent = c.fire(&Timer::ClientRetry { client: C0 }).unwrap();
    assert_eq!(c.now(), 100, "the clock moved to the retry deadline");
    assert_eq!(
        c.message(resent[0]).unwrap().message,
        Message::Produce(match &c.client_view(C0).unwrap().outstanding[0].message {
            Message::Produce(p) => p.clone(),
            other => panic!("{other:?}"),
        })
    );
    settle(&mut c);
    c.commit(C0).unwrap();
    settle(&mut c);
    assert_eq!(committed(&c, 0), vec!["v"]);
}

#[test]
fn lost_response_is_retried_and_deduplicated() {
    // Proves idempotence: a Produce whose response was lost is re-sent and the leader answers the
    // duplicate with the original offset, appending nothing.
    let mut c = cluster(ProtocolMode::Tv2, 1, vec![producer("txn-0")]);
    start(&mut c, C0);
    c.send(C0, 0, "v").unwrap();
    let response = deliver_kind(&mut c, "Produce");
    c.lose(response[0]).unwrap();
    c.fire(&Timer::ClientRetry { client: C0 }).unwrap();
    let answer = deliver_kind(&mut c, "Produce");
    match &c.message(answer[0]).unwrap().message {
        Message::ProduceResponse(r) => assert_eq!((r.error, r.offset), (ErrorCode::None, 0)),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.partition_view(&TopicPartition::output(0)).unwrap().high_watermark, 1);
}

#[test]
fn request_timeout_duplicate_is_appended_once() {
    // Proves a RequestTimeout duplicate (both copies in flight) is appended once; the second answer is ignored.
    let mut c = cluster(ProtocolMode::Tv1Verified, 1, vec![producer("txn-0")]);
    start(&mut c, C0);
    c.send(C0, 0, "v").unwrap();
    deliver_while(&mut c, |m| m.message.kind() != "Produce");
    let request = c.client_view(C0).unwrap().outstanding[0].id;
    c.fire(&Timer::RequestTimeout { client: C0, request }).unwrap();
    assert_eq!(c.in_flight().filter(|m| m.message.kind() == "Produce").count(), 2);
    settle(&mut c);
    assert_eq!(c.partition_view(&TopicPartition::output(0)).unwrap().high_watermark, 1);
    assert_eq!(c.client(C0).unwrap().phase(), Phase::InTransaction);
    assert!(c.client_view(C0).unwrap().outstanding.is_empty());
}

#[test]
fn non_idempotent_retry_duplicates() {
    // Proves the idempotence guard off: a retried Produce is appended twice (the seeds' pitfall).
    let config = ClientConfig { idempotence: false, ..ClientConfig::default() };
    let mut c = cluster(ProtocolMode::Tv2, 1, vec![config]);
    assert!(c.start(C0).unwrap().is_empty(), "no InitProducerId without idempotence");
    c.send(C0, 0, "v").unwrap();
    let response = deliver_kind(&mut c, "Produce");
    c.lose(response[0]).unwrap();
    c.fire(&Timer::ClientRetry { client: C0 }).unwrap();
    settle(&mut c);
    assert_eq!(committed(&c, 0), vec!["v", "v"]);
}

#[test]
fn idempotent_non_transactional_producer() {
    // Proves an idempotent producer without a transactional id: a fresh pid, epoch 0, no transactions.
    let mut c = cluster(ProtocolMode::Tv2, 1, vec![ClientConfig::default()]);
    start(&mut c, C0);
    assert_eq!(c.client(C0).unwrap().producer_id_and_epoch(), (1000, 0));
    c.send(C0, 0, "a").unwrap();
    c.send(C0, 0, "b").unwrap();
    settle(&mut c);
    assert_eq!(committed(&c, 0), vec!["a", "b"]);
    assert!(matches!(c.commit(C0), Err(ClusterError::Client(ClientError::Unsupported { .. }))));
}

#[test]
fn calls_in_the_wrong_phase_are_error_values() {
    // Proves no panics on misuse: every operation outside its phase returns an error and changes nothing.
    let mut c = cluster(ProtocolMode::Tv1, 1, vec![producer("txn-0")]);
    assert!(matches!(c.send(C0, 0, "x"), Err(ClusterError::Client(ClientError::InvalidPhase { .. }))));
    assert!(c.commit(C0).is_err());
    assert!(c.abort(C0).is_err());
    assert!(c.send_offsets(C0, 1).is_err());
    assert!(c.fetch_offsets(C0).is_err());
    assert!(c.send(ClientId(9), 0, "x").is_err());
    assert!(c.send(C0, 7, "x").is_err(), "unknown partition");
    assert!(c.deliver(eos_broker::MessageId(99)).is_err());
    assert!(c.lose(eos_broker::MessageId(99)).is_err());
    assert!(c.fire(&Timer::ClientRetry { client: C0 }).is_err());
    start(&mut c, C0);
    assert!(c.start(C0).is_err());
    assert!(c.commit(C0).is_err(), "no transaction yet");
    c.crash(C0).unwrap();
    assert!(c.crash(C0).is_err());
    assert!(c.send(C0, 0, "x").is_err());
    assert_eq!(c.client(C0).unwrap().phase(), Phase::Crashed);
}

#[test]
fn zombie_is_fenced_by_a_new_instance() {
    // Proves fencing: a second instance's InitProducerId aborts the first's transaction; the
    // zombie's late records are rejected and its EndTxn is PRODUCER_FENCED (fatal).
    for protocol in ALL_MODES {
        let mut c = cluster(protocol, 1, vec![producer("txn-0"), producer("txn-0")]);
        start(&mut c, C0);
        c.send(C0, 0, "zombie-1").unwrap();
        settle(&mut c);
        c.start(C1).unwrap();
        settle(&mut c);
        assert_eq!(c.client(C1).unwrap().phase(), Phase::Ready, "{protocol:?}");
        assert!(c.client(C1).unwrap().producer_id_and_epoch().1 >= 2);
        c.commit(C0).unwrap();
        settle(&mut c);
        assert_eq!(c.client(C0).unwrap().phase(), Phase::FatalError, "{protocol:?}");
        assert!(committed(&c, 0).is_empty(), "{protocol:?}: the zombie's record was aborted");
    }
}

#[test]
fn crashed_producer_transaction_times_out() {
    // Proves the transaction timeout: a crashed producer's transaction is aborted by the coordinator.
    let mut c = cluster(ProtocolMode::Tv1, 1, vec![producer("txn-0")]);
    start(&mut c, C0);
    c.send(C0, 0, "orphan").unwrap();
    settle(&mut c);
    c.crash(C0).unwrap();
    let timer = Timer::TransactionTimeout { transactional_id: txn() };
    assert_eq!(c.timer_deadline(&timer), Some(60_000));
    c.fire(&timer).unwrap();
    assert_eq!(c.now(), 60_000);
    settle(&mut c);
    let view = c.partition_view(&TopicPartition::output(0)).unwrap();
    assert_eq!((view.last_stable_offset, view.high_watermark), (2, 2));
    assert_eq!(view.aborted_index.len(), 1);
    assert_eq!(c.describe_transaction(&txn()).unwrap().state, TxnState::CompleteAbort);
}

#[test]
fn failover_completes_a_prepared_commit() {
    // Proves failover_completes_prepare: markers lost with the old coordinator are re-sent by the new one.
    let mut c = cluster(ProtocolMode::Tv2, 2, vec![producer("txn-0")]);
    start(&mut c, C0);
    c.send(C0, 0, "a").unwrap();
    decide_commit(&mut c, C0, 1, "b");
    let markers: Vec<_> = c.in_flight().filter(|m| m.message.kind() == "WriteTxnMarker").map(|m| m.id).collect();
    c.deliver(markers[0]).unwrap();
    c.lose(markers[1]).unwrap();
    c.coordinator_failover();
    assert_eq!(c.coordinator_view().coordinator_epoch, 1);
    settle(&mut c);
    assert_eq!(c.describe_transaction(&txn()).unwrap().state, TxnState::CompleteCommit);
    assert_eq!(committed(&c, 0), vec!["a"]);
    assert_eq!(committed(&c, 1), vec!["b"]);
    assert_eq!(c.client(C0).unwrap().phase(), Phase::Ready);
}

#[test]
fn stale_coordinator_marker_is_fenced_at_the_partition() {
    // Proves 5.2 step 2: a marker from an older coordinator epoch arriving after the new one's is
    // TRANSACTION_COORDINATOR_FENCED and appends nothing.
    let mut c = cluster(ProtocolMode::Tv1, 1, vec![producer("txn-0")]);
    start(&mut c, C0);
    decide_commit(&mut c, C0, 0, "a");
    c.coordinator_failover();
    let new_marker =
        find(&c, |m| matches!(&m.message, Message::WriteTxnMarker(w) if w.coordinator_epoch == 1)).unwrap();
    c.deliver(new_marker).unwrap();
    let answer = deliver(&mut c, |m| matches!(&m.message, Message::WriteTxnMarker(w) if w.coordinator_epoch == 0));
    match &c.message(answer[0]).unwrap().message {
        Message::WriteTxnMarkerResponse(r) => {
            assert_eq!(r.error, ErrorCode::TransactionCoordinatorFenced)
        }
        other => panic!("{other:?}"),
    }
    settle(&mut c);
    assert_eq!(c.partition_view(&TopicPartition::output(0)).unwrap().high_watermark, 2);
}

#[test]
fn out_of_order_sequence_is_abortable_and_recovers_with_kip360() {
    // Proves the client's classification and KIP-360: OUT_OF_ORDER_SEQUENCE_NUMBER -> AbortableError;
    // abort, then InitProducerId with the current (pid, epoch) bumps the epoch and the producer continues.
    let mut c = cluster(ProtocolMode::Tv1, 1, vec![producer("txn-0")]);
    start(&mut c, C0);
    commit_one(&mut c, C0, 0, "seen");
    c.send(C0, 0, "first").unwrap();
    deliver_while(&mut c, |m| m.message.kind() != "Produce");
    let first = find(&c, |m| m.message.kind() == "Produce").unwrap();
    c.send(C0, 0, "second").unwrap();
    // The second record (sequence 1) overtakes the first: a gap.
    deliver(&mut c, |m| is_produce_of(m, "second"));
    deliver_kind(&mut c, "ProduceResponse");
    assert_eq!(c.client(C0).unwrap().phase(), Phase::AbortableError);
    assert_eq!(c.client_view(C0).unwrap().last_error, Some(ErrorCode::OutOfOrderSequenceNumber));
    assert!(c.commit(C0).is_err(), "commit is not allowed after an abortable error");
    c.abort(C0).unwrap();
    c.deliver(first).unwrap();
    settle(&mut c);
    assert_eq!(c.client(C0).unwrap().phase(), Phase::Ready);
    assert_eq!(c.client(C0).unwrap().producer_id_and_epoch(), (1000, 1), "KIP-360 bumped the epoch");
    commit_one(&mut c, C0, 0, "again");
    assert_eq!(committed(&c, 0), vec!["seen", "again"]);
}

#[test]
fn invalid_transaction_timeout_is_fatal() {
    // Proves INVALID_TRANSACTION_TIMEOUT reaches the client as a fatal error.
    let config = ClientConfig { transaction_timeout_ms: Some(10_000_000), ..producer("txn-0") };
    let mut c = cluster(ProtocolMode::Tv2, 1, vec![config]);
    start(&mut c, C0);
    assert_eq!(c.client(C0).unwrap().phase(), Phase::FatalError);
    assert_eq!(c.client_view(C0).unwrap().last_error, Some(ErrorCode::InvalidTransactionTimeout));
}

#[test]
fn concurrent_transactions_is_retried_in_the_same_step() {
    // Proves section 10: CONCURRENT_TRANSACTIONS makes the client re-send within the delivery step.
    let mut c = cluster(ProtocolMode::Tv2, 1, vec![producer("txn-0")]);
    start(&mut c, C0);
    decide_commit(&mut c, C0, 0, "t0");
    deliver_kind(&mut c, "EndTxnResponse");
    // The marker is still in flight: tv2's implicit add answers CONCURRENT_TRANSACTIONS.
    c.send(C0, 0, "t1").unwrap();
    deliver_kind(&mut c, "Produce");
    let resent = deliver_kind(&mut c, "ProduceResponse");
    assert_eq!(resent.len(), 1);
    assert_eq!(c.message(resent[0]).unwrap().message.kind(), "Produce");
    assert_eq!(c.client_view(C0).unwrap().last_error, Some(ErrorCode::ConcurrentTransactions));
    settle(&mut c);
    c.commit(C0).unwrap();
    settle(&mut c);
    assert_eq!(committed(&c, 0), vec!["t0", "t1"]);
}

#[test]
fn view_serialises_to_json() {
    // Proves the observable state is plain serde data (the harness can diff it as JSON).
    let mut c = cluster(ProtocolMode::Tv2, 1, vec![producer("txn-0")]);
    start(&mut c, C0);
    c.send(C0, 0, "v").unwrap();
    let json = serde_json::to_string(&c.view()).expect("serialisable");
    assert!(json.contains("\"out-0\""));
    assert!(json.contains("InTransaction"));
}

#[test]
fn invalid_configuration_is_an_error_value() {
    // Proves a configuration the cluster cannot run is refused with a reason, not a panic.
    let config = eos_broker::ClusterConfig { partitions: 0, ..eos_broker::ClusterConfig::default() };
    assert!(matches!(eos_broker::Cluster::try_new(config), Err(ClusterError::InvalidConfig(_))));
    let config = eos_broker::ClusterConfig { max_producer_epoch: 1, ..eos_broker::ClusterConfig::default() };
    assert!(eos_broker::Cluster::try_new(config).is_err());
    assert!(eos_broker::Cluster::try_new(eos_broker::ClusterConfig::default()).is_ok());
}
