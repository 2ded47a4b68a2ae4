//! Unit tests of the coordinator: the transition table, each request's answers, and the rules Kafka
//! changed since KIP-890 (each checked with its fix on and off).

use super::*;
use crate::scenario;

/// The `basic` scenario under `protocol`, and an empty history and outbox for the effects.
fn setup(protocol: Protocol) -> (Config, History, Vec<Message>) {
    (scenario::load("basic").unwrap().with_protocol(protocol), History::default(), Vec::new())
}

const ATTEMPT: Attempt = Attempt { producer: 0, index: 0 };

/// The valid-previous-states table matches specs/eos.md §4.1, including the tv2 empty abort.
#[test]
fn transition_table_is_the_specified_one() {
    assert_eq!(PrepareCommit.valid_previous_states(Protocol::Tv1), &[Ongoing]);
    assert!(!PrepareAbort.valid_previous_states(Protocol::Tv1).contains(&Empty));
    assert!(PrepareAbort.valid_previous_states(Protocol::Tv2).contains(&Empty));
    assert_eq!(CompleteAbort.valid_previous_states(Protocol::Tv2), &[PrepareAbort]);
    assert!(Ongoing.valid_previous_states(Protocol::Tv1).contains(&CompleteCommit));
}

/// KIP-890 part 1 verification answers as Kafka's coordinator (specs/eos.md §5.1 step 2): unknown
/// id or pid, another epoch, Prepare*, and a partition outside the transaction are told apart.
#[test]
fn verification_answers() {
    let (config, mut history, mut outbox) = setup(Protocol::Tv1Verified);
    let fx = &mut Effects { config: &config, history: &mut history, outbox: &mut outbox };
    let mut c = Coordinator::new(&config);
    let (p0, p1) = (TxnPartition::Data(0), TxnPartition::Data(1));
    assert_eq!(c.verify(0, 1000, 0, p0, fx), ErrorCode::InvalidProducerIdMapping);
    c.init_producer_id(Some(0), None, fx);
    assert_eq!(c.verify(0, 1000, 0, p0, fx), ErrorCode::TransactionAbortable, "Empty");
    c.add_partition(0, 1000, 0, p0, ATTEMPT, fx);
    assert_eq!(c.verify(0, 1000, 0, p0, fx), ErrorCode::None);
    assert_eq!(c.verify(0, 1000, 0, p1, fx), ErrorCode::TransactionAbortable, "not added");
    assert_eq!(c.verify(0, 1001, 0, p0, fx), ErrorCode::InvalidProducerIdMapping);
    assert_eq!(c.verify(0, 1000, 1, p0, fx), ErrorCode::ProducerFenced);
    c.end_txn(0, 1000, 0, true, ATTEMPT, fx);
    assert_eq!(c.record(0).unwrap().state, PrepareCommit);
    assert_eq!(c.verify(0, 1000, 0, p0, fx), ErrorCode::ConcurrentTransactions);
}

/// InitProducerId bumps the epoch; a KIP-360 retry with the previous epoch gets the same epoch back;
/// an unknown expected epoch is fenced; an Ongoing transaction is fenced and aborted.
#[test]
fn init_producer_id_paths() {
    let (config, mut history, mut outbox) = setup(Protocol::Tv1);
    let fx = &mut Effects { config: &config, history: &mut history, outbox: &mut outbox };
    let mut c = Coordinator::new(&config);
    let first = c.init_producer_id(Some(0), None, fx);
    assert_eq!((first.producer_id, first.epoch), (Some(FIRST_PRODUCER_ID), Some(0)));
    let bumped = c.init_producer_id(Some(0), Some((1000, 0)), fx);
    assert_eq!(bumped.epoch, Some(1));
    let retried = c.init_producer_id(Some(0), Some((1000, 0)), fx);
    assert_eq!(retried.epoch, Some(1), "a retried KIP-360 bump returns the same epoch");
    let stale = c.init_producer_id(Some(0), Some((1000, 7)), fx);
    assert_eq!(stale.error, ErrorCode::ProducerFenced);
    let added = c.add_partition(0, 1000, 1, TxnPartition::Data(0), ATTEMPT, fx);
    assert_eq!(added, ErrorCode::None);
    let fence = c.init_producer_id(Some(0), None, fx);
    assert_eq!(fence.error, ErrorCode::ConcurrentTransactions);
    let record = c.record(0).unwrap();
    assert_eq!((record.state, record.producer_epoch), (PrepareAbort, 2));
    assert_eq!(fx.outbox.len(), 1, "an ABORT marker to out-0");
    assert!(fx.history.violations.is_empty());
}

/// EndTxn answers retries, concurrent and invalid requests as Kafka does (tv1).
#[test]
fn end_txn_paths_tv1() {
    let (config, mut history, mut outbox) = setup(Protocol::Tv1);
    let fx = &mut Effects { config: &config, history: &mut history, outbox: &mut outbox };
    let mut c = Coordinator::new(&config);
    c.init_producer_id(Some(0), None, fx);
    let end =
        |c: &mut Coordinator, fx: &mut Effects, epoch, commit| c.end_txn(0, 1000, epoch, commit, ATTEMPT, fx).error;
    assert_eq!(end(&mut c, fx, 0, true), ErrorCode::InvalidTxnState, "nothing to commit in Empty");
    c.add_partition(0, 1000, 0, TxnPartition::Data(0), ATTEMPT, fx);
    assert_eq!(end(&mut c, fx, 1, true), ErrorCode::ProducerFenced);
    assert_eq!(end(&mut c, fx, 0, true), ErrorCode::None);
    assert_eq!(end(&mut c, fx, 0, true), ErrorCode::ConcurrentTransactions, "still PrepareCommit");
    assert_eq!(end(&mut c, fx, 0, false), ErrorCode::ConcurrentTransactions, "Complete* is pending in Prepare*");
    assert_eq!(c.end_txn(0, 999, 0, true, ATTEMPT, fx).error, ErrorCode::InvalidProducerIdMapping);
}

/// tv2: EndTxn bumps the epoch; the retry with the old epoch is recognised; an empty abort bumps
/// the epoch and completes at once.
#[test]
fn end_txn_paths_tv2() {
    let (config, mut history, mut outbox) = setup(Protocol::Tv2);
    let fx = &mut Effects { config: &config, history: &mut history, outbox: &mut outbox };
    let mut c = Coordinator::new(&config);
    c.init_producer_id(Some(0), None, fx);
    let empty = c.end_txn(0, 1000, 0, false, ATTEMPT, fx);
    assert_eq!((empty.error, empty.epoch, c.record(0).unwrap().state), (ErrorCode::None, Some(1), CompleteAbort));
    c.add_partition(0, 1000, 1, TxnPartition::Data(0), ATTEMPT, fx);
    let commit = c.end_txn(0, 1000, 1, true, ATTEMPT, fx);
    assert_eq!((commit.error, commit.epoch), (ErrorCode::None, Some(2)));
    let retry = c.end_txn(0, 1000, 1, true, ATTEMPT, fx);
    assert_eq!(retry.error, ErrorCode::ConcurrentTransactions, "a retry while PrepareCommit");
    let stale = c.end_txn(0, 1000, 0, true, ATTEMPT, fx);
    assert_eq!(stale.error, ErrorCode::ConcurrentTransactions, "pending before the epoch (KAFKA-18464)");
}

/// A tv2 coordinator whose fixes are `fixes`, with txn-0 Ongoing at epoch 0 on out-0.
fn ongoing_tv2(fixes: crate::config::Fixes) -> (Config, Coordinator) {
    let (mut config, mut history, mut outbox) = setup(Protocol::Tv2);
    config.fixes = fixes;
    let fx = &mut Effects { config: &config, history: &mut history, outbox: &mut outbox };
    let mut c = Coordinator::new(&config);
    c.init_producer_id(Some(0), None, fx);
    assert_eq!(c.add_partition(0, 1000, 0, TxnPartition::Data(0), ATTEMPT, fx), ErrorCode::None);
    (config, c)
}

fn fixes_without(name: &str) -> crate::config::Fixes {
    let mut fixes = crate::config::Fixes::default();
    *fixes.get_mut(name).expect("a known fix") = false;
    fixes
}

/// KAFKA-18464: while a commit is PrepareCommit, the producer's next EndTxn (an abort at the epoch the
/// commit answered) waits; without the fix the epoch check comes first and fences it.
#[test]
fn tv2_end_txn_checks_pending_before_the_epoch() {
    for (fixes, expected) in [
        (crate::config::Fixes::default(), ErrorCode::ConcurrentTransactions),
        (fixes_without("kafka_18464"), ErrorCode::ProducerFenced),
    ] {
        let (config, mut c) = ongoing_tv2(fixes);
        let (mut history, mut outbox) = (History::default(), Vec::new());
        let fx = &mut Effects { config: &config, history: &mut history, outbox: &mut outbox };
        assert_eq!(c.end_txn(0, 1000, 0, true, ATTEMPT, fx).epoch, Some(1));
        assert_eq!(c.end_txn(0, 1000, 1, false, ATTEMPT, fx).error, expected);
    }
}

/// KAFKA-18660: AddPartitions in Prepare* answers CONCURRENT_TRANSACTIONS before looking at the epoch.
#[test]
fn add_partitions_checks_pending_first() {
    for (fixes, expected) in [
        (crate::config::Fixes::default(), ErrorCode::ConcurrentTransactions),
        (fixes_without("kafka_18660"), ErrorCode::ProducerFenced),
    ] {
        let (config, mut c) = ongoing_tv2(fixes);
        let (mut history, mut outbox) = (History::default(), Vec::new());
        let fx = &mut Effects { config: &config, history: &mut history, outbox: &mut outbox };
        c.end_txn(0, 1000, 0, true, ATTEMPT, fx);
        assert_eq!(c.add_partition(0, 1000, 7, TxnPartition::Data(1), ATTEMPT, fx), expected);
    }
}

/// KAFKA-19367: a fence (here the timeout) bumps the tv2 epoch once; without the fix, twice.
#[test]
fn tv2_fence_bumps_the_epoch_once() {
    for (fixes, epoch) in [(crate::config::Fixes::default(), 1), (fixes_without("kafka_19367"), 2)] {
        let (config, mut c) = ongoing_tv2(fixes);
        let (mut history, mut outbox) = (History::default(), Vec::new());
        let fx = &mut Effects { config: &config, history: &mut history, outbox: &mut outbox };
        c.timeout(0, fx);
        let record = c.record(0).unwrap();
        assert_eq!((record.state, record.producer_epoch), (PrepareAbort, epoch));
        let Message::Marker(m) = outbox[0] else { panic!("a marker") };
        assert_eq!((m.epoch, m.transaction_version), (epoch, 2));
    }
}

/// KAFKA-20785: a commit in flight when the coordinator aborted the transaction arrives at a retry
/// epoch in CompleteAbort: PRODUCER_FENCED, not INVALID_TXN_STATE (without the fix).
#[test]
fn commit_racing_a_coordinator_abort_is_fenced() {
    for (fixes, expected) in [
        (crate::config::Fixes::default(), ErrorCode::ProducerFenced),
        (fixes_without("kafka_20785"), ErrorCode::InvalidTxnState),
    ] {
        let (config, mut c) = ongoing_tv2(fixes);
        let (mut history, mut outbox) = (History::default(), Vec::new());
        let fx = &mut Effects { config: &config, history: &mut history, outbox: &mut outbox };
        c.timeout(0, fx);
        let Message::Marker(m) = outbox[0] else { panic!("a marker") };
        c.on_marker_response(
            &m,
            ErrorCode::None,
            &mut Effects { config: &config, history: &mut history, outbox: &mut Vec::new() },
        );
        let fx = &mut Effects { config: &config, history: &mut history, outbox: &mut Vec::new() };
        assert_eq!(c.record(0).unwrap().state, CompleteAbort);
        assert_eq!(c.end_txn(0, 1000, 0, true, ATTEMPT, fx).error, expected);
        assert_eq!(c.end_txn(0, 1000, 0, false, ATTEMPT, fx).error, ErrorCode::None, "a retried abort");
    }
}

/// InitProducerId answers a pending transition before it looks at the expected epoch.
#[test]
fn init_producer_id_answers_pending_first() {
    let (config, mut c) = ongoing_tv2(crate::config::Fixes::default());
    let (mut history, mut outbox) = (History::default(), Vec::new());
    let fx = &mut Effects { config: &config, history: &mut history, outbox: &mut outbox };
    c.end_txn(0, 1000, 0, true, ATTEMPT, fx);
    let reply = c.init_producer_id(Some(0), Some((4242, 9)), fx);
    assert_eq!(reply.error, ErrorCode::ConcurrentTransactions);
}

/// Transactional-id expiry (specs/eos.md §4.5): only an idle id expires; afterwards the old producer
/// id is unknown, the KIP-360 re-init starts over with a new producer id, and a re-sent copy of that
/// re-init is fenced.
#[test]
fn expired_transactional_id_starts_over() {
    let (config, mut history, mut outbox) = setup(Protocol::Tv2);
    let fx = &mut Effects { config: &config, history: &mut history, outbox: &mut outbox };
    let mut c = Coordinator::new(&config);
    assert_eq!(c.expire(0, fx), None, "an unknown id does not expire");
    c.init_producer_id(Some(0), None, fx);
    assert_eq!(c.add_partition(0, 1000, 0, TxnPartition::Data(0), ATTEMPT, fx), ErrorCode::None);
    assert_eq!(c.expire(0, fx), None, "an Ongoing id does not expire");
    c.end_txn(0, 1000, 0, false, ATTEMPT, fx);
    assert_eq!(c.expire(0, fx), None, "a PrepareAbort id does not expire");
    c.markers[0] = PendingMarkers::default();
    c.log[0] = Some(TxnRecord { state: CompleteAbort, partitions: IndexSet::new(), ..*c.record(0).unwrap() });
    assert_eq!(c.expire(0, fx), Some(()));
    assert_eq!(c.record(0), None, "forgotten");
    assert_eq!(c.add_partition(0, 1000, 1, TxnPartition::Data(0), ATTEMPT, fx), ErrorCode::InvalidProducerIdMapping);
    assert_eq!(c.end_txn(0, 1000, 1, false, ATTEMPT, fx).error, ErrorCode::InvalidProducerIdMapping);
    let reinit = c.init_producer_id(Some(0), Some((1000, 1)), fx);
    assert_eq!((reinit.error, reinit.producer_id, reinit.epoch), (ErrorCode::None, Some(1001), Some(0)));
    let resent = c.init_producer_id(Some(0), Some((1000, 1)), fx);
    assert_eq!(resent.error, ErrorCode::ProducerFenced, "the re-sent re-init names an unknown producer id");
    assert!(fx.history.violations.is_empty());
}

/// TV1 EndTxn answers a pending transition CONCURRENT_TRANSACTIONS after the epoch check (Kafka's
/// `endTransactionWithTV1`), also one whose failed append was never cleared (KAFKA-5351 unfixed):
/// an Ongoing transaction with a stuck pending add is not committed.
#[test]
fn tv1_end_txn_waits_for_a_pending_transition() {
    let (config, mut history, mut outbox) = setup(Protocol::Tv1);
    let fx = &mut Effects { config: &config, history: &mut history, outbox: &mut outbox };
    let mut c = Coordinator::new(&config);
    c.init_producer_id(Some(0), None, fx);
    c.add_partition(0, 1000, 0, TxnPartition::Data(0), ATTEMPT, fx);
    c.pending_states[0] = Some(Ongoing);
    assert_eq!(c.end_txn(0, 1000, 1, true, ATTEMPT, fx).error, ErrorCode::ProducerFenced, "epoch first");
    assert_eq!(c.end_txn(0, 1000, 0, true, ATTEMPT, fx).error, ErrorCode::ConcurrentTransactions);
    assert_eq!(c.record(0).unwrap().state, Ongoing, "not committed");
}

/// A failed transaction-log append keeps what its transition's preparation took (specs/eos.md §4.5,
/// Kafka's `ProducerIdManager.generateProducerId` runs while the transition is prepared): the fresh
/// metadata of a first InitProducerId (its producer id, no epoch) and a rotation's next producer id;
/// the retries allocate nothing twice and hand no id out twice.
#[test]
fn a_failed_append_keeps_its_prepared_allocations() {
    let (mut config, mut history, mut outbox) = setup(Protocol::Tv1);
    config.broker.max_producer_epoch = 2;
    let fx = &mut Effects { config: &config, history: &mut history, outbox: &mut outbox };
    let mut c = Coordinator::new(&config);
    let init =
        Request { from: 0, attempt: 0, send: 0, body: RequestBody::InitProducerId { txn: Some(0), expected: None } };
    let first = c.prepared_transition(&init, &config).expect("a first InitProducerId appends");
    assert_eq!((first.metadata.producer_id, first.metadata.producer_epoch), (1000, NO_EPOCH));
    assert_eq!((first.producer_ids_from, first.producer_ids_to), (1001, 1001));
    assert_eq!((c.record(0), c.next_producer_id), (None, 1000), "learning it changes nothing");
    c.prepare_transition(&first);
    assert_eq!(c.append_failed(0, fx).error, ErrorCode::CoordinatorNotAvailable);
    assert_eq!(c.record(0), Some(&first.metadata), "the fresh metadata stays, in memory");
    assert_eq!((c.next_producer_id, c.pending_states[0]), (1001, None));
    let granted = c.init_producer_id(Some(0), None, fx);
    assert_eq!((granted.producer_id, granted.epoch), (Some(1000), Some(0)), "the retry keeps the producer id");
    assert_eq!(c.next_producer_id, 1001, "and allocates nothing");
    // An exhausted epoch: the InitProducerId rotates to a new producer id; its append fails.
    c.log[0] = Some(TxnRecord { producer_epoch: 1, ..*c.record(0).unwrap() });
    let rotation = c.prepared_transition(&init, &config).expect("a rotation appends");
    assert_eq!((rotation.producer_ids_from, rotation.producer_ids_to), (1001, 1002));
    c.prepare_transition(&rotation);
    c.append_failed(0, fx);
    assert_eq!((c.record(0).unwrap().producer_id, c.next_producer_id), (1000, 1002));
    let rotated = c.init_producer_id(Some(0), None, fx);
    assert_eq!(rotated.producer_id, Some(1002), "the failed rotation's id 1001 is not handed out again");
    assert!(fx.history.violations.is_empty());
}

/// A completion whose append fails (specs/eos.md §4.5, fault `completion_append_failures`): the
/// last acknowledgement leaves the record Prepare* with every marker acknowledged and the
/// completion stuck; EndTxn still waits; the retry tick logs the completion and sends no marker.
/// A failover while it is stuck resumes the Prepare* by sending every marker again.
#[test]
fn a_stuck_completion_is_retried_and_completes() {
    let (config, mut history, mut outbox) = setup(Protocol::Tv1);
    let mut c = Coordinator::new(&config);
    let fx = &mut Effects { config: &config, history: &mut history, outbox: &mut outbox };
    c.init_producer_id(Some(0), None, fx);
    c.add_partition(0, 1000, 0, TxnPartition::Data(0), ATTEMPT, fx);
    c.end_txn(0, 1000, 0, true, ATTEMPT, fx);
    let Some(Message::Marker(marker)) = fx.outbox.last().copied() else { panic!("a marker is sent") };
    assert!(c.completes_with(&marker), "its acknowledgement is the last one awaited");
    let mut failed_over = c.clone();
    assert_eq!(c.completion_append_failed(&marker), Some(()));
    assert_eq!(c.record(0).unwrap().state, PrepareCommit, "not completed");
    assert!(c.markers[0].pending.is_empty() && c.completion_stuck(0) && c.retry_tick_due(0));
    assert!(!c.completes_with(&marker), "a second copy of the acknowledgement completes nothing");
    assert_eq!(c.end_txn(0, 1000, 0, true, ATTEMPT, fx).error, ErrorCode::ConcurrentTransactions);
    let sent = fx.outbox.len();
    c.retry_markers(0, fx);
    assert_eq!(c.record(0).unwrap().state, CompleteCommit, "the retry logs the completion");
    assert!(!c.completion_stuck(0) && !c.retry_tick_due(0));
    assert_eq!(fx.outbox.len(), sent, "and sends no marker");
    // The same stuck completion, then a failover: the new coordinator sends the marker again.
    failed_over.completion_append_failed(&marker);
    failed_over.failover(fx);
    assert!(!failed_over.completion_stuck(0), "the new coordinator knows nothing of the failed append");
    assert_eq!(failed_over.markers[0].pending.len(), 1);
    assert!(matches!(fx.outbox.last(), Some(Message::Marker(m)) if m.coordinator_epoch == 1));
    assert!(fx.history.violations.is_empty());
}
