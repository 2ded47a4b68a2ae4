//! The client side (KIP-98, KIP-360, KIP-447, KIP-890 part 2): a transaction manager that follows
//! Java's `TransactionManager` phases (specs/eos.md section 7) — init, begin, send with
//! per-partition sequence numbers, send offsets, commit, abort, retries, the fatal vs abortable
//! error classification — for a plain producer or the consume-transform-produce copier, and a
//! consumer that filters aborted records at read_committed. Sans-IO: operations and responses go
//! in with the time, requests come out as messages.

pub mod consumer;
pub mod outstanding;
mod responses;
pub mod timers;
pub mod transaction_manager;
mod unresolved;

pub use consumer::{ConsumedRecord, Consumer};
pub use outstanding::{ClientRequest, OutstandingRequest, RequestId};
pub use timers::ClientTimer;
pub use transaction_manager::TransactionManager;

use crate::config::ProtocolMode;
use crate::types::{Generation, IsolationLevel, Offset, ProducerEpoch, ProducerId, TransactionalId};
use serde::{Deserialize, Serialize};

/// The client's phase (Java's `TransactionManager.State` plus eos's copier phases and Crashed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Phase {
    /// Not started.
    Uninitialized,
    /// InitProducerId sent.
    Initializing,
    /// Ready to begin a transaction (or, non-transactional, to send).
    Ready,
    /// A transaction is open.
    InTransaction,
    /// EndTxn(commit) sent.
    CommittingTransaction,
    /// EndTxn(abort) sent.
    AbortingTransaction,
    /// A request failed in a way that only an abort recovers from.
    AbortableError,
    /// The producer cannot continue (fenced, invalid state...).
    FatalError,
    /// The instance crashed; it does nothing more.
    Crashed,
    /// Copier: waiting for a stable OffsetFetch to learn its position.
    FetchingOffsets,
    /// Copier, offsets outside the transaction: OffsetCommit sent after EndTxn.
    CommittingOffsets,
}

/// What the client runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientRole {
    /// A producer writing its own records.
    #[default]
    Producer,
    /// The consume-transform-produce copier of topic `in` into topic `out`.
    Copier,
}

/// A client's settings (the seeds' guards among them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClientConfig {
    /// The transactional id, or none for a non-transactional producer.
    pub transactional_id: Option<TransactionalId>,
    /// Producer or copier.
    pub role: ClientRole,
    /// `enable.idempotence`: off means no producer id and no sequences (non-transactional only).
    pub idempotence: bool,
    /// Copier: commit offsets with TxnOffsetCommit inside the transaction (on) or with a plain
    /// OffsetCommit after EndTxn (off).
    pub offsets_in_transaction: bool,
    /// Isolation of the client's consumer.
    pub isolation: IsolationLevel,
    /// `transaction.timeout.ms` the client asks for (none: the cluster's default).
    pub transaction_timeout_ms: Option<i32>,
    /// `retry.backoff.ms`: how long after a request failed the retry timer re-sends it (none: the
    /// cluster's default).
    pub retry_backoff_ms: Option<i64>,
    /// `request.timeout.ms`: how long after a request was sent its request-timeout timer re-sends
    /// it (none: the cluster's default).
    pub request_timeout_ms: Option<i64>,
    /// `delivery.timeout.ms`: how long after a batch was made its delivery timeout may give it up,
    /// with `expires_batches` (none: the cluster's default).
    pub delivery_timeout_ms: Option<i64>,
    /// The protocol the cluster speaks (set by the cluster).
    pub protocol: ProtocolMode,
    /// Whose transaction manager this client follows.
    pub version: ClientVersion,
    /// The client runs under Kafka Streams, which treats a Produce answered INVALID_TXN_STATE as
    /// fatal (KAFKA-19690's symptom).
    pub streams: bool,
    /// `max.in.flight.requests.per.connection`: how many batches per partition the application
    /// pipelines. Above 1 the client tracks the last acknowledged sequence per partition, and an
    /// OUT_OF_ORDER_SEQUENCE_NUMBER for a batch that is not the next one is retried (specs 7).
    pub max_in_flight: u8,
    /// The application gives batches up by their delivery timeout (`delivery.timeout.ms`,
    /// [`TransactionManager::expire_batch`]): the client then also tracks the last acknowledged
    /// sequence per partition, which decides whether an unresolved sequence resolved (specs 7).
    pub expires_batches: bool,
    /// KAFKA-14034's proposed fix (apache/kafka#13796, not in Java): an idempotent producer's real
    /// sequence gap marks the partition's sequence unresolved and retries, instead of bumping the
    /// epoch at once and renumbering batches that may have landed.
    pub kafka_14034: bool,
}

/// The client behaviour (specs/eos.md section 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientVersion {
    /// Java's 4.x `TransactionManager`: a tv1 client bumps its epoch after any failed batch;
    /// INVALID_PRODUCER_ID_MAPPING is abortable and the abort skips EndTxn; TRANSACTION_ABORTABLE
    /// (KIP-1050) is known; an unexpected TxnOffsetCommit error is fatal.
    #[default]
    #[serde(rename = "java-4")]
    Java4,
    /// An older client: a tv1 client bumps only after OUT_OF_ORDER_SEQUENCE_NUMBER or
    /// INVALID_PRODUCER_EPOCH (and not after giving batches up), INVALID_PRODUCER_ID_MAPPING is
    /// fatal, TRANSACTION_ABORTABLE unknown, any TxnOffsetCommit error but fencing abortable.
    Legacy,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            transactional_id: None,
            role: ClientRole::Producer,
            idempotence: true,
            offsets_in_transaction: true,
            isolation: IsolationLevel::ReadCommitted,
            transaction_timeout_ms: None,
            retry_backoff_ms: None,
            request_timeout_ms: None,
            delivery_timeout_ms: None,
            protocol: ProtocolMode::Tv2,
            version: ClientVersion::Java4,
            streams: false,
            max_in_flight: 1,
            expires_batches: false,
            kafka_14034: false,
        }
    }
}

impl ClientConfig {
    /// A transactional producer.
    pub fn transactional(transactional_id: impl Into<TransactionalId>) -> Self {
        Self { transactional_id: Some(transactional_id.into()), ..Self::default() }
    }

    /// A transactional copier.
    pub fn copier(transactional_id: impl Into<TransactionalId>) -> Self {
        Self { role: ClientRole::Copier, ..Self::transactional(transactional_id) }
    }
}

/// The copier's membership of one consumer group (KIP-447 metadata sent with its offsets).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    /// The group.
    pub group: String,
    /// The generation it joined.
    pub generation: Generation,
    /// Its member id.
    pub member_id: String,
}

/// A client as specs section 11 observes it, plus its outstanding requests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientView {
    /// Phase.
    pub phase: Phase,
    /// Transactional id.
    pub transactional_id: Option<TransactionalId>,
    /// Producer id (-1 if none).
    pub producer_id: ProducerId,
    /// Producer epoch (-1 if none).
    pub producer_epoch: ProducerEpoch,
    /// Outstanding requests, oldest first.
    pub outstanding: Vec<OutstandingRequest>,
    /// Records held until their partition is added (tv1 modes), by partition.
    pub held_records: usize,
    /// Copier: the next input offset to copy.
    pub position: Offset,
    /// KIP-360: an epoch bump (InitProducerId with the current producer id and epoch) must precede
    /// the next transaction.
    pub epoch_bump_required: bool,
    /// The next sequence number per partition in the current epoch.
    pub sequences: std::collections::BTreeMap<crate::types::TopicPartition, crate::types::Sequence>,
    /// The last acknowledged sequence per partition in the current epoch (kept with pipelining or
    /// batch expiry).
    pub last_acked: std::collections::BTreeMap<crate::types::TopicPartition, crate::types::Sequence>,
    /// Partitions whose sequence is unresolved, with the sequence after the batch given up.
    pub unresolved: std::collections::BTreeMap<crate::types::TopicPartition, crate::types::Sequence>,
    /// The last error a response carried.
    pub last_error: Option<crate::error::ErrorCode>,
    /// tv1 modes: the partitions AddPartitionsToTxn acknowledged in the open transaction.
    pub added: std::collections::BTreeSet<crate::types::TopicPartition>,
    /// Java 4.x: the abort skips EndTxn (the last coordinator error was INVALID_PRODUCER_ID_MAPPING).
    pub skip_end_txn: bool,
    /// Copier: the generation it holds for each of its groups, in the order it joined them.
    pub generations: Vec<Generation>,
}
