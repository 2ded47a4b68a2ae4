//! The coordinator's transaction-log append as a step of its own (`coordinator_append_round_trip`,
//! specs/eos.md §4.5): a client request's transition is pending while its append is in flight, the
//! completion applies and answers it, a failover in between turns the completion into
//! NOT_COORDINATOR, and a failure in flight clears the pending state.

use crate::common::*;
use eos_broker::cluster::{Cluster, ClusterConfig};
use eos_broker::{ClientId, ErrorCode, Fault, Faults, Phase, ProtocolMode, TxnState};

const C0: ClientId = ClientId(0);

fn windowed(protocol: ProtocolMode, faults: Faults) -> Cluster {
    Cluster::new(ClusterConfig {
        protocol,
        partitions: 1,
        clients: vec![producer("txn-0")],
        coordinator_append_round_trip: true,
        faults,
        ..ClusterConfig::default()
    })
}

/// The only append in flight.
fn held(c: &Cluster) -> u64 {
    let appends = c.broker().appends_in_flight();
    assert_eq!(appends.len(), 1, "one append in flight");
    appends[0].id
}

/// Delivers everything, completing every append in flight, until the cluster is quiet.
fn settle_appends(c: &mut Cluster) {
    for _ in 0..100 {
        c.run_until_quiet(10_000);
        let Some(id) = c.broker().appends_in_flight().first().map(|h| h.id) else { return };
        c.complete_append(id).unwrap();
    }
    panic!("the appends did not settle");
}

/// Under tv2, a transaction with one record whose EndTxn(commit) the coordinator holds: its
/// PrepareCommit append is in flight.
fn commit_held(faults: Faults) -> Cluster {
    let mut c = windowed(ProtocolMode::Tv2, faults);
    c.start(C0).unwrap();
    settle_appends(&mut c);
    c.send(C0, 0, "v").unwrap();
    settle_appends(&mut c);
    c.commit(C0).unwrap();
    deliver_kind(&mut c, "EndTxn");
    c
}

fn txn0(c: &Cluster) -> eos_broker::coordinator::TransactionView {
    c.describe_transaction(&"txn-0".into()).unwrap()
}

fn answer_error(c: &Cluster, kind: &str) -> Option<ErrorCode> {
    c.in_flight().find(|m| m.message.kind() == kind).and_then(|m| m.message.error())
}

#[test]
fn a_held_request_is_answered_when_its_append_completes() {
    let mut c = windowed(ProtocolMode::Tv1, Faults::none());
    c.start(C0).unwrap();
    deliver_kind(&mut c, "InitProducerId");
    // Prepared, not applied: no answer yet, the id's pending state is Empty at epoch -1.
    assert_eq!(c.in_flight().count(), 0);
    assert_eq!((txn0(&c).pending_state, txn0(&c).producer_epoch), (Some(TxnState::Empty), -1));
    assert!(c.broker().transaction_log().is_empty(), "nothing durable yet");
    c.complete_append(held(&c)).unwrap();
    assert_eq!(answer_error(&c, "InitProducerIdResponse"), Some(ErrorCode::None));
    assert_eq!((txn0(&c).pending_state, txn0(&c).producer_epoch), (None, 0));
    assert_eq!(c.broker().transaction_log().len(), 1);
    settle_appends(&mut c);
    assert_eq!(c.client(C0).unwrap().phase(), Phase::Ready);
    // EndTxn: its markers go out only when its append completes.
    c.send(C0, 0, "v").unwrap();
    settle_appends(&mut c);
    c.commit(C0).unwrap();
    deliver_kind(&mut c, "EndTxn");
    assert!(find(&c, |m| m.message.kind() == "WriteTxnMarker").is_none());
    assert_eq!(txn0(&c).pending_state, Some(TxnState::PrepareCommit));
    c.complete_append(held(&c)).unwrap();
    assert!(find(&c, |m| m.message.kind() == "WriteTxnMarker").is_some());
    settle_appends(&mut c);
    assert_eq!(txn0(&c).state, TxnState::CompleteCommit);
    assert_eq!(committed(&c, 0), vec!["v".to_string()]);
}

#[test]
fn a_request_meeting_the_pending_transition_is_told_to_wait() {
    let mut c = windowed(ProtocolMode::Tv1, Faults::none());
    c.start(C0).unwrap();
    deliver_kind(&mut c, "InitProducerId");
    // The request timeout re-sends the InitProducerId while the first one's append is in flight.
    let timer = c.timers().into_iter().map(|(t, _)| t).find(|t| matches!(t, eos_broker::Timer::RequestTimeout { .. }));
    c.fire(&timer.expect("a request timeout is armed")).unwrap();
    deliver_kind(&mut c, "InitProducerId");
    assert_eq!(answer_error(&c, "InitProducerIdResponse"), Some(ErrorCode::ConcurrentTransactions));
}

#[test]
fn a_completion_after_a_failover_answers_not_coordinator_and_applies_nothing() {
    let mut c = commit_held(Faults::none());
    let before = txn0(&c);
    c.coordinator_failover();
    // The new coordinator replayed the log: Ongoing, nothing pending.
    assert_eq!((txn0(&c).state, txn0(&c).pending_state), (TxnState::Ongoing, None));
    c.complete_append(held(&c)).unwrap();
    assert_eq!(answer_error(&c, "EndTxnResponse"), Some(ErrorCode::NotCoordinator));
    let after = txn0(&c);
    assert_eq!((after.state, after.producer_epoch), (TxnState::Ongoing, before.producer_epoch));
    assert!(c.broker().transaction_log().iter().all(|r| r.state != TxnState::PrepareCommit));
    // The client re-sends; the new coordinator commits.
    settle_appends(&mut c);
    assert_eq!(txn0(&c).state, TxnState::CompleteCommit);
    assert_eq!(committed(&c, 0), vec!["v".to_string()]);
}

#[test]
fn a_failed_append_in_flight_clears_the_pending_transition() {
    let mut c = windowed(ProtocolMode::Tv1, Faults::none());
    c.start(C0).unwrap();
    settle_appends(&mut c);
    c.send(C0, 0, "v").unwrap();
    deliver_kind(&mut c, "AddPartitionsToTxn");
    assert_eq!(txn0(&c).pending_state, Some(TxnState::Ongoing));
    c.fail_append(held(&c)).unwrap();
    assert_eq!(answer_error(&c, "AddPartitionsToTxnResponse"), Some(ErrorCode::CoordinatorNotAvailable));
    assert_eq!((txn0(&c).state, txn0(&c).pending_state), (TxnState::Empty, None));
}

#[test]
fn completion_ignores_coordinator_epoch() {
    // Proves the seeded fault: a completion after a failover is applied by the new coordinator.
    let run = |faults| {
        let mut c = commit_held(faults);
        c.coordinator_failover();
        c.complete_append(held(&c)).unwrap();
        (answer_error(&c, "EndTxnResponse"), txn0(&c).state)
    };
    assert_eq!(run(Faults::none()), (Some(ErrorCode::NotCoordinator), TxnState::Ongoing));
    assert_eq!(
        run(Faults::only(Fault::CompletionIgnoresCoordinatorEpoch)),
        (Some(ErrorCode::None), TxnState::PrepareCommit)
    );
}

#[test]
fn without_the_setting_nothing_is_held() {
    let mut c = cluster(ProtocolMode::Tv2, 1, vec![producer("txn-0")]);
    c.start(C0).unwrap();
    deliver_kind(&mut c, "InitProducerId");
    assert!(c.broker().appends_in_flight().is_empty());
    assert_eq!(answer_error(&c, "InitProducerIdResponse"), Some(ErrorCode::None));
}
