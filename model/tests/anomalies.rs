//! The counterexamples the checker finds for the known tv1 bugs have the shape REFERENCE.md §4
//! describes, so the verdicts are the anomalies and not artefacts of the model.

use eos_model::check::{self, CheckOptions, Outcome};
use eos_model::coordinator::TxnState;
use eos_model::message::{Message, RequestBody};
use eos_model::partition::LogEntry;
use eos_model::types::{Attempt, Value};
use eos_model::{scenario, Action, Protocol, State};
use stateright::Path;

fn counterexample(name: &str, protocol: Protocol, property: &str) -> Path<State, Action> {
    let config = scenario::load(name).unwrap().with_protocol(protocol);
    let report = check::run(&config, &CheckOptions::default(), |_| {});
    let verdict = report.verdicts.into_iter().find(|v| v.name == property).expect("property applies");
    match verdict.outcome {
        Outcome::Violated(path) => path,
        other => panic!("{name} {protocol}: {property} is {other:?}, expected a counterexample"),
    }
}

fn is_delivery_of_produce(action: &Action) -> bool {
    matches!(action, Action::Deliver { message: Message::Request(r) } if matches!(r.body, RequestBody::Produce { .. }))
}

/// A: the ABORT marker is written, the transaction completes, and only then the late Produce lands and
/// opens a transaction on the partition that the coordinator has already finished.
#[test]
fn hanging_transaction_is_a_late_produce_after_the_abort() {
    let path = counterexample("hanging-txn", Protocol::Tv1, "no_hanging_transaction");
    let last_action = path.clone().into_actions().pop().unwrap();
    assert!(is_delivery_of_produce(&last_action), "ends with the late Produce: {last_action:?}");
    let state = path.last_state();
    // CompleteAbort, or Empty once the Java 4.x client's KIP-360 bump after the abort has run.
    assert!(matches!(state.coordinator.record(0).unwrap().state, TxnState::CompleteAbort | TxnState::Empty));
    let log = &state.partitions[0].log;
    assert!(matches!(log[0], LogEntry::Control { commit: false, .. }), "the ABORT marker came first: {log:?}");
    assert!(matches!(log[1], LogEntry::Data { transactional: true, .. }), "then the record: {log:?}");
}

/// B: the first attempt's record lands inside the second attempt's transaction (same epoch) and is
/// committed by the second attempt's COMMIT marker, although its own transaction aborted.
#[test]
fn late_produce_commits_an_aborted_record() {
    let path = counterexample("late-produce", Protocol::Tv1, "consumer_sees_only_committed");
    let state = path.last_state();
    let first = Attempt { producer: 0, index: 0 };
    assert_eq!(state.history.decisions.get(&first), Some(false), "the first transaction was aborted");
    let visible: Vec<Value> = state.partitions[0]
        .read_committed()
        .into_iter()
        .filter_map(|(_, e)| match e {
            LogEntry::Data { value, .. } => Some(*value),
            LogEntry::Control { .. } => None,
        })
        .collect();
    assert!(
        visible.contains(&Value::Produced { attempt: first, partition: 0, batch: 0 }),
        "aborted record visible: {visible:?}"
    );
}

/// C: an EndTxn(commit) sent by the first attempt (a retry copy) ends the second attempt's transaction.
#[test]
fn late_end_txn_ends_the_next_transaction() {
    let path = counterexample("late-endtxn", Protocol::Tv1, "transaction_identity");
    let steps = path.into_vec();
    let (before, action) = &steps[steps.len() - 2];
    let Some(Action::Deliver { message: Message::Request(request) }) = action else {
        panic!("the last step delivers a request: {action:?}")
    };
    assert!(matches!(request.body, RequestBody::EndTxn { commit: true, .. }));
    assert_eq!(request.attempt, 0, "sent by the first attempt");
    let record = before.coordinator.record(0).unwrap();
    assert_eq!(record.state, TxnState::Ongoing);
    assert!(record.members.contains(&Attempt { producer: 0, index: 1 }), "the second attempt's transaction");
}

/// A retry loop is where liveness is judged: with KAFKA-19999's fix off a marker's retry is refused,
/// the commit stays PrepareCommit, and the producer's next transaction can only be answered
/// CONCURRENT_TRANSACTIONS forever. The Produce and its answer are in flight in the terminal state.
#[test]
fn a_retry_loop_is_terminal() {
    let mut config = scenario::load("KAFKA-19999").unwrap().without_fix().unwrap();
    config.producers.transactions = 2;
    let report = check::run(&config, &CheckOptions::default(), |_| {});
    let verdict = report.verdicts.into_iter().find(|v| v.name == "live_producer_progresses").expect("applies");
    let Outcome::Violated(path) = verdict.outcome else { panic!("expected a stuck producer: {:?}", verdict.outcome) };
    let state = path.last_state();
    assert!(!state.network.is_empty(), "the loop's request is in flight");
    assert_eq!(state.coordinator.record(0).unwrap().state, TxnState::PrepareCommit);
}
