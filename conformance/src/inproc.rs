//! The `inproc` target: eos-broker's deterministic in-process cluster, driven one model action at a
//! time (specs/eos.md §10).
//!
//! Each model action becomes one implementation step: a client call, the delivery or loss of one
//! message, one timer, or a failover. The adapter keeps a link from every implementation message in
//! flight to the model message it corresponds to (paired when both sides put them in flight, by their
//! ghost-free form), so "deliver this model message" picks the right implementation message even when
//! two differ only in what the model tracks as ghost state.

use crate::clock::{self, TimerTable};
use crate::project::{self, Untranslatable};
use eos_broker::ClientError;
use eos_broker::{ClientConfig, ClientId, ClientRole, Cluster, ClusterConfig, ClusterError, Faults, MessageId, Timer};
use eos_model::config::{ClientVersion, Isolation, Protocol};
use eos_model::message::Message;
use eos_model::observe::Observation;
use eos_model::types::FIRST_PRODUCER_ID;
use eos_model::{Action, Config, State};
use std::collections::BTreeMap;

/// The implementation refused or could not perform a model action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Rejection(pub String);

impl From<ClusterError> for Rejection {
    fn from(e: ClusterError) -> Self {
        Rejection(e.to_string())
    }
}

/// The cluster configuration that realises the scenario `config`.
pub fn cluster_config(config: &Config, faults: Faults) -> ClusterConfig {
    let clients = (0..config.producer_count())
        .map(|i| ClientConfig {
            transactional_id: config.producers.transactional.then(|| format!("txn-{}", config.txn_id_of(i)).into()),
            role: if config.is_copier() { ClientRole::Copier } else { ClientRole::Producer },
            idempotence: config.guards.idempotence,
            offsets_in_transaction: config.guards.offsets_in_transaction,
            isolation: match config.guards.isolation {
                Isolation::ReadCommitted => eos_broker::IsolationLevel::ReadCommitted,
                Isolation::ReadUncommitted => eos_broker::IsolationLevel::ReadUncommitted,
            },
            transaction_timeout_ms: Some(clock::transaction_timeout_ms(i)),
            version: match config.producers.client {
                ClientVersion::Java4 => eos_broker::client::ClientVersion::Java4,
                ClientVersion::Legacy => eos_broker::client::ClientVersion::Legacy,
            },
            streams: config.producers.streams,
            max_in_flight: config.producers.max_in_flight,
            expires_batches: config.faults.batch_expirations > 0,
            kafka_14034: config.fixes.kafka_14034,
            ..ClientConfig::default()
        })
        .collect();
    ClusterConfig {
        protocol: match config.protocol {
            Protocol::Tv1 => eos_broker::ProtocolMode::Tv1,
            Protocol::Tv1Verified => eos_broker::ProtocolMode::Tv1Verified,
            Protocol::Tv2 => eos_broker::ProtocolMode::Tv2,
        },
        partitions: i32::from(config.partitions.count),
        input_records: config.copier.as_ref().map_or(0, |c| i64::from(c.input_records)),
        copier_groups: usize::from(config.group_count()),
        clients,
        fencing: config.guards.fencing,
        fixes: fixes(&config.fixes),
        first_producer_id: FIRST_PRODUCER_ID,
        request_timeout_ms: clock::REQUEST_TIMEOUT_MS,
        delivery_timeout_ms: clock::DELIVERY_TIMEOUT_MS,
        retry_backoff_ms: clock::RETRY_BACKOFF_MS,
        marker_retry_backoff_ms: clock::MARKER_RETRY_BACKOFF_MS,
        marker_request_timeout_ms: clock::MARKER_REQUEST_TIMEOUT_MS,
        max_producer_epoch: config.broker.max_producer_epoch,
        verification_round_trip: config.broker.verification_round_trip,
        coordinator_append_round_trip: config.broker.coordinator_append_round_trip,
        appends_durable_at_failover: config.broker.appends_durable_at_failover,
        faults,
        ..ClusterConfig::default()
    }
}

/// Whether eos-broker has the switch `fix` of the model's `[fixes]` (then a counterexample of the bug
/// replays as `reproduced`).
pub fn implements_fix(fix: &str) -> bool {
    matches!(
        fix,
        "kafka_19446"
            | "kafka_19999"
            | "kafka_18464"
            | "kafka_18660"
            | "kafka_19367"
            | "kafka_20090"
            | "kafka_20785"
            | "kafka_14884"
            | "kafka_19690"
            | "redpanda_3039"
            | "kafka_18202"
            | "kafka_5351"
            | "kafka_14920"
            | "kafka_14034"
    )
}

/// The implementation's switches for the fixes the scenario has on.
fn fixes(fixes: &eos_model::config::Fixes) -> eos_broker::config::Fixes {
    eos_broker::config::Fixes {
        kafka_19446: fixes.kafka_19446,
        kafka_19999: fixes.kafka_19999,
        kafka_18464: fixes.kafka_18464,
        kafka_18660: fixes.kafka_18660,
        kafka_19367: fixes.kafka_19367,
        kafka_20090: fixes.kafka_20090,
        kafka_20785: fixes.kafka_20785,
        kafka_14884: fixes.kafka_14884,
        kafka_19690: fixes.kafka_19690,
        redpanda_3039: fixes.redpanda_3039,
        kafka_18202: fixes.kafka_18202,
        kafka_5351: fixes.kafka_5351,
        kafka_14920: fixes.kafka_14920,
    }
}

/// eos-broker's in-process cluster under a model scenario.
pub struct InProc {
    config: Config,
    cluster: Cluster,
    /// Implementation message in flight → the model message it is.
    links: BTreeMap<MessageId, Message>,
    /// Messages in flight already rendered for observation.
    renderings: project::Renderings,
    /// Requests already rendered for naming their request timeouts.
    request_names: project::RequestNames,
}

impl InProc {
    /// A fresh cluster for `config` (under its protocol) with `faults` switched on.
    pub fn new(config: &Config, faults: Faults) -> Result<InProc, Rejection> {
        let cluster = Cluster::try_new(cluster_config(config, faults))?;
        Ok(InProc {
            config: config.clone(),
            cluster,
            links: BTreeMap::new(),
            renderings: project::Renderings::default(),
            request_names: project::RequestNames::default(),
        })
    }

    /// The cluster (for introspection).
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// The implementation's observable state in the model's terms.
    pub fn observe(&mut self) -> Result<Observation, Untranslatable> {
        project::observe(&self.cluster, &self.config, &mut self.renderings)
    }

    /// Hands the implementation the requests the model's clients never send (specs/eos.md §14.1) and
    /// returns what it did otherwise than §14.1 says ([`crate::malformed::check`]).
    pub fn check_malformed(&mut self) -> Vec<eos_model::observe::FieldDiff> {
        crate::malformed::check(&mut self.cluster)
    }

    /// Moves the implementation's clock to `now_ms` (specs/eos.md §10, "time"); it never goes back.
    pub fn set_clock(&mut self, now_ms: i64) {
        self.cluster.advance_clock(now_ms);
    }

    /// The implementation's armed timers and their deadlines, named as [`clock`] names them.
    pub fn timers(&mut self) -> Result<TimerTable, Untranslatable> {
        project::timers(&self.cluster, &mut self.request_names)
    }

    fn linked(&self, message: &Message) -> Result<MessageId, Rejection> {
        self.links
            .iter()
            .find(|(_, m)| *m == message)
            .map(|(id, _)| *id)
            .ok_or_else(|| Rejection(format!("the implementation has no message in flight for: {message}")))
    }

    fn txn_id(&self, txn: u8) -> eos_broker::TransactionalId {
        format!("txn-{txn}").into()
    }

    /// Applies `action`, taken by the model from `before` to `after`, at the implementation's
    /// current clock (a timer fires only if it is due: [`Cluster::fire_due`]).
    pub fn step(&mut self, before: &State, action: &Action, after: &State) -> Result<(), Rejection> {
        let client = |p: u8| ClientId(usize::from(p));
        match action {
            Action::ProducerStart { producer } => drop(self.cluster.start(client(*producer))?),
            Action::ProducerSend { producer, partition } => {
                let value = before.clients[usize::from(*producer)].value_for(&self.config, *producer, *partition);
                if self.config.is_copier() {
                    self.copier_reads(client(*producer), *partition, &value.to_string())?;
                }
                self.cluster.send(client(*producer), i32::from(*partition), value.to_string())?;
            }
            Action::ProducerSendOffsets { producer } => {
                let position = before.clients[usize::from(*producer)].position;
                self.cluster.send_offsets(client(*producer), i64::from(position) + 1)?;
            }
            Action::ProducerFetchOffsets { producer } => match self.cluster.fetch_offsets(client(*producer)) {
                Ok(_) | Err(ClusterError::Client(ClientError::UnstableOffsets(_))) => {}
                Err(e) => return Err(e.into()),
            },
            Action::ProducerCommit { producer } => drop(self.cluster.commit(client(*producer))?),
            Action::ProducerAbort { producer } => drop(self.cluster.abort(client(*producer))?),
            Action::ProducerRetry { producer } => {
                drop(self.cluster.fire_due(&Timer::ClientRetry { client: client(*producer) })?)
            }
            Action::ProducerRequestTimeout { producer, request } => {
                let id = self.outstanding_id(*producer, request)?;
                self.cluster.fire_due(&Timer::RequestTimeout { client: client(*producer), request: id })?;
            }
            Action::ProducerCrash { producer } => self.cluster.crash(client(*producer))?,
            Action::ProducerBatchExpires { producer, request } => {
                let id = self.awaited_id(*producer, request)?;
                drop(self.cluster.fire_due(&Timer::DeliveryTimeout { client: client(*producer), request: id })?)
            }
            Action::GroupRebalance { producer } => self.cluster.rebalance(client(*producer))?,
            Action::Deliver { message } => {
                let id = self.linked(message)?;
                self.links.remove(&id);
                self.cluster.deliver(id)?;
            }
            Action::CoordinatorAppendFails { request } if self.config.broker.coordinator_append_round_trip => {
                let append = self.held_append(request)?;
                self.cluster.fail_append(append)?;
            }
            Action::CoordinatorAppendFails { request } => {
                self.deliver_with_failed_append(Message::Request(*request))?
            }
            Action::CompletionAppendFails { marker } => {
                let error = eos_model::types::ErrorCode::None;
                self.deliver_with_failed_append(Message::MarkerResponse { marker: *marker, error })?
            }
            Action::CoordinatorAppendCompletes { request } => {
                let append = self.held_append(request)?;
                self.cluster.complete_append(append)?;
            }
            Action::Lose { message } => {
                let id = self.linked(message)?;
                self.links.remove(&id);
                self.cluster.lose(id)?;
            }
            Action::CoordinatorRetryMarkers { txn } => {
                drop(self.cluster.fire_due(&Timer::MarkerRetry { transactional_id: self.txn_id(*txn) })?)
            }
            Action::CoordinatorResendMarker { marker } => {
                let target = match marker.target {
                    eos_model::types::TxnPartition::Data(p) => eos_broker::TopicPartition::output(i32::from(p)),
                    eos_model::types::TxnPartition::Offsets => {
                        eos_broker::TopicPartition::group_offsets(eos_broker::types::COPIER_GROUP)
                    }
                };
                let timer = Timer::MarkerRequestTimeout { transactional_id: self.txn_id(marker.txn), target };
                drop(self.cluster.fire_due(&timer)?)
            }
            Action::CoordinatorTimeout { txn } => {
                drop(self.cluster.fire_due(&Timer::TransactionTimeout { transactional_id: self.txn_id(*txn) })?)
            }
            Action::CoordinatorFailover => drop(self.cluster.coordinator_failover()),
            Action::PartitionExpireProducer { partition, producer_id } => {
                let tp = eos_broker::TopicPartition::output(i32::from(*partition));
                self.cluster.expire_producer(&tp, *producer_id).map_err(|code| {
                    Rejection(format!("eos-broker refuses to expire pid {producer_id} on {tp}: {code}"))
                })?
            }
            Action::CoordinatorExpireTransactionalId { txn } => {
                let id = self.txn_id(*txn);
                self.cluster.expire_transactional_id(&id).map_err(|code| {
                    Rejection(format!("eos-broker refuses to expire the transactional id {id}: {code}"))
                })?
            }
            Action::GroupCompleteTransaction { .. } => {
                return Err(Rejection(
                    "eos-broker's group coordinator completes a transaction before it answers its marker \
                     (KAFKA-17507's fix): nothing is left to complete"
                        .to_string(),
                ))
            }
        }
        self.link_new_messages(after);
        Ok(())
    }

    /// A copier reads its next input record through the implementation's consumer (fetch from its
    /// position on `in-0`): it must be the record the model's script copies, to the same partition.
    fn copier_reads(&self, client: ClientId, partition: u8, value: &str) -> Result<(), Rejection> {
        let (read_partition, read_value) = self.cluster.copier_next(client)?;
        if (read_partition, read_value.as_str()) != (i32::from(partition), value) {
            return Err(Rejection(format!(
                "the copier read {read_value} for out-{read_partition}; the model copies {value} to out-{partition}"
            )));
        }
        Ok(())
    }

    /// Delivers `message` with the coordinator's next transaction-log append failing: a request's
    /// transition, or the completion the last marker answer logs. Refused if the delivery appends
    /// nothing.
    fn deliver_with_failed_append(&mut self, message: Message) -> Result<(), Rejection> {
        let id = self.linked(&message)?;
        self.links.remove(&id);
        if !self.cluster.deliver_with_failed_append(id)? {
            return Err(Rejection(format!("eos-broker appends nothing to its transaction log for {message}")));
        }
        Ok(())
    }

    /// The implementation's id of the transaction-log append in flight for the model's `request`.
    fn held_append(&self, request: &eos_model::message::Request) -> Result<u64, Rejection> {
        let wanted = project::without_ghosts(&Message::Request(*request));
        self.cluster
            .broker()
            .appends_in_flight()
            .iter()
            .find(|held| project::held_request(&self.cluster, held).is_ok_and(|r| Message::Request(r) == wanted))
            .map(|held| held.id)
            .ok_or_else(|| {
                Rejection(format!("eos-broker has no transaction-log append in flight for {}", request.body))
            })
    }

    /// The implementation's id of the outstanding, in-flight request the model names.
    fn outstanding_id(
        &self,
        producer: u8,
        request: &eos_model::message::Request,
    ) -> Result<eos_broker::client::RequestId, Rejection> {
        self.find_outstanding(producer, request, false)
    }

    /// The implementation's id of the outstanding request the model names, in flight or failed.
    fn awaited_id(
        &self,
        producer: u8,
        request: &eos_model::message::Request,
    ) -> Result<eos_broker::client::RequestId, Rejection> {
        self.find_outstanding(producer, request, true)
    }

    fn find_outstanding(
        &self,
        producer: u8,
        request: &eos_model::message::Request,
        failed_too: bool,
    ) -> Result<eos_broker::client::RequestId, Rejection> {
        let tm = self.cluster.client(ClientId(usize::from(producer)))?;
        tm.outstanding()
            .find(|r| {
                (failed_too || !r.failed)
                    && r.resends == request.send
                    && project::request_body(&r.message).ok().as_ref() == Some(&request.body)
            })
            .map(|r| r.id)
            .ok_or_else(|| Rejection(format!("producer-{producer} has no outstanding {}", request.body)))
    }

    /// Pairs the implementation's new messages in flight with the model's new ones.
    fn link_new_messages(&mut self, after: &State) {
        let in_flight: BTreeMap<MessageId, &eos_broker::InFlight> =
            self.cluster.in_flight().map(|m| (m.id, m)).collect();
        self.links.retain(|id, _| in_flight.contains_key(id));
        // The model's messages not yet linked: its network minus the linked ones.
        let mut unlinked: BTreeMap<Message, u8> = after.network.iter().map(|(m, n)| (*m, *n)).collect();
        for m in self.links.values() {
            if let Some(n) = unlinked.get_mut(m) {
                *n = n.saturating_sub(1);
            }
        }
        for (id, in_flight) in in_flight {
            if self.links.contains_key(&id) {
                continue;
            }
            let Ok(translated) = project::message(&self.cluster, in_flight) else { continue };
            let partner = unlinked.iter_mut().find(|(m, n)| **n > 0 && project::without_ghosts(m) == translated);
            if let Some((model_message, copies)) = partner {
                *copies -= 1;
                self.links.insert(id, *model_message);
            }
        }
    }
}
