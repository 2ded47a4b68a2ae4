//! The cluster's clock and timers (specs/eos.md §10, "time"): a timer fires through `fire_due` only
//! once its deadline has come, and each timing fault moves a deadline (or keeps a due timer from
//! acting) in a way a test can see.

use crate::common::*;
use eos_broker::cluster::{Cluster, ClusterConfig, Timer};
use eos_broker::{ClientId, ClusterError, Fault, Faults, ProtocolMode, TxnState};

const C0: ClientId = ClientId(0);

/// One transactional producer (`txn-0`) on two partitions, at clock 0, with `fault` if any.
fn cluster_with(protocol: ProtocolMode, fault: Option<Fault>) -> Cluster {
    let faults = fault.map_or_else(Faults::none, Faults::only);
    Cluster::new(ClusterConfig {
        protocol,
        partitions: 2,
        clients: vec![producer("txn-0")],
        faults,
        ..ClusterConfig::default()
    })
}

/// Runs `scenario` without and with `fault`; returns both observations, which must differ.
fn compare<T: PartialEq + std::fmt::Debug>(fault: Fault, scenario: impl Fn(Option<Fault>) -> T) -> (T, T) {
    let correct = scenario(None);
    let faulty = scenario(Some(fault));
    assert_ne!(correct, faulty, "{fault:?} must change what is observed");
    (correct, faulty)
}

fn transaction_timeout() -> Timer {
    Timer::TransactionTimeout { transactional_id: "txn-0".into() }
}

#[test]
fn a_timer_fires_when_due_and_not_before() {
    // Proves fire_due refuses a timer whose deadline is later than the clock, and fires it at the deadline.
    let mut c = cluster_with(ProtocolMode::Tv2, None);
    let sent = c.start(C0).unwrap();
    c.advance_clock(40);
    c.lose(sent[0]).unwrap();
    let retry = Timer::ClientRetry { client: C0 };
    let deadline = c.timer_deadline(&retry).unwrap();
    assert_eq!(deadline, 40 + ClusterConfig::default().retry_backoff_ms);
    match c.fire_due(&retry) {
        Err(ClusterError::TimerNotDue { deadline_ms, now_ms, .. }) => assert_eq!((deadline_ms, now_ms), (deadline, 40)),
        other => panic!("a timer not yet due fired: {other:?}"),
    }
    assert!(c.fire_due(&Timer::MarkerRetry { transactional_id: "txn-0".into() }).is_err(), "not armed");
    c.advance_clock(deadline);
    assert_eq!(c.fire_due(&retry).unwrap().len(), 1, "the lost InitProducerId is re-sent at its deadline");
    assert_eq!(c.now(), deadline, "fire_due never moves the clock");
}

#[test]
fn fault_12_txn_timeout_restarts_on_add() {
    // Proves fault 12: the second partition's add at 500 ms moves the transaction's deadline by 500 ms.
    let (correct, faulty) = compare(Fault::TxnTimeoutRestartsOnAdd, |fault| {
        let mut c = cluster_with(ProtocolMode::Tv1, fault);
        start(&mut c, C0);
        c.send(C0, 0, "first").unwrap();
        settle(&mut c);
        c.advance_clock(500);
        c.send(C0, 1, "second").unwrap();
        settle(&mut c);
        c.timer_deadline(&transaction_timeout())
    });
    let timeout = i64::from(ClusterConfig::default().transaction_timeout_ms);
    assert_eq!((correct, faulty), (Some(timeout), Some(500 + timeout)));
}

#[test]
fn fault_13_txn_timeout_fires_late() {
    // Proves fault 13: fired exactly at its deadline, the transaction timeout does nothing.
    let (correct, faulty) = compare(Fault::TxnTimeoutFiresLate, |fault| {
        let mut c = cluster_with(ProtocolMode::Tv2, fault);
        start(&mut c, C0);
        c.send(C0, 0, "stalled").unwrap();
        settle(&mut c);
        let deadline = c.timer_deadline(&transaction_timeout()).unwrap();
        c.advance_clock(deadline);
        c.fire_due(&transaction_timeout()).unwrap();
        c.describe_transaction(&"txn-0".into()).unwrap().state
    });
    assert_eq!((correct, faulty), (TxnState::PrepareAbort, TxnState::Ongoing));
}

#[test]
fn fault_14_client_retry_backoff_from_send() {
    // Proves fault 14: a request sent at 0 and lost at 50 is retried after the backoff from 0, not from 50.
    let (correct, faulty) = compare(Fault::ClientRetryBackoffFromSend, |fault| {
        let mut c = cluster_with(ProtocolMode::Tv2, fault);
        let sent = c.start(C0).unwrap();
        c.advance_clock(50);
        c.lose(sent[0]).unwrap();
        c.timer_deadline(&Timer::ClientRetry { client: C0 })
    });
    let backoff = ClusterConfig::default().retry_backoff_ms;
    assert_eq!((correct, faulty), (Some(50 + backoff), Some(backoff)));
}

#[test]
fn fault_15_retry_keeps_request_timer() {
    // Proves fault 15: a request re-sent by the retry timer keeps the request timeout of its lost send.
    let (correct, faulty) = compare(Fault::RetryKeepsRequestTimer, |fault| {
        let mut c = cluster_with(ProtocolMode::Tv2, fault);
        let sent = c.start(C0).unwrap();
        c.lose(sent[0]).unwrap();
        c.fire(&Timer::ClientRetry { client: C0 }).unwrap();
        let timers = c.timers();
        let (_, deadline) = timers.iter().find(|(t, _)| matches!(t, Timer::RequestTimeout { .. })).unwrap();
        *deadline
    });
    let config = ClusterConfig::default();
    assert_eq!((correct, faulty), (config.retry_backoff_ms + config.request_timeout_ms, config.request_timeout_ms));
}

#[test]
fn fault_16_marker_retry_without_backoff() {
    // Proves fault 16: a marker lost at 50 ms is due for its retry at once instead of after the backoff.
    let (correct, faulty) = compare(Fault::MarkerRetryWithoutBackoff, |fault| {
        let mut c = cluster_with(ProtocolMode::Tv2, fault);
        start(&mut c, C0);
        decide_commit(&mut c, C0, 0, "v");
        c.advance_clock(50);
        let marker = find(&c, |m| m.message.kind() == "WriteTxnMarker").unwrap();
        c.lose(marker).unwrap();
        c.timer_deadline(&Timer::MarkerRetry { transactional_id: "txn-0".into() })
    });
    assert_eq!((correct, faulty), (Some(50 + ClusterConfig::default().marker_retry_backoff_ms), Some(50)));
}

/// One idempotent producer that expires batches, started, its Produce to `out-0` sent at 100 ms and
/// still unanswered; returns the cluster and the Produce's delivery-timeout timer.
fn expiring_batch(fault: Option<Fault>) -> (Cluster, Timer) {
    let faults = fault.map_or_else(Faults::none, Faults::only);
    let client = eos_broker::ClientConfig { expires_batches: true, ..eos_broker::ClientConfig::default() };
    let mut c =
        Cluster::new(ClusterConfig { partitions: 1, clients: vec![client], faults, ..ClusterConfig::default() });
    start(&mut c, C0);
    c.advance_clock(100);
    c.send(C0, 0, "v").unwrap();
    let timer = c.timers().into_iter().map(|(t, _)| t).find(|t| matches!(t, Timer::DeliveryTimeout { .. }));
    (c, timer.expect("the Produce's delivery timeout is armed"))
}

#[test]
fn a_batch_expires_at_its_delivery_timeout_and_not_before() {
    // Proves the delivery timeout counts from when the batch was made (a request timeout's re-send
    // does not move it), refuses to give the batch up early, and gives it up when due.
    let (mut c, timer) = expiring_batch(None);
    let deadline = 100 + ClusterConfig::default().delivery_timeout_ms;
    assert_eq!(c.timer_deadline(&timer), Some(deadline));
    c.advance_clock(30_100);
    let resend = c.timers().into_iter().map(|(t, _)| t).find(|t| matches!(t, Timer::RequestTimeout { .. })).unwrap();
    c.fire_due(&resend).unwrap();
    let timer = c.timers().into_iter().map(|(t, _)| t).find(|t| matches!(t, Timer::DeliveryTimeout { .. })).unwrap();
    assert_eq!(c.timer_deadline(&timer), Some(deadline), "a re-send keeps the batch's deadline");
    c.advance_clock(deadline - 1);
    assert!(matches!(c.fire_due(&timer), Err(ClusterError::TimerNotDue { .. })), "not before its deadline");
    assert_eq!(c.client(C0).unwrap().outstanding().count(), 1);
    let epoch = c.client(C0).unwrap().view().producer_epoch;
    c.advance_clock(deadline);
    c.fire_due(&timer).unwrap();
    let client = c.client(C0).unwrap();
    assert_eq!(client.outstanding().count(), 0, "the batch is given up");
    // Nothing else is outstanding, so its unresolved sequence is settled at once: nothing was
    // acknowledged after it, so the idempotent client bumps its epoch.
    assert_eq!(client.view().producer_epoch, epoch + 1, "the sequence was not whole: epoch bumped");
    assert!(c.timers().iter().all(|(t, _)| !matches!(t, Timer::DeliveryTimeout { .. })), "nothing left to expire");
}

#[test]
fn fault_20_delivery_timeout_from_last_send() {
    // Proves fault 20: a batch re-sent by its request timeout at 30.1 s is given up 30 s late.
    let (correct, faulty) = compare(Fault::DeliveryTimeoutFromLastSend, |fault| {
        let (mut c, _) = expiring_batch(fault);
        c.advance_clock(30_100);
        let resend = c.timers().into_iter().map(|(t, _)| t).find(|t| matches!(t, Timer::RequestTimeout { .. }));
        c.fire_due(&resend.unwrap()).unwrap();
        c.timers().into_iter().find(|(t, _)| matches!(t, Timer::DeliveryTimeout { .. })).map(|(_, d)| d)
    });
    let delivery = ClusterConfig::default().delivery_timeout_ms;
    assert_eq!((correct, faulty), (Some(100 + delivery), Some(30_100 + delivery)));
}
