//! proptest state-machine tests: random sequences of client operations interleaved with message
//! delivery in any order, loss, duplication by request timeout, producer crashes and restarts
//! (zombies), transaction timeouts, marker retries and coordinator failover. After every step the
//! invariants of specs section 12 that the mode promises are checked; at the end the cluster is
//! drained and the terminal properties are checked. Case count: PROPTEST_CASES (default 32 per
//! test, sized for a 2-core machine).

mod common;

use eos_broker::client::{ClientConfig, Phase};
use eos_broker::cluster::{Cluster, ClusterConfig, Timer};
use eos_broker::partition::LogEntry;
use eos_broker::{ClientId, IsolationLevel, Message, ProtocolMode, TopicPartition, TxnState};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// One driver step.
#[derive(Clone, Debug)]
enum Op {
    Start(usize),
    Send(usize, i32),
    Copy(usize),
    Commit(usize),
    Abort(usize),
    Crash(usize),
    Deliver(usize),
    DeliverOldest,
    Lose(usize),
    Fire(usize),
    Failover,
}

fn op(clients: usize) -> impl Strategy<Value = Op> {
    op_mix(clients, 1, 6, 18)
}

/// Operations with the given weights of aborts, random deliveries and in-order deliveries.
fn op_mix(clients: usize, aborts: u32, random: u32, oldest: u32) -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0..clients).prop_map(Op::Start),
        6 => (0..clients, 0..2i32).prop_map(|(c, p)| Op::Send(c, p)),
        8 => (0..clients).prop_map(Op::Copy),
        4 => (0..clients).prop_map(Op::Commit),
        aborts => (0..clients).prop_map(Op::Abort),
        1 => (0..clients).prop_map(Op::Crash),
        random => any::<usize>().prop_map(Op::Deliver),
        oldest => Just(Op::DeliverOldest),
        1 => any::<usize>().prop_map(Op::Lose),
        2 => any::<usize>().prop_map(Op::Fire),
        1 => Just(Op::Failover),
    ]
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32)
}

/// Which invariants the mode promises (tv1 and tv1-verified have the anomalies of REFERENCE 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Promise {
    /// Everything: idempotence, LSO, read_committed, atomicity, no lost commit, copier, no hanging.
    Full,
    /// Only what tv1 keeps under arbitrary schedules: idempotence, LSO, read_committed vs. the log,
    /// fenced epochs never append.
    Tv1,
}

/// What the driver remembers about the run.
#[derive(Default)]
struct Tracker {
    /// Per client: the attempt number of its current (or last) transaction.
    attempt: BTreeMap<usize, u32>,
    /// Per client: the phase before the step.
    phase: BTreeMap<usize, Phase>,
    /// (partition, pid, epoch, sequence) of every Produce sent -> (client, attempt).
    produced: BTreeMap<(i32, i64, i16, i32), (usize, u32)>,
    /// Attempts whose commit the client saw acknowledged.
    commit_acknowledged: BTreeSet<(usize, u32)>,
    /// Last LSO per partition.
    lso: BTreeMap<i32, i64>,
    values: u64,
    /// finish_copy started its own instance.
    restarted: bool,
}

struct Run {
    cluster: Cluster,
    copier: bool,
    promise: Promise,
    tracker: Tracker,
}

impl Run {
    fn new(protocol: ProtocolMode, copier: bool, promise: Promise) -> Self {
        let clients = if copier {
            vec![ClientConfig::copier("txn-c"), ClientConfig::copier("txn-c")]
        } else {
            vec![
                ClientConfig::transactional("txn-0"),
                ClientConfig::transactional("txn-0"),
                ClientConfig::transactional("txn-1"),
            ]
        };
        let config = ClusterConfig {
            protocol,
            partitions: 2,
            input_records: 3,
            clients,
            transaction_timeout_ms: 10_000,
            ..ClusterConfig::default()
        };
        Self {
            cluster: Cluster::new(config),
            copier,
            promise,
            tracker: Tracker::default(),
        }
    }

    fn phase(&self, client: usize) -> Phase {
        self.cluster
            .client(ClientId(client))
            .expect("client")
            .phase()
    }

    fn record_sent(&mut self, client: usize, sent: &[eos_broker::MessageId]) {
        let attempt = self.tracker.attempt.get(&client).copied().unwrap_or(0);
        for id in sent {
            if let Some(Message::Produce(p)) = self.cluster.message(*id).map(|m| &m.message) {
                let key = (
                    p.partition.partition,
                    p.producer_id,
                    p.producer_epoch,
                    p.sequence,
                );
                self.tracker
                    .produced
                    .entry(key)
                    .or_insert((client, attempt));
            }
        }
    }

    fn begin_attempt_if_ready(&mut self, client: usize) {
        if self.phase(client) == Phase::Ready {
            *self.tracker.attempt.entry(client).or_insert(0) += 1;
        }
    }

    /// Applies one operation; operations not allowed now are skipped (errors are values).
    fn apply(&mut self, op: &Op) {
        let n_clients = self.cluster.clients().len();
        let op = &match *op {
            Op::Start(c) => Op::Start(c % n_clients),
            Op::Send(c, p) => Op::Send(c % n_clients, p),
            Op::Copy(c) => Op::Copy(c % n_clients),
            Op::Commit(c) => Op::Commit(c % n_clients),
            Op::Abort(c) => Op::Abort(c % n_clients),
            Op::Crash(c) => Op::Crash(c % n_clients),
            ref other => other.clone(),
        };
        for client in 0..n_clients {
            self.tracker.phase.insert(client, self.phase(client));
        }
        match *op {
            Op::Start(c) => {
                let _ = self.cluster.start(ClientId(c));
            }
            Op::Send(c, partition) if !self.copier => {
                self.begin_attempt_if_ready(c);
                self.tracker.values += 1;
                let value = format!(
                    "c{c}-a{}-r{}",
                    self.tracker.attempt.get(&c).copied().unwrap_or(0),
                    self.tracker.values
                );
                if let Ok(sent) = self.cluster.send(ClientId(c), partition, value) {
                    self.record_sent(c, &sent);
                }
            }
            Op::Copy(c) | Op::Send(c, _) if self.copier => self.copier_step(c),
            Op::Copy(_) | Op::Send(..) => {}
            Op::Commit(c) if !self.copier => {
                let _ = self.cluster.commit(ClientId(c));
            }
            Op::Commit(_) => {}
            Op::Abort(c) => {
                let _ = self.cluster.abort(ClientId(c));
            }
            Op::Crash(c) => {
                let _ = self.cluster.crash(ClientId(c));
            }
            Op::Deliver(i) => {
                if let Some(id) = self.nth_in_flight(i) {
                    let sent = self.cluster.deliver(id).expect("listed");
                    self.record_reactions(&sent);
                }
            }
            Op::DeliverOldest => {
                if let Some(id) = self.nth_in_flight(0) {
                    let sent = self.cluster.deliver(id).expect("listed");
                    self.record_reactions(&sent);
                }
            }
            Op::Lose(i) => {
                if let Some(id) = self.nth_in_flight(i) {
                    self.cluster.lose(id).expect("listed");
                }
            }
            Op::Fire(i) => {
                let timers = self.cluster.timers();
                if !timers.is_empty() {
                    let (timer, _) = timers[i % timers.len()].clone();
                    let sent = self.cluster.fire(&timer).expect("armed");
                    self.record_reactions(&sent);
                }
            }
            Op::Failover => {
                self.cluster.coordinator_failover();
            }
        }
        self.note_commits();
    }

    /// Produces a client sends in reaction to a response (tv1 held records, CONCURRENT re-sends).
    fn record_reactions(&mut self, sent: &[eos_broker::MessageId]) {
        let by_client: Vec<(usize, eos_broker::MessageId)> = sent
            .iter()
            .filter_map(|id| match self.cluster.message(*id)?.source {
                eos_broker::Endpoint::Client(c) => Some((c.0, *id)),
                _ => None,
            })
            .collect();
        for (client, id) in by_client {
            self.record_sent(client, &[id]);
        }
    }

    fn copier_step(&mut self, c: usize) {
        let id = ClientId(c);
        match self.phase(c) {
            Phase::FetchingOffsets => {
                let _ = self.cluster.fetch_offsets(id);
            }
            Phase::Ready => {
                let Ok((partition, value)) = self.cluster.copier_next(id) else {
                    return;
                };
                self.begin_attempt_if_ready(c);
                let position = self.cluster.client(id).expect("client").position();
                if let Ok(sent) = self.cluster.send(id, partition, value) {
                    self.record_sent(c, &sent);
                    let _ = self.cluster.send_offsets(id, position + 1);
                }
            }
            Phase::InTransaction => {
                let _ = self.cluster.commit(id);
            }
            Phase::AbortableError => {
                let _ = self.cluster.abort(id);
            }
            _ => {}
        }
    }

    fn nth_in_flight(&self, i: usize) -> Option<eos_broker::MessageId> {
        let ids: Vec<_> = self.cluster.in_flight().map(|m| m.id).collect();
        (!ids.is_empty()).then(|| ids[i % ids.len()])
    }

    /// A client that left CommittingTransaction without a fatal error saw its commit acknowledged.
    fn note_commits(&mut self) {
        for client in 0..self.cluster.clients().len() {
            let before = self.tracker.phase.get(&client).copied();
            let now = self.phase(client);
            if before == Some(Phase::CommittingTransaction)
                && matches!(now, Phase::Ready | Phase::CommittingOffsets)
            {
                let attempt = self.tracker.attempt.get(&client).copied().unwrap_or(0);
                self.tracker.commit_acknowledged.insert((client, attempt));
            }
        }
    }

    /// The invariants checked after every step.
    fn check_step(&mut self) -> Result<(), TestCaseError> {
        let mut outcomes: BTreeMap<(usize, u32), BTreeSet<bool>> = BTreeMap::new();
        for p in 0..self.cluster.config().partitions {
            let view = self
                .cluster
                .partition_view(&TopicPartition::output(p))
                .expect("partition");
            // lso_bounded_and_monotone
            prop_assert!(
                view.last_stable_offset <= view.high_watermark,
                "LSO > HW on out-{}",
                p
            );
            let last = self
                .tracker
                .lso
                .insert(p, view.last_stable_offset)
                .unwrap_or(0);
            prop_assert!(
                view.last_stable_offset >= last,
                "LSO decreased on out-{}",
                p
            );
            let decided = decisions(&view.log);
            let mut seen = BTreeSet::new();
            let mut epochs: BTreeMap<i64, i16> = BTreeMap::new();
            for entry in &view.log {
                match entry {
                    LogEntry::Data {
                        producer_id,
                        producer_epoch,
                        sequence,
                        ..
                    } if *producer_id >= 0 => {
                        // idempotence
                        prop_assert!(
                            seen.insert((*producer_id, *producer_epoch, *sequence)),
                            "duplicate {:?} on out-{}",
                            entry,
                            p
                        );
                        fenced_check(&mut epochs, *producer_id, *producer_epoch)?;
                    }
                    LogEntry::Control {
                        producer_id,
                        producer_epoch,
                        ..
                    } => fenced_check(&mut epochs, *producer_id, *producer_epoch)?,
                    LogEntry::Data { .. } => {}
                }
            }
            // consumer_sees_only_committed (judged by the log)
            let reader = eos_broker::client::Consumer::read_all(
                self.cluster
                    .broker()
                    .partition(&TopicPartition::output(p))
                    .expect("partition"),
                IsolationLevel::ReadCommitted,
            )
            .expect("fetch");
            for record in &reader {
                prop_assert!(
                    record.offset < view.last_stable_offset,
                    "read_committed above the LSO"
                );
                if record.producer_id >= 0 {
                    prop_assert_eq!(
                        decided.get(&record.offset).copied(),
                        Some(true),
                        "read_committed returned an undecided/aborted record at {}",
                        record.offset
                    );
                }
            }
            for entry in &view.log {
                if let LogEntry::Data {
                    offset,
                    producer_id,
                    producer_epoch,
                    sequence,
                    transactional: true,
                    ..
                } = entry
                {
                    let Some(owner) =
                        self.tracker
                            .produced
                            .get(&(p, *producer_id, *producer_epoch, *sequence))
                    else {
                        continue;
                    };
                    if let Some(commit) = decided.get(offset) {
                        outcomes.entry(*owner).or_default().insert(*commit);
                    }
                }
            }
        }
        if self.promise == Promise::Full {
            for (attempt, results) in &outcomes {
                // atomicity
                prop_assert!(
                    results.len() <= 1,
                    "attempt {:?} is torn: {:?}",
                    attempt,
                    results
                );
                // no_lost_committed_write
                if self.tracker.commit_acknowledged.contains(attempt) {
                    prop_assert!(
                        !results.contains(&false),
                        "attempt {:?} was acknowledged committed but aborted",
                        attempt
                    );
                }
            }
            if self.copier {
                self.check_copier(false)?;
            }
        }
        Ok(())
    }

    /// copier_exactly_once: no input copied twice into the committed output; when no transaction
    /// is being decided, the output is exactly the inputs below the committed offset.
    fn check_copier(&self, terminal: bool) -> Result<(), TestCaseError> {
        let mut output: Vec<String> = (0..self.cluster.config().partitions)
            .flat_map(|p| {
                self.cluster
                    .read(&TopicPartition::output(p), IsolationLevel::ReadCommitted)
            })
            .collect();
        output.sort();
        let distinct: BTreeSet<&String> = output.iter().collect();
        prop_assert_eq!(
            distinct.len(),
            output.len(),
            "an input was copied twice: {:?}",
            output
        );
        let deciding = self
            .cluster
            .coordinator_view()
            .transactions
            .values()
            .any(|t| t.state.is_prepare());
        if !deciding || terminal {
            let committed = self
                .cluster
                .group_view()
                .committed
                .get(&TopicPartition::input())
                .copied()
                .unwrap_or(0);
            let mut expected: Vec<String> = (0..committed).map(|n| format!("in-{n}")).collect();
            expected.sort();
            prop_assert_eq!(
                output,
                expected,
                "output disagrees with the committed offset {}",
                committed
            );
        }
        Ok(())
    }

    /// Delivers everything, retries, and times out every transaction left open; then checks the
    /// terminal properties (specs 12, liveness judged at terminal states).
    fn drain_and_check(&mut self) -> Result<(), TestCaseError> {
        for _ in 0..50 {
            self.cluster.run_until_quiet(5_000);
            let timeout = self
                .cluster
                .timers()
                .into_iter()
                .find(|(t, _)| matches!(t, Timer::TransactionTimeout { .. }));
            match timeout {
                Some((timer, _)) => {
                    self.cluster.fire(&timer).expect("armed");
                }
                None => break,
            }
            self.check_step()?;
        }
        self.check_step()?;
        if self.copier && self.promise == Promise::Full {
            self.finish_copy()?;
        }
        prop_assert_eq!(self.cluster.in_flight().count(), 0, "network drained");
        if self.promise == Promise::Full {
            for (id, txn) in self.cluster.coordinator_view().transactions {
                // prepare_completes, ongoing_ends
                prop_assert!(
                    !txn.state.is_prepare() && txn.state != TxnState::Ongoing,
                    "{} left in {:?}",
                    id,
                    txn.state
                );
            }
            for p in 0..self.cluster.config().partitions {
                let view = self
                    .cluster
                    .partition_view(&TopicPartition::output(p))
                    .expect("partition");
                // lso_advances / no_hanging_transaction
                prop_assert_eq!(
                    view.last_stable_offset,
                    view.high_watermark,
                    "out-{} has a hanging transaction",
                    p
                );
            }
            prop_assert!(
                self.cluster.group_view().pending.is_empty(),
                "offsets left pending"
            );
            if self.copier {
                self.check_copier(true)?;
            }
        }
        Ok(())
    }
}

impl Run {
    /// Liveness once faults stop: the newest live copier instance (or a fresh one if none is
    /// live) runs its script until every input is copied (copier_completed).
    fn finish_copy(&mut self) -> Result<(), TestCaseError> {
        let inputs = self.cluster.config().input_records;
        let mut restarts = 0;
        for _ in 0..200 {
            let copier = self.live_copier();
            let done = self
                .cluster
                .group_view()
                .committed
                .get(&TopicPartition::input())
                .copied()
                == Some(inputs)
                && self.phase(copier) == Phase::Ready;
            if done {
                return Ok(());
            }
            if std::env::var("EOS_TRACE").is_ok() {
                eprintln!(
                    "copier {copier}: {:?} group {:?}",
                    self.cluster.client_view(ClientId(copier)),
                    self.cluster.group_view()
                );
                eprintln!("  txn {:?}", self.cluster.coordinator_view().transactions);
            }
            for _ in 0..4 {
                self.tracker.phase.insert(copier, self.phase(copier));
                self.copier_step(copier);
                self.note_commits();
            }
            self.cluster.run_until_quiet(5_000);
            if matches!(self.phase(copier), Phase::FatalError) {
                restarts += 1;
                self.tracker.restarted = false;
                prop_assert!(
                    restarts < 5,
                    "the copier keeps failing: {:?}",
                    self.cluster.client_view(ClientId(copier))
                );
            }
            // Someone else's transaction blocks the offsets: let the coordinator time it out.
            if self.phase(copier) == Phase::FetchingOffsets {
                let timeout = self
                    .cluster
                    .timers()
                    .into_iter()
                    .find(|(t, _)| matches!(t, Timer::TransactionTimeout { .. }));
                if let Some((timer, _)) = timeout {
                    self.cluster.fire(&timer).expect("armed");
                }
            }
            self.check_step()?;
        }
        prop_assert!(
            false,
            "the copier did not finish: {:?}",
            self.cluster.clients().last().map(|c| c.view())
        );
        Ok(())
    }

    /// The copier that finishes the job: every older instance crashes (a zombie of an older
    /// group generation could never commit offsets, and there is no rejoin) and a fresh instance
    /// (a restart with the same transactional id) takes over; after that, the newest live one.
    fn live_copier(&mut self) -> usize {
        let newest = self.cluster.clients().len() - 1;
        let fresh = self.tracker.restarted
            && !matches!(self.phase(newest), Phase::Crashed | Phase::FatalError);
        if fresh {
            return newest;
        }
        for c in 0..self.cluster.clients().len() {
            let _ = self.cluster.crash(ClientId(c));
        }
        let id = self.cluster.add_client(ClientConfig::copier("txn-c"));
        self.cluster.start(id).expect("a fresh instance starts");
        self.tracker.restarted = true;
        id.0
    }
}

/// Offset of each transactional data record -> its outcome (true = COMMIT), from the next control
/// record of the same producer.
fn decisions(log: &[LogEntry]) -> BTreeMap<i64, bool> {
    let mut open: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    let mut decided = BTreeMap::new();
    for entry in log {
        match entry {
            LogEntry::Data {
                offset,
                producer_id,
                transactional: true,
                ..
            } => open.entry(*producer_id).or_default().push(*offset),
            LogEntry::Control {
                producer_id,
                commit,
                ..
            } => {
                for offset in open.remove(producer_id).unwrap_or_default() {
                    decided.insert(offset, *commit);
                }
            }
            LogEntry::Data { .. } => {}
        }
    }
    decided
}

/// fenced_epochs_never_append: a producer's epochs never go backwards along a partition.
fn fenced_check(
    epochs: &mut BTreeMap<i64, i16>,
    producer_id: i64,
    producer_epoch: i16,
) -> Result<(), TestCaseError> {
    let last = epochs.entry(producer_id).or_insert(producer_epoch);
    prop_assert!(
        producer_epoch >= *last,
        "pid {} appended epoch {} after {}",
        producer_id,
        producer_epoch,
        last
    );
    *last = producer_epoch;
    Ok(())
}

fn run(
    protocol: ProtocolMode,
    copier: bool,
    promise: Promise,
    ops: &[Op],
) -> Result<(), TestCaseError> {
    let mut run = Run::new(protocol, copier, promise);
    for (step, op) in ops.iter().enumerate() {
        run.apply(op);
        run.check_step()
            .map_err(|e| TestCaseError::fail(format!("after step {step} {op:?}: {e}")))?;
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
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let strategy = proptest::collection::vec(op(if copier { 2 } else { 3 }), 100..200);
    let mut reached = Reached::default();
    for _ in 0..runs {
        let ops = strategy.new_tree(&mut runner).expect("tree").current();
        let mut run = Run::new(protocol, copier, Promise::Full);
        for op in &ops {
            if matches!(op, Op::Failover)
                && run
                    .cluster
                    .coordinator_view()
                    .transactions
                    .values()
                    .any(|t| t.state.is_prepare())
            {
                reached.failover_with_prepare += 1;
            }
            let timeouts_before = run
                .cluster
                .timers()
                .iter()
                .filter(|(t, _)| matches!(t, Timer::TransactionTimeout { .. }))
                .count();
            run.apply(op);
            if matches!(op, Op::Fire(_)) {
                let after = run
                    .cluster
                    .timers()
                    .iter()
                    .filter(|(t, _)| matches!(t, Timer::TransactionTimeout { .. }))
                    .count();
                reached.timeout_abort += usize::from(after < timeouts_before);
            }
        }
        run.drain_and_check().expect("invariants hold");
        let log: Vec<LogEntry> = (0..2)
            .flat_map(|p| {
                run.cluster
                    .partition_view(&TopicPartition::output(p))
                    .expect("p")
                    .log
            })
            .collect();
        reached.commit += log
            .iter()
            .filter(|e| matches!(e, LogEntry::Control { commit: true, .. }))
            .count();
        reached.abort += log
            .iter()
            .filter(|e| matches!(e, LogEntry::Control { commit: false, .. }))
            .count();
        reached.records += log
            .iter()
            .filter(|e| matches!(e, LogEntry::Data { .. }))
            .count();
        reached.fenced += run
            .cluster
            .clients()
            .iter()
            .filter(|c| c.phase() == Phase::FatalError)
            .count();
        reached.copier_completed += usize::from(
            run.cluster
                .group_view()
                .committed
                .get(&TopicPartition::input())
                == Some(&3),
        );
    }
    reached
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
        (
            "failover_completes_prepare",
            producers.failover_with_prepare + copiers.failover_with_prepare,
        ),
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
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[3; 32]),
    );
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
