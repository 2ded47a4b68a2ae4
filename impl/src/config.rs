//! Broker settings: the protocol mode (tv1, tv1 with KIP-890 part 1 verification, tv2 = KIP-890
//! part 2), the fencing guard, producer-id allocation, epoch and timeout limits, and the seeded
//! faults (specs/eos.md section 2).

use crate::mutation::Faults;
use crate::types::{ProducerEpoch, ProducerId, MAX_PRODUCER_EPOCH};
use serde::{Deserialize, Serialize};

/// The transaction protocol version the cluster speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ProtocolMode {
    /// Classic KIP-98: AddPartitionsToTxn / AddOffsetsToTxn from the client; the epoch changes only
    /// at InitProducerId and fencing.
    #[serde(rename = "tv1")]
    Tv1,
    /// tv1 plus KIP-890 part 1: leaders verify with the coordinator before a producer's first
    /// transactional append to a partition.
    #[serde(rename = "tv1-verified")]
    Tv1Verified,
    /// KIP-890 part 2: implicit partition adds and an epoch bump at every EndTxn.
    #[serde(rename = "tv2")]
    Tv2,
}

impl ProtocolMode {
    /// Whether this is tv2 (epoch bump per transaction, implicit adds).
    pub fn is_tv2(self) -> bool {
        self == Self::Tv2
    }

    /// Whether the client sends AddPartitionsToTxn / AddOffsetsToTxn.
    pub fn client_adds_partitions(self) -> bool {
        !self.is_tv2()
    }

    /// The transaction version markers of this mode carry (KIP-1228).
    pub fn transaction_version(self) -> i16 {
        if self.is_tv2() {
            2
        } else {
            1
        }
    }

    /// The name used in specs/eos.md.
    pub fn name(self) -> &'static str {
        match self {
            Self::Tv1 => "tv1",
            Self::Tv1Verified => "tv1-verified",
            Self::Tv2 => "tv2",
        }
    }
}

/// Settings of the broker side (coordinator, leaders, group coordinator).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BrokerConfig {
    /// The protocol mode.
    pub protocol: ProtocolMode,
    /// The `fencing` guard: when off, no component compares producer epochs.
    pub fencing: bool,
    /// The first producer id handed out (ids are sequential from it).
    pub first_producer_id: ProducerId,
    /// The largest producer epoch (Kafka: 32767); an epoch at `max - 1` or above is exhausted.
    pub max_producer_epoch: ProducerEpoch,
    /// `transaction.max.timeout.ms`: InitProducerId above it gets INVALID_TRANSACTION_TIMEOUT.
    pub max_transaction_timeout_ms: i32,
    /// Delay before the marker-retry timer of a transaction with a failed marker is due.
    pub marker_retry_backoff_ms: i64,
    /// How long a marker request may go unanswered before the coordinator sends it again.
    pub marker_request_timeout_ms: i64,
    /// The leader's verification (tv1-verified) or implicit add (tv2) of a Produce as a round trip
    /// (Kafka's `AddPartitionsToTxnManager`): the leader holds the Produce, asks the coordinator with a
    /// message of its own, and appends when the answer comes back, behind the verification guard.
    /// Off: the call is synchronous inside the Produce's handling.
    pub verification_round_trip: bool,
    /// The coordinator's transaction-log append of a client request's transition as a step of its own
    /// (Kafka's `TransactionStateManager.appendTransactionToLog` and its callback): the request
    /// prepares its transition (pending) and is held; [`crate::broker::Broker::complete_append`]
    /// applies it and answers (NOT_COORDINATOR after a failover). Off: prepare, append and complete
    /// happen while the request is handled.
    pub coordinator_append_round_trip: bool,
    /// With `coordinator_append_round_trip`: an append in flight when the coordinator fails over had
    /// become durable before it, and only its callback is late: the new coordinator loads the record
    /// from the log, and the callback answers NOT_COORDINATOR
    /// ([`crate::coordinator::TransactionCoordinator::land_append`]). Off: such an append never lands.
    pub appends_durable_at_failover: bool,
    /// Kafka's fixes to its transaction protocol (all on unless a bug-museum scenario switches one off).
    pub fixes: Fixes,
    /// Seeded faults (testing only).
    pub faults: Faults,
}

/// Fixes Kafka made to its transaction protocol, each named by its JIRA issue (specs/eos.md §15). All
/// are on by default (Kafka trunk); switching one off brings its bug back, so that the conformance
/// harness can replay the model's counterexample of the bug against the implementation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct Fixes {
    /// KIP-1228: a TV2 marker must carry an epoch above the partition's.
    pub kafka_19446: bool,
    /// A TV2 marker at the partition's epoch with no open transaction is an idempotent retry.
    pub kafka_19999: bool,
    /// TV2 EndTxn answers a pending transition before checking the epoch.
    pub kafka_18464: bool,
    /// Epoch overflow in TV2: EndTxn answers the next producer id; AddPartitions checks a pending
    /// transition first.
    pub kafka_18660: bool,
    /// A coordinator fence bumps the epoch once in TV2.
    pub kafka_19367: bool,
    /// The fence's abort rotates the producer id when the epoch is exhausted.
    pub kafka_20090: bool,
    /// A commit racing a coordinator abort is answered PRODUCER_FENCED, not INVALID_TXN_STATE.
    pub kafka_20785: bool,
    /// KIP-890's verification guard: a Produce held for a verification round trip appends only if
    /// its verification is still the producer's (no marker or transactional append came in between).
    pub kafka_14884: bool,
    /// A verified batch's epoch is checked before its verification guard (INVALID_PRODUCER_EPOCH for
    /// a producer fenced meanwhile, not INVALID_TXN_STATE).
    pub kafka_19690: bool,
    /// Another broker's bug (redpanda-data/redpanda#3039): off, the leader keeps no duplicate window,
    /// so a retried batch older than the producer's last is answered OUT_OF_ORDER_SEQUENCE_NUMBER.
    pub redpanda_3039: bool,
    /// Transactions V2: a verified transactional batch from a producer the leader holds no batch of
    /// must start at sequence 0 (KAFKA-18202).
    pub kafka_18202: bool,
    /// A transaction-log append that fails clears the prepared transition (off: it stays pending).
    pub kafka_5351: bool,
    /// A verification in progress keeps the lowest sequence it was started for, and a batch above it
    /// is answered OUT_OF_ORDER_SEQUENCE_NUMBER until the verification ends (KAFKA-14920).
    pub kafka_14920: bool,
}

impl Default for Fixes {
    fn default() -> Self {
        Self {
            kafka_19446: true,
            kafka_19999: true,
            kafka_18464: true,
            kafka_18660: true,
            kafka_19367: true,
            kafka_20090: true,
            kafka_20785: true,
            kafka_14884: true,
            kafka_19690: true,
            redpanda_3039: true,
            kafka_18202: true,
            kafka_5351: true,
            kafka_14920: true,
        }
    }
}

impl Default for BrokerConfig {
    fn default() -> Self {
        Self {
            protocol: ProtocolMode::Tv2,
            fencing: true,
            first_producer_id: 1000,
            max_producer_epoch: MAX_PRODUCER_EPOCH,
            max_transaction_timeout_ms: 900_000,
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

impl BrokerConfig {
    /// Whether `epoch` is exhausted: the next bump must move to a new producer id.
    pub fn is_epoch_exhausted(&self, epoch: ProducerEpoch) -> bool {
        epoch >= self.max_producer_epoch.saturating_sub(1)
    }
}
