//! The driver: random operations, the cluster they run on, and what it remembers of a run.

use eos_broker::client::{ClientConfig, Phase};
use eos_broker::cluster::{Cluster, ClusterConfig, Timer};
use eos_broker::{ClientId, Message, ProtocolMode, TopicPartition};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// One driver step.
#[derive(Clone, Debug)]
pub(crate) enum Op {
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

impl Op {
    /// The operation with its client index folded into `0..clients`.
    fn for_clients(&self, clients: usize) -> Op {
        match *self {
            Op::Start(c) => Op::Start(c % clients),
            Op::Send(c, p) => Op::Send(c % clients, p),
            Op::Copy(c) => Op::Copy(c % clients),
            Op::Commit(c) => Op::Commit(c % clients),
            Op::Abort(c) => Op::Abort(c % clients),
            Op::Crash(c) => Op::Crash(c % clients),
            ref other => other.clone(),
        }
    }
}

pub(crate) fn op(clients: usize) -> impl Strategy<Value = Op> {
    op_mix(clients, 1, 6, 18)
}

/// Operations with the given weights of aborts, random deliveries and in-order deliveries.
pub(crate) fn op_mix(clients: usize, aborts: u32, random: u32, oldest: u32) -> impl Strategy<Value = Op> {
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

pub(crate) fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
}

/// Which invariants the mode promises (tv1 and tv1-verified have the anomalies of REFERENCE 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Promise {
    /// Everything: idempotence, LSO, read_committed, atomicity, no lost commit, copier, no hanging.
    Full,
    /// Only what tv1 keeps under arbitrary schedules: idempotence, LSO, read_committed vs. the log,
    /// fenced epochs never append.
    Tv1,
}

/// What the driver remembers about the run.
#[derive(Default)]
pub(crate) struct Tracker {
    /// Per client: the attempt number of its current (or last) transaction.
    pub(crate) attempt: BTreeMap<usize, u32>,
    /// Per client: the phase before the step.
    pub(crate) phase: BTreeMap<usize, Phase>,
    /// (partition, pid, epoch, sequence) of every Produce sent -> (client, attempt).
    pub(crate) produced: BTreeMap<(i32, i64, i16, i32), (usize, u32)>,
    /// Attempts whose commit the client saw acknowledged.
    pub(crate) commit_acknowledged: BTreeSet<(usize, u32)>,
    /// Last LSO per partition.
    pub(crate) lso: BTreeMap<i32, i64>,
    pub(crate) values: u64,
    /// finish_copy started its own instance.
    pub(crate) restarted: bool,
}

pub(crate) struct Run {
    pub(crate) cluster: Cluster,
    pub(crate) copier: bool,
    pub(crate) promise: Promise,
    pub(crate) tracker: Tracker,
}

impl Run {
    pub(crate) fn new(protocol: ProtocolMode, copier: bool, promise: Promise) -> Self {
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
        Self { cluster: Cluster::new(config), copier, promise, tracker: Tracker::default() }
    }

    pub(crate) fn phase(&self, client: usize) -> Phase {
        self.cluster.client(ClientId(client)).expect("client").phase()
    }

    pub(crate) fn record_sent(&mut self, client: usize, sent: &[eos_broker::MessageId]) {
        let attempt = self.tracker.attempt.get(&client).copied().unwrap_or(0);
        for id in sent {
            if let Some(Message::Produce(p)) = self.cluster.message(*id).map(|m| &m.message) {
                let key = (p.partition.partition, p.producer_id, p.producer_epoch, p.sequence);
                self.tracker.produced.entry(key).or_insert((client, attempt));
            }
        }
    }

    pub(crate) fn begin_attempt_if_ready(&mut self, client: usize) {
        if self.phase(client) == Phase::Ready {
            *self.tracker.attempt.entry(client).or_insert(0) += 1;
        }
    }

    /// Applies one operation; operations not allowed now are skipped (errors are values).
    pub(crate) fn apply(&mut self, op: &Op) {
        let n_clients = self.cluster.clients().len();
        let op = &op.for_clients(n_clients);
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
                let value =
                    format!("c{c}-a{}-r{}", self.tracker.attempt.get(&c).copied().unwrap_or(0), self.tracker.values);
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
    pub(crate) fn record_reactions(&mut self, sent: &[eos_broker::MessageId]) {
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

    pub(crate) fn copier_step(&mut self, c: usize) {
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

    pub(crate) fn nth_in_flight(&self, i: usize) -> Option<eos_broker::MessageId> {
        let ids: Vec<_> = self.cluster.in_flight().map(|m| m.id).collect();
        (!ids.is_empty()).then(|| ids[i % ids.len()])
    }

    /// A client that left CommittingTransaction without a fatal error saw its commit acknowledged.
    pub(crate) fn note_commits(&mut self) {
        for client in 0..self.cluster.clients().len() {
            let before = self.tracker.phase.get(&client).copied();
            let now = self.phase(client);
            if before == Some(Phase::CommittingTransaction) && matches!(now, Phase::Ready | Phase::CommittingOffsets) {
                let attempt = self.tracker.attempt.get(&client).copied().unwrap_or(0);
                self.tracker.commit_acknowledged.insert((client, attempt));
            }
        }
    }
}

impl Run {
    /// Liveness once faults stop: the newest live copier instance (or a fresh one if none is
    /// live) runs its script until every input is copied (copier_completed).
    pub(crate) fn finish_copy(&mut self) -> Result<(), TestCaseError> {
        let inputs = self.cluster.config().input_records;
        let mut restarts = 0;
        for _ in 0..200 {
            let copier = self.live_copier();
            let done = self.cluster.group_view().committed.get(&TopicPartition::input()).copied() == Some(inputs)
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
                let timeout =
                    self.cluster.timers().into_iter().find(|(t, _)| matches!(t, Timer::TransactionTimeout { .. }));
                if let Some((timer, _)) = timeout {
                    self.cluster.fire(&timer).expect("armed");
                }
            }
            self.check_step()?;
        }
        prop_assert!(false, "the copier did not finish: {:?}", self.cluster.clients().last().map(|c| c.view()));
        Ok(())
    }

    /// The copier that finishes the job: every older instance crashes (a zombie of an older
    /// group generation could never commit offsets, and there is no rejoin) and a fresh instance
    /// (a restart with the same transactional id) takes over; after that, the newest live one.
    pub(crate) fn live_copier(&mut self) -> usize {
        let newest = self.cluster.clients().len() - 1;
        let fresh = self.tracker.restarted && !matches!(self.phase(newest), Phase::Crashed | Phase::FatalError);
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
