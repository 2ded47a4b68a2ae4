//! The reverse direction: the implementation records what it did as an `eos-trace/1` trace (origin
//! `implementation`), which `eos check-trace` then validates against the model.
//!
//! A seeded random scheduler drives eos-broker's in-process cluster without consulting the model: an
//! application loop per client (the scenario's script: records per partition, the copier's offsets,
//! commit or abort), the network (deliver or lose any message in flight), and the timers and faults
//! the scenario's budgets allow. Each operation the implementation accepts is recorded as the model
//! action it corresponds to, with the implementation's state projected onto the model's observable
//! state. Ghost fields (a request's attempt, a marker's members) are unknown to the implementation
//! and recorded empty; validation matches actions without them.

use crate::inproc::cluster_config;
use crate::project;
use crate::trace::{Origin, Step, Trace};
use eos_broker::ClientError;
use eos_broker::{ClientId, Cluster, ClusterError, Faults, Phase, Timer};
use eos_model::config::Restart;
use eos_model::message::Request;
use eos_model::types::{Attempt, Value};
use eos_model::{Action, Config};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The application's view of one client: where its script is.
#[derive(Clone, Debug, Default)]
struct App {
    attempt: u8,
    /// The partition of every batch sent in this attempt.
    sent: Vec<u8>,
    /// Copier: the groups whose offsets it handed to this attempt (one sendOffsetsToTransaction each;
    /// the client refuses the next while the last is unacknowledged).
    offsets_handed: u8,
    last_phase: Option<Phase>,
}

impl App {
    /// Batches sent to `partition` in this attempt.
    fn batches_sent(&self, partition: u8) -> u8 {
        self.sent.iter().filter(|p| **p == partition).count() as u8
    }
}

/// The fault budgets left (the scenario's).
#[derive(Clone, Debug)]
struct Budget {
    losses: u8,
    duplicates: u8,
    marker_duplicates: u8,
    crashes: u8,
    failovers: u8,
    timeouts: u8,
    transactional_id_expirations: u8,
    txn_log_append_failures: u8,
    completion_append_failures: u8,
    group_rebalances: u8,
    batch_expirations: u8,
}

/// Something the scheduler may do next.
enum Op {
    Client(usize, ClientOp),
    Deliver(eos_broker::MessageId),
    Lose(eos_broker::MessageId),
    /// Deliver a client's coordinator request with the transaction-log append it prepares failing,
    /// or a marker answer with the completion it logs failing.
    DeliverFailingAppend(eos_broker::MessageId),
    /// The coordinator's transaction-log append in flight with this id completes
    /// (`broker.coordinator_append_round_trip`).
    CompleteAppend(u64),
    /// The coordinator's transaction-log append in flight with this id fails.
    FailAppend(u64),
    Fire(Timer),
    Failover,
    /// The coordinator expires the idle transactional id `txn-N`.
    ExpireTransactionalId(u8),
    /// The copier group rebalances: client `i`, its current member, rejoins.
    Rebalance(usize),
}

enum ClientOp {
    Start,
    Send(u8),
    SendOffsets,
    FetchOffsets,
    Commit,
    Abort,
    Crash,
}

struct Recorder<'a> {
    config: &'a Config,
    cluster: Cluster,
    apps: Vec<App>,
    budget: Budget,
}

impl Recorder<'_> {
    fn phase(&self, i: usize) -> Phase {
        self.cluster.client(ClientId(i)).map(|c| c.phase()).unwrap_or(Phase::Crashed)
    }

    /// Whether client `i` has started and has neither crashed nor failed fatally (the model's
    /// `Phase::is_alive`).
    fn is_alive(&self, i: usize) -> bool {
        !matches!(self.phase(i), Phase::Uninitialized | Phase::FatalError | Phase::Crashed)
    }

    fn script_partitions(&self, i: usize) -> Vec<u8> {
        let position = self.cluster.client(ClientId(i)).map(|c| c.position()).unwrap_or(0);
        if self.config.is_copier() {
            vec![u8::try_from(position % i64::from(self.config.partitions.count)).expect("few partitions")]
        } else {
            (0..self.config.partitions_per_transaction()).collect()
        }
    }

    fn script_done(&self, i: usize) -> bool {
        let app = &self.apps[i];
        if !self.config.producers.transactional {
            return self.script_partitions(i).iter().all(|p| self.all_batches_sent(i, *p));
        }
        let position = self.cluster.client(ClientId(i)).map(|c| c.position()).unwrap_or(0);
        let out_of_input = self.config.copier.as_ref().is_some_and(|c| position >= i64::from(c.input_records));
        out_of_input || app.attempt >= self.config.producers.transactions
    }

    fn all_batches_sent(&self, i: usize, partition: u8) -> bool {
        self.apps[i].batches_sent(partition) >= self.config.producers.batches_per_partition
    }

    /// Whether the application may hand client `i` its next batch for `partition`: as the model's
    /// script (`Client::can_send`), a later batch waits for the partition's AddPartitionsToTxn, a free
    /// in-flight slot, for no batch of the partition to wait for a retry, and for the partition's
    /// sequence not to be unresolved.
    fn may_send_batch(&self, i: usize, partition: u8) -> bool {
        let Ok(client) = self.cluster.client(ClientId(i)) else { return false };
        let to_partition = |m: &eos_broker::protocol::Message| match m {
            eos_broker::protocol::Message::Produce(r) => r.partition.partition == i32::from(partition),
            eos_broker::protocol::Message::AddPartitionsToTxn(r) => r.partition.partition == i32::from(partition),
            _ => false,
        };
        let pending: Vec<_> = client.outstanding().filter(|r| to_partition(&r.message)).collect();
        let first = self.apps[i].batches_sent(partition) == 0;
        let unresolved = client.is_unresolved(&eos_broker::TopicPartition::output(i32::from(partition)));
        first
            || (pending.iter().all(|r| !r.failed && matches!(r.message, eos_broker::protocol::Message::Produce(_)))
                && pending.len() < usize::from(self.config.producers.max_in_flight)
                && !unresolved)
    }

    fn may_start(&self, i: usize) -> bool {
        self.config.producers.restart == Restart::AnyTime
            || self.config.instance_of(i as u8) == 0
            || matches!(self.phase(i - 1), Phase::Crashed | Phase::FatalError)
    }

    fn client_ops(&self, i: usize, ops: &mut Vec<Op>) {
        let phase = self.phase(i);
        let app = &self.apps[i];
        let ready = matches!(phase, Phase::Ready | Phase::InTransaction);
        let p = &self.config.producers;
        if phase == Phase::Uninitialized && self.may_start(i) {
            ops.push(Op::Client(i, ClientOp::Start));
        }
        if ready && !self.script_done(i) {
            for partition in self.script_partitions(i) {
                if !self.all_batches_sent(i, partition) && self.may_send_batch(i, partition) {
                    ops.push(Op::Client(i, ClientOp::Send(partition)));
                }
            }
            if self.config.is_copier() && app.offsets_handed < self.config.group_count() {
                ops.push(Op::Client(i, ClientOp::SendOffsets));
            }
        }
        if phase == Phase::FetchingOffsets {
            ops.push(Op::Client(i, ClientOp::FetchOffsets));
        }
        let script_sent = self.script_partitions(i).iter().all(|p| self.all_batches_sent(i, *p));
        let offsets_ready = !self.config.is_copier() || app.offsets_handed == self.config.group_count();
        if phase == Phase::InTransaction && script_sent && offsets_ready {
            ops.push(Op::Client(i, ClientOp::Commit));
        }
        let outstanding = self.cluster.client(ClientId(i)).map_or(0, |c| c.outstanding().count());
        let abort_allowed = p.client_aborts && (p.abort_with_outstanding || outstanding == 0);
        if phase == Phase::AbortableError || (phase == Phase::InTransaction && abort_allowed) {
            ops.push(Op::Client(i, ClientOp::Abort));
        }
        let idle = phase == Phase::Ready && self.script_done(i);
        if self.budget.crashes > 0 && self.is_alive(i) && !idle {
            ops.push(Op::Client(i, ClientOp::Crash));
        }
    }

    fn ops(&self) -> Vec<Op> {
        let mut ops = Vec::new();
        for i in 0..self.apps.len() {
            self.client_ops(i, &mut ops);
        }
        for m in self.cluster.in_flight() {
            if !self.overtakes_earlier_batch(m) {
                ops.push(Op::Deliver(m.id));
            }
            if self.budget.losses > 0 {
                ops.push(Op::Lose(m.id));
            }
            let synchronous = !self.config.broker.coordinator_append_round_trip;
            if synchronous && self.budget.txn_log_append_failures > 0 && appends_to_transaction_log(&self.cluster, m) {
                ops.push(Op::DeliverFailingAppend(m.id));
            }
            if self.budget.completion_append_failures > 0 && is_successful_marker_answer(&self.cluster, m) {
                ops.push(Op::DeliverFailingAppend(m.id));
            }
        }
        for held in self.cluster.broker().appends_in_flight() {
            ops.push(Op::CompleteAppend(held.id));
            if self.budget.txn_log_append_failures > 0 {
                ops.push(Op::FailAppend(held.id));
            }
        }
        for (timer, _) in self.cluster.timers() {
            let allowed = match &timer {
                // A retry that would re-send nothing (every failed batch waits for an earlier one) is
                // no model action.
                Timer::ClientRetry { client } => self.cluster.client(*client).is_ok_and(|c| c.has_retriable_requests()),
                Timer::MarkerRetry { .. } => true,
                Timer::RequestTimeout { .. } => self.budget.duplicates > 0,
                Timer::DeliveryTimeout { .. } => self.budget.batch_expirations > 0,
                Timer::MarkerRequestTimeout { transactional_id, target } => {
                    self.budget.marker_duplicates > 0 && self.marker_undelivered(transactional_id.as_str(), target)
                }
                Timer::TransactionTimeout { transactional_id } => {
                    self.budget.timeouts > 0 || self.abandoned(transactional_id.as_str())
                }
            };
            if allowed {
                ops.push(Op::Fire(timer));
            }
        }
        if self.budget.failovers > 0 {
            ops.push(Op::Failover);
        }
        if self.budget.group_rebalances > 0 {
            let group = self.cluster.broker().group_coordinator().group(eos_broker::types::COPIER_GROUP);
            let member = group.and_then(|g| g.member_id.clone());
            if let Some(i) = (0..self.apps.len()).find(|i| member == Some(ClientId(*i).member_id())) {
                if self.is_alive(i) {
                    ops.push(Op::Rebalance(i));
                }
            }
        }
        if self.budget.transactional_id_expirations > 0 {
            for txn in 0..self.config.producers.transactional_ids {
                let idle = self.cluster.describe_transaction(&format!("txn-{txn}").into()).is_some_and(|t| {
                    t.pending_state.is_none()
                        && matches!(
                            t.state,
                            eos_broker::TxnState::Empty
                                | eos_broker::TxnState::CompleteCommit
                                | eos_broker::TxnState::CompleteAbort
                        )
                });
                if idle {
                    ops.push(Op::ExpireTransactionalId(txn));
                }
            }
        }
        ops
    }

    /// Whether delivering `m` would let a pipelined batch, or its answer, overtake an earlier batch
    /// of its partition (or that batch's answer) that its client still awaits (an outstanding
    /// request, not failed) and that is still on its way: the model keeps a connection's batches and
    /// their answers in order (specs/eos.md §9, [`eos_model::message::Message::precedes_on_connection`]),
    /// so the walk does too.
    fn overtakes_earlier_batch(&self, m: &eos_broker::InFlight) -> bool {
        if self.config.producers.max_in_flight <= 1 || m.correlation.is_none() {
            return false;
        }
        let client = match (&m.source, &m.destination) {
            (eos_broker::Endpoint::Client(client), _) | (_, eos_broker::Endpoint::Client(client)) => *client,
            _ => return false,
        };
        let Ok(message) = project::message(&self.cluster, m) else { return false };
        let Ok(c) = self.cluster.client(client) else { return false };
        let awaited = |id| c.outstanding().any(|r| r.id == id && !r.failed);
        self.cluster.in_flight().any(|earlier| {
            (&earlier.source, &earlier.destination) == (&m.source, &m.destination)
                && earlier.correlation.is_some_and(awaited)
                && project::message(&self.cluster, earlier).is_ok_and(|e| e.precedes_on_connection(&message))
        })
    }

    /// The marker of `txn` to `target` is still in flight, not yet delivered. The model re-sends a
    /// marker only then (specs/eos.md §9, `marker_duplicates`: a marker request that times out while
    /// its answer is on the way back is not modelled), so the walk fires the timer only then too.
    fn marker_undelivered(&self, txn: &str, target: &eos_broker::TopicPartition) -> bool {
        let (Some(txn), Ok(target)) =
            (txn.strip_prefix("txn-").and_then(|t| t.parse::<u8>().ok()), project::txn_partition(target))
        else {
            return false;
        };
        self.cluster.in_flight().any(|m| {
            matches!(
                project::message(&self.cluster, m),
                Ok(eos_model::message::Message::Marker(marker)) if marker.txn == txn && marker.target == target
            )
        })
    }

    /// No live client of `txn` can still end its ongoing transaction.
    fn abandoned(&self, txn: &str) -> bool {
        let Some(t) = self.cluster.describe_transaction(&txn.into()) else { return true };
        !(0..self.apps.len()).any(|i| {
            let Ok(c) = self.cluster.client(ClientId(i)) else { return false };
            let in_txn = matches!(
                c.phase(),
                Phase::InTransaction
                    | Phase::CommittingTransaction
                    | Phase::AbortingTransaction
                    | Phase::AbortableError
            );
            let same_id = c.config().transactional_id.as_ref().is_some_and(|id| id.as_str() == txn);
            in_txn && same_id && c.producer_id_and_epoch() == (t.producer_id, t.producer_epoch)
        })
    }

    fn value(&self, i: usize, partition: u8) -> Value {
        if self.config.is_copier() {
            let position = self.cluster.client(ClientId(i)).map(|c| c.position()).unwrap_or(0);
            Value::Copied { input: u8::try_from(position).expect("small input") }
        } else {
            let attempt = Attempt { producer: i as u8, index: self.apps[i].attempt };
            Value::Produced { attempt, partition, batch: self.apps[i].batches_sent(partition) }
        }
    }

    /// Performs `op`; the model action it is, if the implementation accepted it.
    fn perform(&mut self, op: Op) -> Option<Action> {
        let producer = |i: usize| i as u8;
        match op {
            Op::Client(i, op) => self.perform_client(i, &op).then(|| client_action(producer(i), &op)).flatten(),
            Op::Deliver(id) => {
                let message = project::message(&self.cluster, self.cluster.message(id)?).ok()?;
                self.cluster.deliver(id).ok()?;
                Some(Action::Deliver { message })
            }
            Op::Lose(id) => {
                let message = project::message(&self.cluster, self.cluster.message(id)?).ok()?;
                self.cluster.lose(id).ok()?;
                self.budget.losses -= 1;
                Some(Action::Lose { message })
            }
            Op::DeliverFailingAppend(id) => {
                let message = project::message(&self.cluster, self.cluster.message(id)?).ok()?;
                // A request that prepares nothing to append is delivered all the same.
                if !self.cluster.deliver_with_failed_append(id).ok()? {
                    return Some(Action::Deliver { message });
                }
                match message {
                    eos_model::message::Message::Request(request) => {
                        self.budget.txn_log_append_failures -= 1;
                        Some(Action::CoordinatorAppendFails { request })
                    }
                    eos_model::message::Message::MarkerResponse { marker, .. } => {
                        self.budget.completion_append_failures -= 1;
                        Some(Action::CompletionAppendFails { marker })
                    }
                    _ => None,
                }
            }
            Op::CompleteAppend(id) => {
                let request = self.held_request(id)?;
                self.cluster.complete_append(id).ok()?;
                Some(Action::CoordinatorAppendCompletes { request })
            }
            Op::FailAppend(id) => {
                let request = self.held_request(id)?;
                self.cluster.fail_append(id).ok()?;
                self.budget.txn_log_append_failures -= 1;
                Some(Action::CoordinatorAppendFails { request })
            }
            Op::Fire(timer) => self.fire(timer),
            Op::Failover => {
                self.cluster.coordinator_failover();
                self.budget.failovers -= 1;
                Some(Action::CoordinatorFailover)
            }
            Op::Rebalance(i) => {
                self.cluster.rebalance(ClientId(i)).ok()?;
                self.budget.group_rebalances -= 1;
                Some(Action::GroupRebalance { producer: producer(i) })
            }
            Op::ExpireTransactionalId(txn) => {
                self.cluster.expire_transactional_id(&format!("txn-{txn}").into()).ok()?;
                self.budget.transactional_id_expirations -= 1;
                Some(Action::CoordinatorExpireTransactionalId { txn })
            }
        }
    }

    /// The client request the coordinator's append in flight `id` answers, as the model's request.
    fn held_request(&self, id: u64) -> Option<Request> {
        let held = self.cluster.broker().appends_in_flight().iter().find(|h| h.id == id)?;
        project::held_request(&self.cluster, held).ok()
    }

    /// Client `client`'s outstanding request `id` as the model's request (without ghosts).
    fn outstanding_request(&self, client: ClientId, id: eos_broker::client::RequestId) -> Option<Request> {
        let outstanding = self.cluster.client(client).ok()?.outstanding().find(|r| r.id == id)?;
        let body = project::request_body(&outstanding.message).ok()?;
        Some(Request { from: client.0 as u8, attempt: 0, send: outstanding.resends, body })
    }

    fn fire(&mut self, timer: Timer) -> Option<Action> {
        let action = match &timer {
            Timer::ClientRetry { client } => Action::ProducerRetry { producer: client.0 as u8 },
            Timer::RequestTimeout { client, request } => {
                let request = self.outstanding_request(*client, *request)?;
                Action::ProducerRequestTimeout { producer: client.0 as u8, request }
            }
            Timer::DeliveryTimeout { client, request } => {
                let request = self.outstanding_request(*client, *request)?;
                Action::ProducerBatchExpires { producer: client.0 as u8, request }
            }
            Timer::TransactionTimeout { transactional_id } => {
                let txn = transactional_id.as_str().strip_prefix("txn-")?.parse().ok()?;
                if !self.abandoned(transactional_id.as_str()) {
                    self.budget.timeouts -= 1;
                }
                Action::CoordinatorTimeout { txn }
            }
            Timer::MarkerRetry { transactional_id } => {
                Action::CoordinatorRetryMarkers { txn: transactional_id.as_str().strip_prefix("txn-")?.parse().ok()? }
            }
            Timer::MarkerRequestTimeout { .. } => {
                // The marker is the one the timer re-sends: the same message as the original.
                let sent = self.cluster.fire(&timer).ok()?;
                let message = project::message(&self.cluster, self.cluster.message(*sent.first()?)?).ok()?;
                let eos_model::message::Message::Marker(marker) = message else { return None };
                self.budget.marker_duplicates -= 1;
                return Some(Action::CoordinatorResendMarker { marker });
            }
        };
        match timer {
            Timer::RequestTimeout { .. } => self.budget.duplicates -= 1,
            Timer::DeliveryTimeout { .. } => self.budget.batch_expirations -= 1,
            _ => {}
        }
        self.cluster.fire(&timer).ok()?;
        Some(action)
    }

    fn perform_client(&mut self, i: usize, op: &ClientOp) -> bool {
        let c = ClientId(i);
        let result: Result<(), ClusterError> = match op {
            ClientOp::Start => self.cluster.start(c).map(drop),
            ClientOp::Send(p) => {
                let value = self.value(i, *p);
                let sent = self.cluster.send(c, i32::from(*p), value.to_string()).map(drop);
                if sent.is_ok() {
                    self.apps[i].sent.push(*p);
                }
                sent
            }
            ClientOp::SendOffsets => {
                let position = self.cluster.client(c).map(|c| c.position()).unwrap_or(0);
                let handed = self.cluster.send_offsets(c, position + 1).map(drop);
                self.apps[i].offsets_handed += u8::from(handed.is_ok());
                handed
            }
            ClientOp::FetchOffsets => match self.cluster.fetch_offsets(c) {
                Err(ClusterError::Client(ClientError::UnstableOffsets(_))) => Ok(()),
                other => other.map(drop),
            },
            ClientOp::Commit => self.cluster.commit(c).map(drop),
            ClientOp::Abort => self.cluster.abort(c).map(drop),
            ClientOp::Crash => {
                let crashed = self.cluster.crash(c);
                self.budget.crashes -= u8::from(crashed.is_ok());
                crashed
            }
        };
        result.is_ok()
    }

    /// The application notices a transaction ended (the client left its transactional phases).
    fn follow_phases(&mut self) {
        for i in 0..self.apps.len() {
            let now = self.phase(i);
            let was = self.apps[i].last_phase.replace(now);
            let in_txn = |p: Phase| {
                matches!(
                    p,
                    Phase::InTransaction
                        | Phase::CommittingTransaction
                        | Phase::AbortingTransaction
                        | Phase::AbortableError
                )
            };
            if was.is_some_and(in_txn) && !in_txn(now) && !matches!(now, Phase::FatalError | Phase::Crashed) {
                let app = &mut self.apps[i];
                app.attempt += 1;
                app.sent.clear();
                app.offsets_handed = 0;
            }
        }
    }
}

/// Whether `m` is a client's coordinator request whose transition the coordinator appends to its
/// transaction log (InitProducerId of a transactional id, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn).
fn appends_to_transaction_log(cluster: &Cluster, m: &eos_broker::InFlight) -> bool {
    use eos_model::message::{Message, RequestBody};
    matches!(
        project::message(cluster, m),
        Ok(Message::Request(Request {
            body: RequestBody::InitProducerId { txn: Some(_), .. }
                | RequestBody::AddPartitionsToTxn { .. }
                | RequestBody::AddOffsetsToTxn { .. }
                | RequestBody::EndTxn { .. },
            ..
        }))
    )
}

/// Whether `m` is a leader's successful answer to a marker: the last one of a transaction logs its
/// completion.
fn is_successful_marker_answer(cluster: &Cluster, m: &eos_broker::InFlight) -> bool {
    use eos_model::message::Message;
    matches!(project::message(cluster, m), Ok(Message::MarkerResponse { error: eos_model::types::ErrorCode::None, .. }))
}

fn client_action(producer: u8, op: &ClientOp) -> Option<Action> {
    Some(match op {
        ClientOp::Start => Action::ProducerStart { producer },
        ClientOp::Send(partition) => Action::ProducerSend { producer, partition: *partition },
        ClientOp::SendOffsets => Action::ProducerSendOffsets { producer },
        ClientOp::FetchOffsets => Action::ProducerFetchOffsets { producer },
        ClientOp::Commit => Action::ProducerCommit { producer },
        ClientOp::Abort => Action::ProducerAbort { producer },
        ClientOp::Crash => Action::ProducerCrash { producer },
    })
}

/// Records a run of at most `steps` operations of the implementation under `config`, scheduled with
/// `seed`, with `faults` switched on in the implementation.
pub fn record(config: &Config, seed: u64, steps: usize, faults: Faults) -> Result<Trace, String> {
    let cluster = Cluster::try_new(cluster_config(config, faults)).map_err(|e| e.to_string())?;
    let f = &config.faults;
    let mut recorder = Recorder {
        config,
        cluster,
        apps: vec![App::default(); usize::from(config.producer_count())],
        budget: Budget {
            losses: f.losses,
            duplicates: f.duplicates,
            marker_duplicates: f.marker_duplicates,
            crashes: f.producer_crashes,
            failovers: f.coordinator_failovers,
            timeouts: f.timeouts,
            transactional_id_expirations: f.transactional_id_expirations,
            txn_log_append_failures: f.txn_log_append_failures,
            completion_append_failures: f.completion_append_failures,
            group_rebalances: f.group_rebalances,
            batch_expirations: f.batch_expirations,
        },
    };
    let mut renderings = project::Renderings::default();
    let mut observe = |r: &Recorder| project::observe(&r.cluster, config, &mut renderings).map_err(|e| e.to_string());
    let initial = observe(&recorder)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut recorded = Vec::new();
    let mut attempts = 0;
    while recorded.len() < steps && attempts < steps * 20 {
        attempts += 1;
        let mut ops = recorder.ops();
        if ops.is_empty() {
            break;
        }
        let op = ops.swap_remove(rng.random_range(0..ops.len()));
        if let Some(action) = recorder.perform(op) {
            recorder.follow_phases();
            recorded.push(Step { action, state: observe(&recorder)? });
        }
    }
    Ok(Trace::new(config, Origin::Implementation, initial, recorded).with_seed(Some(seed)))
}
