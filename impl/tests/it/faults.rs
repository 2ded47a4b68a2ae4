//! One test per seeded fault: the same schedule run without and with the fault, showing an
//! observable difference (the harness must be able to notice each one).

use crate::common::*;
use eos_broker::client::ClientConfig;
use eos_broker::cluster::{Cluster, ClusterConfig, Timer};
use eos_broker::protocol::{AddPartitionsToTxnRequest, EndTxnRequest, InitProducerIdRequest};
use eos_broker::storage::MemoryStorage;
use eos_broker::{
    Broker, BrokerConfig, ClientId, Endpoint, ErrorCode, Fault, Faults, Message, Phase, ProtocolMode, TopicPartition,
    TxnState,
};

const C0: ClientId = ClientId(0);
const C1: ClientId = ClientId(1);

fn with_fault(protocol: ProtocolMode, partitions: i32, clients: Vec<ClientConfig>, fault: Option<Fault>) -> Cluster {
    let faults = fault.map_or_else(Faults::none, Faults::only);
    Cluster::new(ClusterConfig { protocol, partitions, input_records: 4, clients, faults, ..ClusterConfig::default() })
}

/// One partition and one started transactional producer (`txn-0`), with `fault` if any.
fn started(protocol: ProtocolMode, fault: Option<Fault>) -> Cluster {
    let mut c = with_fault(protocol, 1, vec![producer("txn-0")], fault);
    start(&mut c, C0);
    c
}

/// Runs `scenario` without and with `fault`; returns both observations.
fn compare<T: PartialEq + std::fmt::Debug>(fault: Fault, scenario: impl Fn(Option<Fault>) -> T) -> (T, T) {
    let correct = scenario(None);
    let faulty = scenario(Some(fault));
    assert_ne!(correct, faulty, "{fault:?} must change what is observed");
    (correct, faulty)
}

fn produce_error(c: &Cluster, sent: &[eos_broker::MessageId]) -> ErrorCode {
    sent.iter()
        .find_map(|id| match &c.message(*id)?.message {
            Message::ProduceResponse(r) => Some(r.error),
            _ => None,
        })
        .expect("a ProduceResponse")
}

#[test]
fn fault_1_skip_partition_epoch_check() {
    // Proves fault 1: a fenced zombie's delayed Produce is appended instead of INVALID_PRODUCER_EPOCH.
    let (correct, faulty) = compare(Fault::SkipPartitionEpochCheck, |fault| {
        let mut c = with_fault(ProtocolMode::Tv1, 1, vec![producer("txn-0"), producer("txn-0")], fault);
        start(&mut c, C0);
        c.send(C0, 0, "zombie").unwrap();
        deliver_while(&mut c, |m| m.message.kind() != "Produce");
        let late = find(&c, |m| m.message.kind() == "Produce").unwrap();
        c.start(C1).unwrap();
        deliver_all_but(&mut c, |m| m.id == late);
        let sent = c.deliver(late).unwrap();
        produce_error(&c, &sent)
    });
    assert_eq!((correct, faulty), (ErrorCode::InvalidProducerEpoch, ErrorCode::None));
}

#[test]
fn fault_2_forget_aborted_index() {
    // Proves fault 2: an aborted record is returned by read_committed.
    let (correct, faulty) = compare(Fault::ForgetAbortedIndex, |fault| {
        let mut c = started(ProtocolMode::Tv2, fault);
        c.send(C0, 0, "aborted").unwrap();
        settle(&mut c);
        c.abort(C0).unwrap();
        settle(&mut c);
        committed(&c, 0)
    });
    assert!(correct.is_empty());
    assert_eq!(faulty, vec!["aborted"]);
}

#[test]
fn fault_3_commit_pending_offsets_on_abort() {
    // Proves fault 3: an aborted transaction's offsets become committed.
    let (correct, faulty) = compare(Fault::CommitPendingOffsetsOnAbort, |fault| {
        let mut c = with_fault(ProtocolMode::Tv2, 2, vec![ClientConfig::copier("txn-0")], fault);
        start(&mut c, C0);
        c.fetch_offsets(C0).unwrap();
        let (partition, value) = c.copier_next(C0).unwrap();
        c.send(C0, partition, value).unwrap();
        c.send_offsets(C0, 1).unwrap();
        settle(&mut c);
        c.abort(C0).unwrap();
        settle(&mut c);
        c.group_view().committed.get(&TopicPartition::input()).copied()
    });
    assert_eq!((correct, faulty), (None, Some(1)));
}

#[test]
fn fault_4_accept_duplicate_batch() {
    // Proves fault 4: a retried batch whose answer was lost is appended a second time.
    let (correct, faulty) = compare(Fault::AcceptDuplicateBatch, |fault| {
        let mut c = started(ProtocolMode::Tv2, fault);
        c.send(C0, 0, "once").unwrap();
        let answer = deliver_kind(&mut c, "Produce");
        c.lose(answer[0]).unwrap();
        c.fire(&Timer::ClientRetry { client: C0 }).unwrap();
        settle(&mut c);
        c.commit(C0).unwrap();
        settle(&mut c);
        committed(&c, 0)
    });
    assert_eq!(correct, vec!["once"]);
    assert_eq!(faulty, vec!["once", "once"]);
}

#[test]
fn fault_5_lso_ignores_open_transactions() {
    // Proves fault 5: the LSO equals the high watermark with a transaction open, so read_committed
    // returns an undecided record.
    let (correct, faulty) = compare(Fault::LsoIgnoresOpenTransactions, |fault| {
        let mut c = started(ProtocolMode::Tv2, fault);
        c.send(C0, 0, "undecided").unwrap();
        settle(&mut c);
        let view = c.partition_view(&TopicPartition::output(0)).unwrap();
        (view.last_stable_offset, view.read_committed)
    });
    assert_eq!(correct, (0, vec![]));
    assert_eq!(faulty, (1, vec!["undecided".to_owned()]));
}

#[test]
fn fault_6_skip_marker_retries() {
    // Proves fault 6: a lost marker is never re-sent and the transaction stays in PrepareCommit.
    let (correct, faulty) = compare(Fault::SkipMarkerRetries, |fault| {
        let mut c = started(ProtocolMode::Tv2, fault);
        decide_commit(&mut c, C0, 0, "v");
        let marker = find(&c, |m| m.message.kind() == "WriteTxnMarker").unwrap();
        c.lose(marker).unwrap();
        let resent = c.fire(&Timer::MarkerRetry { transactional_id: "txn-0".into() }).unwrap();
        c.run_until_quiet(100);
        (resent.len(), c.describe_transaction(&"txn-0".into()).unwrap().state)
    });
    assert_eq!(correct, (1, TxnState::CompleteCommit));
    assert_eq!(faulty, (0, TxnState::PrepareCommit));
}

#[test]
fn fault_7_wrong_valid_previous_states() {
    // Proves fault 7: in tv1 a retried EndTxn(abort) reaching CompleteAbort starts a new (empty)
    // abort that bumps the epoch, instead of being answered NONE as a retry.
    let (correct, faulty) = compare(Fault::WrongValidPreviousStates, |fault| {
        let config = BrokerConfig {
            protocol: ProtocolMode::Tv1,
            faults: fault.map_or_else(Faults::none, Faults::only),
            ..BrokerConfig::default()
        };
        let tp = TopicPartition::output(0);
        let mut broker = Broker::new(config, Box::new(MemoryStorage), [tp.clone()]);
        let client = Endpoint::Client(C0);
        let init = InitProducerIdRequest {
            transactional_id: Some("txn-0".into()),
            transaction_timeout_ms: 1000,
            expected: None,
        };
        broker.handle(0, client.clone(), Message::InitProducerId(init));
        let add = AddPartitionsToTxnRequest {
            transactional_id: "txn-0".into(),
            producer_id: 1000,
            producer_epoch: 0,
            partition: tp.clone(),
        };
        broker.handle(1, client.clone(), Message::AddPartitionsToTxn(add));
        let end =
            EndTxnRequest { transactional_id: "txn-0".into(), producer_id: 1000, producer_epoch: 0, commit: false };
        let out = broker.handle(2, client.clone(), Message::EndTxn(end.clone()));
        let marker = out.iter().find_map(|o| match &o.message {
            Message::WriteTxnMarker(m) => Some(m.clone()),
            _ => None,
        });
        let answer = broker.handle(3, Endpoint::Coordinator, Message::WriteTxnMarker(marker.unwrap()));
        broker.handle(4, Endpoint::Leader(tp), answer[0].message.clone());
        let retry = broker.handle(5, client, Message::EndTxn(end));
        let error = retry[0].message.error().unwrap();
        let metadata = broker.coordinator().metadata(&"txn-0".into()).unwrap();
        (error, metadata.state, metadata.producer_epoch)
    });
    assert_eq!(correct, (ErrorCode::None, TxnState::CompleteAbort, 0));
    assert_eq!(faulty, (ErrorCode::None, TxnState::CompleteAbort, 1), "the epoch was bumped by a second abort");
}

#[test]
fn fault_8_lose_transaction_log_on_failover() {
    // Proves fault 8: after failover the coordinator has forgotten the transactional id, so the
    // prepared commit never completes and the client's next request is INVALID_PRODUCER_ID_MAPPING.
    let (correct, faulty) = compare(Fault::LoseTransactionLogOnFailover, |fault| {
        let mut c = started(ProtocolMode::Tv2, fault);
        decide_commit(&mut c, C0, 0, "v");
        c.coordinator_failover();
        settle(&mut c);
        let state = c.describe_transaction(&"txn-0".into()).map(|t| t.state);
        (state, committed(&c, 0))
    });
    assert_eq!(correct, (Some(TxnState::CompleteCommit), vec!["v".to_owned()]));
    assert_eq!(faulty.0, None);
}

#[test]
fn fault_9_tv2_end_txn_keeps_the_epoch() {
    // Proves fault 9: a tv2 EndTxn answers the same epoch instead of epoch + 1.
    let (correct, faulty) = compare(Fault::Tv2EndTxnKeepsEpoch, |fault| {
        let mut c = started(ProtocolMode::Tv2, fault);
        commit_one(&mut c, C0, 0, "v");
        c.client(C0).unwrap().producer_id_and_epoch().1
    });
    assert_eq!((correct, faulty), (1, 0));
}

#[test]
fn fault_10_skip_coordinator_epoch_check() {
    // Proves fault 10: a marker from the older coordinator epoch is appended after the newer one's.
    let (correct, faulty) = compare(Fault::SkipCoordinatorEpochCheck, |fault| {
        let mut c = started(ProtocolMode::Tv1, fault);
        decide_commit(&mut c, C0, 0, "a");
        c.coordinator_failover();
        deliver(&mut c, |m| matches!(&m.message, Message::WriteTxnMarker(w) if w.coordinator_epoch == 1));
        let answer = deliver(&mut c, |m| matches!(&m.message, Message::WriteTxnMarker(w) if w.coordinator_epoch == 0));
        match &c.message(answer[0]).unwrap().message {
            Message::WriteTxnMarkerResponse(r) => {
                (r.error, c.partition_view(&TopicPartition::output(0)).unwrap().high_watermark)
            }
            other => panic!("{other:?}"),
        }
    });
    assert_eq!(correct, (ErrorCode::TransactionCoordinatorFenced, 2));
    assert_eq!(faulty, (ErrorCode::None, 3));
}

#[test]
fn fault_11_offset_fetch_ignores_pending() {
    // Proves fault 11: OffsetFetch(require_stable) answers the committed offset while offsets are
    // pending, so a new copier instance starts from a stale position.
    let (correct, faulty) = compare(Fault::OffsetFetchIgnoresPending, |fault| {
        let mut c =
            with_fault(ProtocolMode::Tv2, 2, vec![ClientConfig::copier("txn-0"), ClientConfig::copier("txn-1")], fault);
        start(&mut c, C0);
        c.fetch_offsets(C0).unwrap();
        let (partition, value) = c.copier_next(C0).unwrap();
        c.send(C0, partition, value).unwrap();
        c.send_offsets(C0, 1).unwrap();
        settle(&mut c);
        start(&mut c, C1);
        (c.fetch_offsets(C1).ok(), c.client(C1).unwrap().phase())
    });
    assert_eq!(correct, (None, Phase::FetchingOffsets));
    assert_eq!(faulty, (Some(0), Phase::Ready));
}

#[test]
fn append_failure_keeps_pending() {
    // Proves the fault: an AddPartitionsToTxn whose transaction-log append fails leaves its Ongoing
    // transition pending (the bug KAFKA-5351 fixed) instead of clearing it.
    let (correct, faulty) = compare(Fault::AppendFailureKeepsPending, |fault| {
        let mut c = started(ProtocolMode::Tv1, fault);
        c.send(C0, 0, "v").unwrap();
        let add = find(&c, |m| m.message.kind() == "AddPartitionsToTxn").unwrap();
        assert!(c.deliver_with_failed_append(add).unwrap(), "the add prepares a transition to append");
        c.describe_transaction(&"txn-0".into()).unwrap().pending_state
    });
    assert_eq!((correct, faulty), (None, Some(TxnState::Ongoing)));
}

#[test]
fn fault_19_marker_completes_one_group() {
    // Proves fault 19: a copier in two groups commits; the one COMMIT marker materialises its offsets
    // in the first group only, and the second group's stay pending (OffsetFetch is unstable for ever).
    let (correct, faulty) = compare(Fault::MarkerCompletesOneGroup, |fault| {
        let faults = fault.map_or_else(Faults::none, Faults::only);
        let clients = vec![ClientConfig::copier("txn-0")];
        let config =
            ClusterConfig { partitions: 1, input_records: 2, copier_groups: 2, clients, faults, ..Default::default() };
        let mut c = Cluster::new(config);
        start(&mut c, C0);
        c.fetch_offsets(C0).unwrap();
        let (partition, value) = c.copier_next(C0).unwrap();
        c.send(C0, partition, value).unwrap();
        for _ in 0..2 {
            c.send_offsets(C0, 1).unwrap();
            settle(&mut c);
        }
        c.commit(C0).unwrap();
        settle(&mut c);
        ["copier-group", "copier-group-1"].map(|g| {
            let view = c.group_view_of(g);
            (view.committed.get(&TopicPartition::input()).copied(), view.pending.len())
        })
    });
    assert_eq!(correct, [(Some(1), 0), (Some(1), 0)], "one marker ends the transaction in both groups");
    assert_eq!(faulty, [(Some(1), 0), (None, 1)]);
}

#[test]
fn faults_are_off_by_default_and_serialise_by_name() {
    // Proves the default configuration has no fault and fault names round-trip through serde.
    assert_eq!(ClusterConfig::default().faults, Faults::none());
    assert_eq!(Fault::ALL.len(), 24);
    let all: Faults = Fault::ALL.to_vec().into();
    let json = serde_json::to_string(&all).unwrap();
    assert!(json.contains("skip-partition-epoch-check"));
    let back: Faults = serde_json::from_str(&json).unwrap();
    assert_eq!(back, all);
}

#[test]
fn fault_24_skip_end_txn_outlives_transaction() {
    // Proves fault 24: after an abort that skipped EndTxn (INVALID_PRODUCER_ID_MAPPING, Java 4.x),
    // the next transaction's abort skips EndTxn too (its InitProducerId then has to abort it).
    let (correct, faulty) = compare(Fault::SkipEndTxnOutlivesTransaction, |fault| {
        let mut c = started(ProtocolMode::Tv1, fault);
        commit_one(&mut c, C0, 0, "a");
        c.expire_transactional_id(&"txn-0".into()).unwrap();
        c.send(C0, 0, "b").unwrap();
        settle(&mut c);
        assert_eq!(c.client(C0).unwrap().phase(), Phase::AbortableError, "AddPartitionsToTxn was refused");
        c.abort(C0).unwrap();
        settle(&mut c);
        let skip_after_abort = c.client_view(C0).unwrap().skip_end_txn;
        c.send(C0, 0, "c").unwrap();
        settle(&mut c);
        c.abort(C0).unwrap();
        let end_txn_sent = find(&c, |m| m.message.kind() == "EndTxn").is_some();
        (skip_after_abort, end_txn_sent)
    });
    assert_eq!(correct, (false, true));
    assert_eq!(faulty, (true, false), "the second abort sent no EndTxn");
}
