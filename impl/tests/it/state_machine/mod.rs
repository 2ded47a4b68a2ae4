//! proptest state-machine tests: random sequences of client operations interleaved with message
//! delivery in any order, loss, duplication by request timeout, producer crashes and restarts
//! (zombies), transaction timeouts, marker retries and coordinator failover. After every step the
//! invariants of specs section 12 that the mode promises are checked; at the end the cluster is
//! drained and the terminal properties are checked. Case count: PROPTEST_CASES (default 256 per
//! test, sized for a 2-core machine).

mod driver;
mod invariants;

use self::driver::{cases, op, op_mix, Op, Promise, Run};
use eos_broker::client::Phase;
use eos_broker::cluster::{Cluster, Timer};
use eos_broker::partition::LogEntry;
use eos_broker::{ProtocolMode, TopicPartition};
use proptest::prelude::*;

fn run(protocol: ProtocolMode, copier: bool, promise: Promise, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut run = Run::new(protocol, copier, promise);
    for (step, op) in ops.iter().enumerate() {
        run.apply(op);
        run.check_step().map_err(|e| TestCaseError::fail(format!("after step {step} {op:?}: {e}")))?;
    }
    run.drain_and_check()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), max_shrink_iters: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn tv2_producers_keep_every_invariant(ops in proptest::collection::vec(op(3), 1..150)) {
        // Proves, for random tv2 schedules with zombies, loss, duplicates, timeouts and failover:
        // idempotence, LSO bounds, read_committed safety, atomicity, no lost commit, no hanging transaction.
        run(ProtocolMode::Tv2, false, Promise::Full, &ops)?;
    }

    #[test]
    fn tv2_copier_is_exactly_once(ops in proptest::collection::vec(op(2), 1..200)) {
        // Proves copier_exactly_once for random tv2 schedules with crashes, restarts and faults.
        run(ProtocolMode::Tv2, true, Promise::Full, &ops)?;
    }

    #[test]
    fn tv2_survives_a_chaotic_network(ops in proptest::collection::vec(op_mix(3, 6, 18, 6), 1..150), copier in any::<bool>()) {
        // Proves the full tv2 promises with many aborts and mostly out-of-order delivery.
        run(ProtocolMode::Tv2, copier, Promise::Full, &ops)?;
    }

    #[test]
    fn tv1_modes_keep_the_log_invariants(ops in proptest::collection::vec(op_mix(3, 3, 12, 12), 1..150), verified in any::<bool>()) {
        // Proves what tv1 and tv1-verified keep under any schedule: idempotence, LSO bounds,
        // read_committed safety judged by the log, fenced epochs never append.
        let protocol = if verified { ProtocolMode::Tv1Verified } else { ProtocolMode::Tv1 };
        run(protocol, false, Promise::Tv1, &ops)?;
    }
}

/// Reachability counters over many random runs (specs 12's `sometimes` properties).
#[derive(Debug, Default)]
struct Reached {
    commit: usize,
    abort: usize,
    fenced: usize,
    timeout_abort: usize,
    failover_with_prepare: usize,
    copier_completed: usize,
    records: usize,
}

fn reach(protocol: ProtocolMode, copier: bool, runs: u32) -> Reached {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let seed = TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]);
    let mut runner = TestRunner::new_with_rng(Config::default(), seed);
    let strategy = proptest::collection::vec(op(if copier { 2 } else { 3 }), 100..200);
    let mut reached = Reached::default();
    for _ in 0..runs {
        let ops = strategy.new_tree(&mut runner).expect("tree").current();
        let mut run = Run::new(protocol, copier, Promise::Full);
        for op in &ops {
            let preparing = run.cluster.coordinator_view().transactions.values().any(|t| t.state.is_prepare());
            reached.failover_with_prepare += usize::from(matches!(op, Op::Failover) && preparing);
            let timeouts_before = armed_timeouts(&run.cluster);
            run.apply(op);
            let aborted = matches!(op, Op::Fire(_)) && armed_timeouts(&run.cluster) < timeouts_before;
            reached.timeout_abort += usize::from(aborted);
        }
        run.drain_and_check().expect("invariants hold");
        reached.count_terminal(&run.cluster);
    }
    reached
}

fn armed_timeouts(cluster: &Cluster) -> usize {
    cluster.timers().iter().filter(|(t, _)| matches!(t, Timer::TransactionTimeout { .. })).count()
}

impl Reached {
    fn count_terminal(&mut self, cluster: &Cluster) {
        let log: Vec<LogEntry> = (0..cluster.config().partitions)
            .flat_map(|p| cluster.partition_view(&TopicPartition::output(p)).expect("p").log)
            .collect();
        self.commit += log.iter().filter(|e| matches!(e, LogEntry::Control { commit: true, .. })).count();
        self.abort += log.iter().filter(|e| matches!(e, LogEntry::Control { commit: false, .. })).count();
        self.records += log.iter().filter(|e| matches!(e, LogEntry::Data { .. })).count();
        self.fenced += cluster.clients().iter().filter(|c| c.phase() == Phase::FatalError).count();
        let copied = cluster.group_view().committed.get(&TopicPartition::input()) == Some(&3);
        self.copier_completed += usize::from(copied);
    }
}

#[test]
fn random_schedules_reach_the_interesting_states() {
    // Proves the random schedules are not vacuous: commits, aborts, fencing, timeouts, failover
    // during a Prepare* and a completed copy all occur (specs 12 reachability).
    let producers = reach(ProtocolMode::Tv2, false, 60);
    let copiers = reach(ProtocolMode::Tv2, true, 60);
    eprintln!("producers: {producers:?}\ncopiers: {copiers:?}");
    for (name, count) in [
        ("commit_reached", producers.commit),
        ("abort_reached", producers.abort),
        ("producer_fenced_reached", producers.fenced),
        ("timeout_abort_reached", producers.timeout_abort),
        ("failover_completes_prepare", producers.failover_with_prepare + copiers.failover_with_prepare),
        ("copier_completed", copiers.copier_completed),
    ] {
        assert!(count > 0, "{name} never reached");
    }
}

#[test]
fn the_checker_finds_the_tv1_anomalies() {
    // Proves the per-step checker is not vacuous: held to tv2's promises, random tv1 schedules
    // break one of them (the anomalies of REFERENCE 4).
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &[3; 32]));
    let strategy = proptest::collection::vec(op_mix(3, 6, 18, 6), 50..150);
    let found = (0..3_000).find_map(|_| {
        let ops = strategy.new_tree(&mut runner).expect("tree").current();
        run(ProtocolMode::Tv1, false, Promise::Full, &ops).err()
    });
    let failure = found.expect("a tv1 anomaly within 3000 random schedules");
    eprintln!("tv1 violation: {failure}");
}

#[test]
fn the_checker_flags_a_hanging_transaction() {
    // Proves the checker catches anomaly A in tv1 (and accepts the same schedule in tv2).
    let ops = [
        Op::Start(0),
        Op::DeliverOldest,
        Op::DeliverOldest,
        Op::Send(0, 0),
        Op::DeliverOldest,
        Op::DeliverOldest,
        Op::Abort(0),
        Op::Deliver(1),
        Op::Deliver(1),
        Op::Deliver(1),
        Op::Deliver(1),
        Op::DeliverOldest,
    ];
    let tv1 = run(ProtocolMode::Tv1, false, Promise::Full, &ops);
    assert!(tv1.is_err(), "tv1 must fail");
    eprintln!("{tv1:?}");
    run(ProtocolMode::Tv2, false, Promise::Full, &ops).expect("tv2 holds");
}
