//! A deterministic in-process cluster (specs/eos.md section 10, "the step contract"): the broker
//! core, the clients, an explicit network of in-flight messages and a clock, wired together so
//! that a test or the conformance harness drives every step — a client operation, the delivery
//! or loss of one message, one timer, a coordinator failover — and nothing happens in between.
//! Within a step everything synchronous happens (a delivered request is handled and its
//! response and markers put in flight; a client reacting to a response sends at once).

pub mod config;
pub mod introspection;
pub mod network;
pub mod timers;

pub use config::ClusterConfig;
pub use introspection::{ClusterView, CoordinatorView, GroupView, PartitionView};
pub use network::{InFlight, MessageId, Network};
pub use timers::Timer;

use crate::broker::Broker;
use crate::client::{ClientConfig, ClientRequest, ClientRole, Consumer, Membership, RequestId, TransactionManager};
use crate::coordinator::CoordinatorTimer;
use crate::error::{ClientError, ClusterError, ErrorCode};
use crate::protocol::{Endpoint, Message, Outgoing, WriteTxnMarkerRequest};
use crate::storage::MemoryStorage;
use crate::types::{
    copier_group, ClientId, Offset, ProducerId, Record, TimestampMs, TopicPartition, TransactionalId, COPIER_GROUP,
};

/// The in-process cluster.
#[derive(Debug)]
pub struct Cluster {
    config: ClusterConfig,
    now_ms: TimestampMs,
    broker: Broker,
    clients: Vec<TransactionManager>,
    network: Network,
}

/// The ids of the messages a step put in flight.
pub type Sent = Vec<MessageId>;

impl Cluster {
    /// Builds the cluster: partitions `out-0..`, `in-0` pre-filled with `in-0`, `in-1`, ..., and
    /// one (unstarted) client per configured instance, on in-memory storage.
    /// Panics on a configuration [`ClusterConfig::validate`] rejects; see [`Self::try_new`].
    pub fn new(config: ClusterConfig) -> Self {
        Self::try_new(config).expect("a valid cluster configuration")
    }

    /// Builds the cluster, or says why the configuration cannot be run.
    pub fn try_new(config: ClusterConfig) -> Result<Self, ClusterError> {
        config.validate().map_err(ClusterError::InvalidConfig)?;
        let mut partitions: Vec<TopicPartition> = (0..config.partitions).map(TopicPartition::output).collect();
        partitions.push(TopicPartition::input());
        let mut broker = Broker::new(config.broker(), Box::new(MemoryStorage), partitions);
        for n in 0..config.input_records {
            broker
                .append_plain(&TopicPartition::input(), vec![Record::value(format!("in-{n}"))])
                .expect("the input partition accepts plain records");
        }
        let mut cluster =
            Self { config: config.clone(), now_ms: 0, broker, clients: Vec::new(), network: Network::default() };
        for client in config.clients {
            cluster.add_client(client);
        }
        Ok(cluster)
    }

    /// Adds a producer instance (e.g. a restart with the same transactional id); returns its id.
    pub fn add_client(&mut self, mut config: ClientConfig) -> ClientId {
        config.protocol = self.config.protocol;
        config.transaction_timeout_ms.get_or_insert(self.config.transaction_timeout_ms);
        config.retry_backoff_ms.get_or_insert(self.config.retry_backoff_ms);
        config.request_timeout_ms.get_or_insert(self.config.request_timeout_ms);
        config.delivery_timeout_ms.get_or_insert(self.config.delivery_timeout_ms);
        let id = ClientId(self.clients.len());
        let mut client = TransactionManager::new(id, config);
        client.set_faults(self.config.faults);
        self.clients.push(client);
        id
    }

    /// The configuration.
    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    /// The clock.
    pub fn now(&self) -> TimestampMs {
        self.now_ms
    }

    /// Moves the clock forward to `now_ms` (never back). Nothing fires by itself.
    pub fn advance_clock(&mut self, now_ms: TimestampMs) {
        self.now_ms = self.now_ms.max(now_ms);
    }

    /// The broker core.
    pub fn broker(&self) -> &Broker {
        &self.broker
    }

    /// Hands `message` from `source` to the broker outside the network, at the cluster's clock, and
    /// returns what the broker would send instead of sending it. For requests no client of the
    /// cluster makes (malformed ones, or from the wrong endpoint): conformance checks that they are
    /// refused and change nothing (specs/eos.md §14.1).
    pub fn handle_unsent(&mut self, source: Endpoint, message: Message) -> Vec<Outgoing> {
        self.broker.handle(self.now_ms, source, message)
    }

    /// A client.
    pub fn client(&self, client: ClientId) -> Result<&TransactionManager, ClusterError> {
        self.clients.get(client.0).ok_or(ClusterError::UnknownClient(client))
    }

    /// Every client.
    pub fn clients(&self) -> &[TransactionManager] {
        &self.clients
    }

    fn client_mut(&mut self, client: ClientId) -> Result<&mut TransactionManager, ClusterError> {
        self.clients.get_mut(client.0).ok_or(ClusterError::UnknownClient(client))
    }

    fn send_from(&mut self, client: ClientId, requests: Vec<ClientRequest>) -> Sent {
        requests
            .into_iter()
            .map(|ClientRequest { id, message, resends }| {
                let destination = Endpoint::destination_of(&message).expect("clients send requests");
                let outgoing = Outgoing { source: Endpoint::Client(client), destination, message };
                self.network.send_request(outgoing, Some(id), resends)
            })
            .collect()
    }

    /// Puts the broker's output in flight; a response to the client that sent the request being
    /// handled carries that request's correlation id.
    fn send_all(&mut self, outgoing: Vec<Outgoing>, answering: Option<(ClientId, RequestId)>) -> Sent {
        outgoing
            .into_iter()
            .map(|o| {
                let correlation = match (&o.destination, answering) {
                    (Endpoint::Client(to), Some((from, id))) if *to == from => Some(id),
                    _ => None,
                };
                self.network.send(o, correlation)
            })
            .collect()
    }

    /// Starts a client: InitProducerId (a copier joins the group first).
    pub fn start(&mut self, client: ClientId) -> Result<Sent, ClusterError> {
        let now = self.now_ms;
        let role = self.client(client)?.config().role;
        if self.client(client)?.phase() != crate::client::Phase::Uninitialized {
            return Err(ClientError::InvalidPhase { operation: "start", phase: self.client(client)?.phase() }.into());
        }
        let groups = if role == ClientRole::Copier { self.config.copier_groups } else { 0 };
        let memberships = (0..groups)
            .map(|index| {
                let (group, member_id) = (copier_group(index), client.member_id());
                let generation = self.broker.join_group(&group, &member_id);
                Membership { group, generation, member_id }
            })
            .collect();
        let requests = self.client_mut(client)?.start(now, memberships)?;
        Ok(self.send_from(client, requests))
    }

    /// Sends one record to partition `partition` of topic `out`.
    pub fn send(&mut self, client: ClientId, partition: i32, value: impl Into<Vec<u8>>) -> Result<Sent, ClusterError> {
        self.send_to(client, TopicPartition::output(partition), Record::value(value))
    }

    /// Sends one record to any partition.
    pub fn send_to(
        &mut self,
        client: ClientId,
        partition: TopicPartition,
        record: Record,
    ) -> Result<Sent, ClusterError> {
        if self.broker.partition(&partition).is_none() || partition.is_group_offsets() {
            return Err(ClusterError::UnknownPartition(partition));
        }
        let now = self.now_ms;
        let requests = self.client_mut(client)?.send(now, partition, record)?;
        Ok(self.send_from(client, requests))
    }

    /// Copier: the next input record at its position and the partition it goes to
    /// (`position mod partitions`), read through the consumer.
    pub fn copier_next(&self, client: ClientId) -> Result<(i32, String), ClusterError> {
        let position = self.client(client)?.position();
        let input = self.broker.partition(&TopicPartition::input()).expect("the input partition exists");
        let mut consumer = Consumer::new(self.client(client)?.config().isolation, position);
        let record = consumer
            .poll(input, 1)
            .ok()
            .and_then(|records| records.into_iter().next())
            .ok_or(ClientError::Unsupported { operation: "copier_next", reason: "the input is exhausted" })?;
        let partition = i32::try_from(record.offset % i64::from(self.config.partitions)).expect("partition fits i32");
        Ok((partition, record.record.value_text()))
    }

    /// Copier: commits consumed offset `offset` with the transaction.
    pub fn send_offsets(&mut self, client: ClientId, offset: Offset) -> Result<Sent, ClusterError> {
        let now = self.now_ms;
        let requests = self.client_mut(client)?.send_offsets(now, offset)?;
        Ok(self.send_from(client, requests))
    }

    /// Copier: OffsetFetch(require_stable), synchronous; returns its new position.
    pub fn fetch_offsets(&mut self, client: ClientId) -> Result<Offset, ClusterError> {
        let result =
            self.broker.offset_fetch(COPIER_GROUP, true).map(|offsets| offsets.get(&TopicPartition::input()).copied());
        Ok(self.client_mut(client)?.apply_offset_fetch(result)?)
    }

    /// Commits the client's transaction.
    pub fn commit(&mut self, client: ClientId) -> Result<Sent, ClusterError> {
        let now = self.now_ms;
        let requests = self.client_mut(client)?.commit(now)?;
        Ok(self.send_from(client, requests))
    }

    /// Aborts the client's transaction.
    pub fn abort(&mut self, client: ClientId) -> Result<Sent, ClusterError> {
        let now = self.now_ms;
        let requests = self.client_mut(client)?.abort(now)?;
        Ok(self.send_from(client, requests))
    }

    /// The copier group rebalances: the copier `client`, its current member, rejoins with the same
    /// member id and learns the new generation (specs/eos.md §6: an offset commit it sent before is
    /// then refused ILLEGAL_GENERATION).
    pub fn rebalance(&mut self, client: ClientId) -> Result<(), ClusterError> {
        let member_id = client.member_id();
        let group = self.broker.group_coordinator().group(COPIER_GROUP);
        let Some(group) = group.filter(|g| g.member_id.as_deref() == Some(member_id.as_str())) else {
            return Err(ClientError::Unsupported {
                operation: "rebalance",
                reason: "only the copier group's current member rejoins it",
            }
            .into());
        };
        // The client accepts the new generation before the group moves to it: a crashed or failed
        // member does not rejoin.
        let generation = group.generation + 1;
        self.client_mut(client)?.rejoined(COPIER_GROUP, generation)?;
        let joined = self.broker.join_group(COPIER_GROUP, &member_id);
        debug_assert_eq!(joined, generation, "a join bumps the generation by one");
        Ok(())
    }

    /// Crashes a client; its messages stay in flight and responses to it are discarded.
    pub fn crash(&mut self, client: ClientId) -> Result<(), ClusterError> {
        Ok(self.client_mut(client)?.crash()?)
    }

    /// The messages in flight, oldest first.
    pub fn in_flight(&self) -> impl Iterator<Item = &InFlight> {
        self.network.iter()
    }

    /// One message in flight.
    pub fn message(&self, id: MessageId) -> Option<&InFlight> {
        self.network.get(id)
    }

    /// The request `client` sent under correlation id `request` (what a response answers).
    pub fn request_of(&self, client: ClientId, request: crate::client::RequestId) -> Option<&Message> {
        self.network.request_of(client, request)
    }

    /// How many times request timeouts had re-sent the request `client` sent under `request`.
    pub fn resends_of(&self, client: ClientId, request: crate::client::RequestId) -> Option<u8> {
        self.network.resends_of(client, request)
    }

    /// Delivers one in-flight message: its receiver handles it and what it sends is put in flight.
    pub fn deliver(&mut self, id: MessageId) -> Result<Sent, ClusterError> {
        let InFlight { source, destination, message, correlation, .. } =
            self.network.take(id).ok_or(ClusterError::UnknownMessage(id))?;
        let now = self.now_ms;
        match destination {
            Endpoint::Client(client) => {
                let Some(correlation) = correlation else {
                    tracing::warn!(kind = message.kind(), "a response without a correlation id is dropped");
                    return Ok(Vec::new());
                };
                let requests = self.client_mut(client)?.handle_response(now, correlation, &message);
                Ok(self.send_from(client, requests))
            }
            Endpoint::Coordinator | Endpoint::Leader(_) | Endpoint::GroupCoordinator => {
                let answering = match (&source, correlation, &message) {
                    (Endpoint::Client(client), Some(id), _) => Some((*client, id)),
                    // The leader answers the Produce it held for its verification.
                    (_, _, Message::VerifyPartitionResponse(r)) => {
                        r.request.correlation.map(|id| (r.request.client, id))
                    }
                    _ => None,
                };
                let outgoing = self.broker.handle_correlated(now, source, correlation, message);
                Ok(self.send_all(outgoing, answering))
            }
        }
    }

    /// Loses one in-flight message: the requester learns its request failed.
    pub fn lose(&mut self, id: MessageId) -> Result<(), ClusterError> {
        let InFlight { source, destination, message, correlation, .. } =
            self.network.take(id).ok_or(ClusterError::UnknownMessage(id))?;
        let now = self.now_ms;
        let requester = if message.is_request() { source } else { destination };
        match (requester, message) {
            (Endpoint::Client(client), message) => match correlation {
                Some(request) => {
                    self.client_mut(client)?.request_lost(now, request);
                }
                None => tracing::warn!(kind = message.kind(), "lost a client message without a correlation id"),
            },
            (Endpoint::Coordinator, Message::WriteTxnMarker(marker)) => self.broker.marker_lost(now, &marker),
            (Endpoint::Coordinator, Message::WriteTxnMarkerResponse(response)) => {
                let marker = WriteTxnMarkerRequest {
                    target: response.target,
                    transactional_id: response.transactional_id,
                    producer_id: response.producer_id,
                    producer_epoch: response.producer_epoch,
                    commit: response.commit,
                    coordinator_epoch: response.coordinator_epoch,
                    transaction_version: response.transaction_version,
                };
                self.broker.marker_lost(now, &marker);
            }
            (requester, message) => {
                tracing::warn!(?requester, kind = message.kind(), "lost a message nobody waits for")
            }
        }
        Ok(())
    }

    /// Waits for one armed timer and fires it: the clock moves to its deadline if that is later.
    pub fn fire(&mut self, timer: &Timer) -> Result<Sent, ClusterError> {
        let deadline = self.timer_deadline(timer).ok_or_else(|| ClusterError::TimerNotArmed(timer.clone()))?;
        self.advance_clock(deadline);
        self.fire_now(timer)
    }

    /// Fires one armed timer that is due on the cluster's clock (its deadline is not later than
    /// now); a timer not yet due is refused. The conformance harness moves the clock itself and
    /// fires through here, so a timer whose deadline is later than specs/eos.md §10 says cannot fire.
    pub fn fire_due(&mut self, timer: &Timer) -> Result<Sent, ClusterError> {
        let deadline_ms = self.timer_deadline(timer).ok_or_else(|| ClusterError::TimerNotArmed(timer.clone()))?;
        if deadline_ms > self.now_ms {
            return Err(ClusterError::TimerNotDue { timer: timer.clone(), deadline_ms, now_ms: self.now_ms });
        }
        self.fire_now(timer)
    }

    fn fire_now(&mut self, timer: &Timer) -> Result<Sent, ClusterError> {
        let now = self.now_ms;
        match timer {
            Timer::ClientRetry { client } => {
                let requests = self.client_mut(*client)?.retry(now);
                Ok(self.send_from(*client, requests))
            }
            Timer::RequestTimeout { client, request } => {
                let duplicate = self.client_mut(*client)?.request_timeout(now, *request);
                Ok(self.send_from(*client, duplicate.into_iter().collect()))
            }
            Timer::DeliveryTimeout { client, request } => {
                // The batch is given up; if in flight it stays in flight and may still land (its
                // answer is ignored).
                self.client_mut(*client)?.expire_batch(now, *request)?;
                Ok(Vec::new())
            }
            Timer::TransactionTimeout { transactional_id } => {
                let outgoing =
                    self.broker.fire_timer(now, &CoordinatorTimer::TransactionTimeout(transactional_id.clone()));
                Ok(self.send_all(outgoing, None))
            }
            Timer::MarkerRetry { transactional_id } => {
                let outgoing = self.broker.fire_timer(now, &CoordinatorTimer::MarkerRetry(transactional_id.clone()));
                Ok(self.send_all(outgoing, None))
            }
            Timer::MarkerRequestTimeout { transactional_id, target } => {
                let timer = CoordinatorTimer::MarkerRequestTimeout(transactional_id.clone(), target.clone());
                let outgoing = self.broker.fire_timer(now, &timer);
                Ok(self.send_all(outgoing, None))
            }
        }
    }

    /// The leader of `partition` expires the producer state of `producer_id` (specs/eos.md §5.4);
    /// refused for a producer it does not know or that has a transaction open there.
    pub fn expire_producer(&mut self, partition: &TopicPartition, producer_id: ProducerId) -> Result<(), ErrorCode> {
        self.broker.expire_producer(partition, producer_id)
    }

    /// The coordinator expires the idle `transactional_id` (Dead, tombstone, forgotten: specs/eos.md
    /// §4.5); refused for an id that is unknown, has a transaction open or a transition pending.
    pub fn expire_transactional_id(&mut self, transactional_id: &TransactionalId) -> Result<(), ErrorCode> {
        self.broker.expire_transactional_id(self.now_ms, transactional_id)
    }

    /// Delivers the coordinator request `id` with its transaction-log append failing (specs/eos.md
    /// §4.5, fault `txn_log_append_failures`). Refused if the request prepares no transition to
    /// append (nothing failed): `Ok(false)`, with the request delivered all the same.
    pub fn deliver_with_failed_append(&mut self, id: MessageId) -> Result<bool, ClusterError> {
        self.broker.fail_next_txn_log_append();
        let delivered = self.deliver(id);
        let failed = !self.broker.txn_log_append_failure_armed();
        if !failed {
            self.broker.disarm_txn_log_append_failure();
        }
        delivered.map(|_| failed)
    }

    /// The coordinator's transaction-log append held as `append` (a [`crate::broker::HeldAppend`]'s id)
    /// completes (specs/eos.md §4.5, `coordinator_append_round_trip`): the answer, and a Prepare*'s
    /// markers, are put in flight.
    pub fn complete_append(&mut self, append: u64) -> Result<Sent, ClusterError> {
        let held = self.held_append(append)?;
        let outgoing = self.broker.complete_append(self.now_ms, append).ok_or(ClusterError::UnknownAppend(append))?;
        Ok(self.send_all(outgoing, held))
    }

    /// The coordinator's transaction-log append held as `append` fails (specs/eos.md §4.5): the
    /// client's COORDINATOR_NOT_AVAILABLE is put in flight.
    pub fn fail_append(&mut self, append: u64) -> Result<Sent, ClusterError> {
        let held = self.held_append(append)?;
        let outgoing = self.broker.fail_append(append).ok_or(ClusterError::UnknownAppend(append))?;
        Ok(self.send_all(vec![outgoing], held))
    }

    /// The client and correlation id a held append answers.
    fn held_append(&self, append: u64) -> Result<Option<(ClientId, RequestId)>, ClusterError> {
        let held = self.broker.appends_in_flight().iter().find(|h| h.id == append);
        let held = held.ok_or(ClusterError::UnknownAppend(append))?;
        Ok(held.correlation.map(|id| (held.client, id)))
    }

    /// Coordinator failover: a new coordinator epoch, the transaction log replayed, the markers of
    /// Prepare* transactions re-sent. Requests in flight to the coordinator reach the new one.
    pub fn coordinator_failover(&mut self) -> Sent {
        let outgoing = self.broker.coordinator_failover(self.now_ms);
        self.send_all(outgoing, None)
    }

    /// Test helper: delivers the oldest in-flight message until none is left or `max_steps`
    /// deliveries were made; returns how many were delivered.
    pub fn deliver_all(&mut self, max_steps: usize) -> usize {
        let mut steps = 0;
        while steps < max_steps {
            let Some(id) = self.network.iter().next().map(|m| m.id) else {
                break;
            };
            self.deliver(id).expect("the id was just listed");
            steps += 1;
        }
        steps
    }

    /// Test helper: fires every armed retry timer (client and marker), then delivers the oldest
    /// in-flight message, until the cluster is quiet or `max_steps` steps were taken; returns the
    /// steps taken. Retries first, so a CONCURRENT_TRANSACTIONS ping-pong cannot starve them.
    pub fn run_until_quiet(&mut self, max_steps: usize) -> usize {
        let mut steps = 0;
        while steps < max_steps {
            let retries: Vec<Timer> = self
                .timers()
                .into_iter()
                .map(|(timer, _)| timer)
                .filter(|t| matches!(t, Timer::ClientRetry { .. } | Timer::MarkerRetry { .. }))
                .collect();
            for timer in &retries {
                self.fire(timer).expect("the timer was just listed");
                steps += 1;
            }
            let oldest = self.network.iter().next().map(|m| m.id);
            match oldest {
                Some(id) => {
                    self.deliver(id).expect("the id was just listed");
                    steps += 1;
                }
                None if retries.is_empty() => break,
                None => {}
            }
        }
        steps
    }
}
