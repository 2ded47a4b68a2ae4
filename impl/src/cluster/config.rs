//! The in-process cluster's configuration (specs/eos.md sections 1, 2 and 9): partitions of
//! topic `out`, the copier's input, the clients, the protocol, the guards, producer-id and epoch
//! limits, timeouts, and the seeded faults. Loadable with serde.

use crate::client::ClientConfig;
use crate::config::{BrokerConfig, Fixes, ProtocolMode};
use crate::mutation::Faults;
use crate::types::{ProducerEpoch, ProducerId, MAX_PRODUCER_EPOCH};
use serde::{Deserialize, Serialize};

/// Everything needed to build a [`super::Cluster`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClusterConfig {
    /// Protocol mode.
    pub protocol: ProtocolMode,
    /// Partitions of topic `out` (at least one).
    pub partitions: i32,
    /// Records pre-filled into `in-0` (`in-0`, `in-1`, ...).
    pub input_records: i64,
    /// The consumer groups a copier joins and commits its offsets to in each transaction:
    /// `copier-group`, then `copier-group-1`, ... (all on the one offsets partition).
    pub copier_groups: usize,
    /// One entry per producer instance, in index order.
    pub clients: Vec<ClientConfig>,
    /// The `fencing` guard.
    pub fencing: bool,
    /// First producer id handed out.
    pub first_producer_id: ProducerId,
    /// Largest producer epoch (small values exercise producer-id rotation).
    pub max_producer_epoch: ProducerEpoch,
    /// Transaction timeout of clients that do not set their own.
    pub transaction_timeout_ms: i32,
    /// The coordinator's maximum transaction timeout.
    pub max_transaction_timeout_ms: i32,
    /// The clients' request timeout (deadline of their RequestTimeout timers).
    pub request_timeout_ms: i64,
    /// The clients' delivery timeout (deadline of their DeliveryTimeout timers, armed for clients
    /// that expire batches).
    pub delivery_timeout_ms: i64,
    /// The clients' retry backoff (deadline of their ClientRetry timers).
    pub retry_backoff_ms: i64,
    /// The coordinator's marker retry backoff.
    pub marker_retry_backoff_ms: i64,
    /// How long the coordinator waits for a marker's answer before sending it again.
    pub marker_request_timeout_ms: i64,
    /// The leader's verification as a round trip (see [`BrokerConfig::verification_round_trip`]).
    pub verification_round_trip: bool,
    /// The coordinator's transaction-log append as a step of its own (see
    /// [`BrokerConfig::coordinator_append_round_trip`]): [`crate::Cluster::complete_append`] completes it.
    pub coordinator_append_round_trip: bool,
    /// Appends in flight at a failover had become durable (see
    /// [`BrokerConfig::appends_durable_at_failover`]).
    pub appends_durable_at_failover: bool,
    /// Kafka's fixes (all on by default).
    pub fixes: Fixes,
    /// Seeded faults (testing only).
    pub faults: Faults,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            protocol: ProtocolMode::Tv2,
            partitions: 2,
            input_records: 0,
            copier_groups: 1,
            clients: Vec::new(),
            fencing: true,
            first_producer_id: 1000,
            max_producer_epoch: MAX_PRODUCER_EPOCH,
            transaction_timeout_ms: 60_000,
            max_transaction_timeout_ms: 900_000,
            request_timeout_ms: 30_000,
            delivery_timeout_ms: 120_000,
            retry_backoff_ms: 100,
            marker_retry_backoff_ms: 100,
            marker_request_timeout_ms: 30_000,
            verification_round_trip: false,
            coordinator_append_round_trip: false,
            appends_durable_at_failover: false,
            fixes: Fixes::default(),
            faults: Faults::none(),
        }
    }
}

impl ClusterConfig {
    /// The broker's part.
    pub fn broker(&self) -> BrokerConfig {
        BrokerConfig {
            protocol: self.protocol,
            fencing: self.fencing,
            first_producer_id: self.first_producer_id,
            max_producer_epoch: self.max_producer_epoch,
            max_transaction_timeout_ms: self.max_transaction_timeout_ms,
            marker_retry_backoff_ms: self.marker_retry_backoff_ms,
            marker_request_timeout_ms: self.marker_request_timeout_ms,
            verification_round_trip: self.verification_round_trip,
            coordinator_append_round_trip: self.coordinator_append_round_trip,
            appends_durable_at_failover: self.appends_durable_at_failover,
            fixes: self.fixes,
            faults: self.faults,
        }
    }

    /// Checks the limits the cluster relies on.
    pub fn validate(&self) -> Result<(), String> {
        let checks = [
            (self.partitions >= 1, "partitions must be at least 1"),
            (self.input_records >= 0, "input_records must not be negative"),
            (self.copier_groups >= 1, "copier_groups must be at least 1"),
            (self.first_producer_id >= 0, "first_producer_id must not be negative"),
            (self.max_producer_epoch >= 2, "max_producer_epoch must be at least 2"),
            (self.transaction_timeout_ms > 0, "transaction_timeout_ms must be positive"),
            (self.max_transaction_timeout_ms > 0, "max_transaction_timeout_ms must be positive"),
            (self.request_timeout_ms >= 0, "request_timeout_ms must not be negative"),
            (self.delivery_timeout_ms >= 0, "delivery_timeout_ms must not be negative"),
            (self.retry_backoff_ms >= 0, "retry_backoff_ms must not be negative"),
            (self.marker_retry_backoff_ms >= 0, "marker_retry_backoff_ms must not be negative"),
            (self.marker_request_timeout_ms >= 0, "marker_request_timeout_ms must not be negative"),
        ];
        match checks.iter().find(|(ok, _)| !ok) {
            Some((_, reason)) => Err((*reason).to_owned()),
            None => Ok(()),
        }
    }
}
