//! The messages of specs/eos.md section 3: client requests and their responses, and the
//! coordinator's WriteTxnMarker with its response (KIP-98, KIP-890). Every field of the spec is
//! here; a response carries the key fields that name the request it answers (section 3: "same
//! kind, same key fields"), which is how a client tells a response to a retry from a response to
//! something else.

use crate::error::ErrorCode;
use crate::types::{
    CoordinatorEpoch, Generation, Offset, ProducerEpoch, ProducerId, Record, Sequence, TopicPartition, TransactionalId,
};
use serde::{Deserialize, Serialize};

/// A producer id with its epoch (KIP-360's "expected" pair).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ProducerIdAndEpoch {
    /// Producer id.
    pub producer_id: ProducerId,
    /// Producer epoch.
    pub producer_epoch: ProducerEpoch,
}

/// InitProducerId: get (or bump) a producer id and epoch.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InitProducerIdRequest {
    /// The transactional id, or none for an idempotent non-transactional producer.
    pub transactional_id: Option<TransactionalId>,
    /// The transaction timeout the producer asks for.
    pub transaction_timeout_ms: i32,
    /// KIP-360: the producer's current (pid, epoch) when it asks for a bump after an error.
    pub expected: Option<ProducerIdAndEpoch>,
}

/// Answer to [`InitProducerIdRequest`]; `-1`/`-1` on error.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InitProducerIdResponse {
    /// Outcome.
    pub error: ErrorCode,
    /// The producer id to use.
    pub producer_id: ProducerId,
    /// The producer epoch to use.
    pub producer_epoch: ProducerEpoch,
}

/// AddPartitionsToTxn (tv1 modes): add a data partition to the ongoing transaction.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AddPartitionsToTxnRequest {
    /// The transactional id.
    pub transactional_id: TransactionalId,
    /// Producer id.
    pub producer_id: ProducerId,
    /// Producer epoch.
    pub producer_epoch: ProducerEpoch,
    /// The partition to add.
    pub partition: TopicPartition,
}

/// Answer to [`AddPartitionsToTxnRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AddPartitionsToTxnResponse {
    /// The partition the request added.
    pub partition: TopicPartition,
    /// Outcome.
    pub error: ErrorCode,
}

/// AddOffsetsToTxn (tv1 modes): add the group's offsets partition to the ongoing transaction.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AddOffsetsToTxnRequest {
    /// The transactional id.
    pub transactional_id: TransactionalId,
    /// Producer id.
    pub producer_id: ProducerId,
    /// Producer epoch.
    pub producer_epoch: ProducerEpoch,
    /// The consumer group whose offsets will be committed in the transaction.
    pub group: String,
}

/// Answer to [`AddOffsetsToTxnRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AddOffsetsToTxnResponse {
    /// Outcome.
    pub error: ErrorCode,
}

/// Produce: one record batch to one partition.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProduceRequest {
    /// The target partition.
    pub partition: TopicPartition,
    /// The producer's transactional id, if any.
    pub transactional_id: Option<TransactionalId>,
    /// Producer id, or -1 for a non-idempotent producer.
    pub producer_id: ProducerId,
    /// Producer epoch, or -1.
    pub producer_epoch: ProducerEpoch,
    /// Sequence of the batch's first record, or -1.
    pub sequence: Sequence,
    /// Whether the batch is part of a transaction.
    pub transactional: bool,
    /// The records (eos's client sends one per batch).
    pub records: Vec<Record>,
    /// Whether the client knows TRANSACTION_ABORTABLE (KIP-1050, newer Produce versions); a leader
    /// answers an older client INVALID_TXN_STATE instead.
    #[serde(default)]
    pub transaction_abortable: bool,
}

impl ProduceRequest {
    /// The sequence of the batch's last record.
    pub fn last_sequence(&self) -> Sequence {
        if self.sequence < 0 {
            return self.sequence;
        }
        let count = i32::try_from(self.records.len()).unwrap_or(i32::MAX);
        self.sequence.wrapping_add(count.saturating_sub(1))
    }
}

/// Answer to [`ProduceRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProduceResponse {
    /// The partition written.
    pub partition: TopicPartition,
    /// The request's (first) sequence.
    pub sequence: Sequence,
    /// Outcome.
    pub error: ErrorCode,
    /// Offset of the batch's first record (the original one for a duplicate), -1 on error.
    pub offset: Offset,
}

/// TxnOffsetCommit: commit consumed offsets inside the transaction (pending until its marker).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TxnOffsetCommitRequest {
    /// The transactional id.
    pub transactional_id: TransactionalId,
    /// Producer id.
    pub producer_id: ProducerId,
    /// Producer epoch.
    pub producer_epoch: ProducerEpoch,
    /// The consumer group.
    pub group: String,
    /// KIP-447: the generation the producer's consumer belongs to.
    pub generation: Generation,
    /// KIP-447: the member id of the producer's consumer.
    pub member_id: String,
    /// The consumed partition.
    pub partition: TopicPartition,
    /// The next offset to consume.
    pub offset: Offset,
    /// Whether the client knows TRANSACTION_ABORTABLE (KIP-1050).
    #[serde(default)]
    pub transaction_abortable: bool,
}

/// Answer to [`TxnOffsetCommitRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TxnOffsetCommitResponse {
    /// Outcome.
    pub error: ErrorCode,
}

/// OffsetCommit: a plain (non-transactional) offset commit.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OffsetCommitRequest {
    /// The consumer group.
    pub group: String,
    /// The generation of the committing member.
    pub generation: Generation,
    /// The committing member.
    pub member_id: String,
    /// The consumed partition.
    pub partition: TopicPartition,
    /// The next offset to consume.
    pub offset: Offset,
}

/// Answer to [`OffsetCommitRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OffsetCommitResponse {
    /// Outcome.
    pub error: ErrorCode,
}

/// EndTxn: commit or abort the ongoing transaction.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EndTxnRequest {
    /// The transactional id.
    pub transactional_id: TransactionalId,
    /// Producer id.
    pub producer_id: ProducerId,
    /// Producer epoch.
    pub producer_epoch: ProducerEpoch,
    /// Commit (true) or abort (false).
    pub commit: bool,
}

/// Answer to [`EndTxnRequest`]: tv2 returns the bumped epoch, tv1 the request's; -1/-1 on error.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EndTxnResponse {
    /// The request's result (commit or abort).
    pub commit: bool,
    /// Outcome.
    pub error: ErrorCode,
    /// The producer id to use from now on.
    pub producer_id: ProducerId,
    /// The producer epoch to use from now on.
    pub producer_epoch: ProducerEpoch,
}

/// WriteTxnMarker: coordinator to a partition leader (or the group coordinator).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WriteTxnMarkerRequest {
    /// The partition that gets the marker.
    pub target: TopicPartition,
    /// The transaction's id (for routing the answer).
    pub transactional_id: TransactionalId,
    /// Producer id of the transaction.
    pub producer_id: ProducerId,
    /// Producer epoch of the marker (the coordinator's current one, after any bump).
    pub producer_epoch: ProducerEpoch,
    /// COMMIT (true) or ABORT (false).
    pub commit: bool,
    /// The sending coordinator's epoch.
    pub coordinator_epoch: CoordinatorEpoch,
    /// KIP-1228: the transaction version of the transaction the marker ends (1 or 2); the leader
    /// checks a version-2 marker's epoch strictly.
    #[serde(default = "legacy_transaction_version")]
    pub transaction_version: i16,
}

fn legacy_transaction_version() -> i16 {
    1
}

/// Answer to [`WriteTxnMarkerRequest`]: the request's fields and an error.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WriteTxnMarkerResponse {
    /// The partition that got the marker.
    pub target: TopicPartition,
    /// The transaction's id.
    pub transactional_id: TransactionalId,
    /// Producer id of the transaction.
    pub producer_id: ProducerId,
    /// Producer epoch of the marker.
    pub producer_epoch: ProducerEpoch,
    /// COMMIT (true) or ABORT (false).
    pub commit: bool,
    /// The coordinator epoch of the marker.
    pub coordinator_epoch: CoordinatorEpoch,
    /// The marker's transaction version (names the marker answered).
    #[serde(default = "legacy_transaction_version")]
    pub transaction_version: i16,
    /// Outcome.
    pub error: ErrorCode,
}

impl WriteTxnMarkerRequest {
    /// The response to this marker with `error`.
    pub fn respond(&self, error: ErrorCode) -> WriteTxnMarkerResponse {
        WriteTxnMarkerResponse {
            target: self.target.clone(),
            transactional_id: self.transactional_id.clone(),
            producer_id: self.producer_id,
            producer_epoch: self.producer_epoch,
            commit: self.commit,
            coordinator_epoch: self.coordinator_epoch,
            transaction_version: self.transaction_version,
            error,
        }
    }
}

/// Leader to coordinator, with the verification as a round trip (`verification_round_trip`): verify
/// (tv1-verified) or add (tv2) the partition of a Produce the leader holds meanwhile. Kafka's
/// `AddPartitionsToTxnManager` sends AddPartitionsToTxn (verifyOnly in tv1-verified) and keeps the
/// Produce in a callback; here the held Produce, its requester and its correlation id travel with the
/// request, so that the leader can answer the client when the verification comes back.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VerifyPartitionRequest {
    /// The Produce held.
    pub produce: ProduceRequest,
    /// Who sent it.
    pub client: crate::types::ClientId,
    /// The Produce's correlation id (its answer carries it).
    pub correlation: Option<crate::client::RequestId>,
    /// The verification guard the leader handed out when it started the verification.
    pub guard: u64,
}

/// Coordinator to leader: the answer to a [`VerifyPartitionRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VerifyPartitionResponse {
    /// The request answered.
    pub request: VerifyPartitionRequest,
    /// The coordinator's answer, as the leader passes it on to the client.
    pub error: ErrorCode,
}

/// Every message that travels between components.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum Message {
    InitProducerId(InitProducerIdRequest),
    InitProducerIdResponse(InitProducerIdResponse),
    AddPartitionsToTxn(AddPartitionsToTxnRequest),
    AddPartitionsToTxnResponse(AddPartitionsToTxnResponse),
    AddOffsetsToTxn(AddOffsetsToTxnRequest),
    AddOffsetsToTxnResponse(AddOffsetsToTxnResponse),
    Produce(ProduceRequest),
    ProduceResponse(ProduceResponse),
    TxnOffsetCommit(TxnOffsetCommitRequest),
    TxnOffsetCommitResponse(TxnOffsetCommitResponse),
    OffsetCommit(OffsetCommitRequest),
    OffsetCommitResponse(OffsetCommitResponse),
    EndTxn(EndTxnRequest),
    EndTxnResponse(EndTxnResponse),
    WriteTxnMarker(WriteTxnMarkerRequest),
    WriteTxnMarkerResponse(WriteTxnMarkerResponse),
    VerifyPartition(VerifyPartitionRequest),
    VerifyPartitionResponse(VerifyPartitionResponse),
}

/// The key fields that tie a client's request to its response (specs/eos.md section 3).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RequestKey {
    /// InitProducerId (one outstanding at a time).
    InitProducerId,
    /// AddPartitionsToTxn for a partition.
    AddPartitionsToTxn {
        /// The partition.
        partition: TopicPartition,
    },
    /// AddOffsetsToTxn.
    AddOffsetsToTxn,
    /// Produce of a sequence to a partition.
    Produce {
        /// The partition.
        partition: TopicPartition,
        /// The batch's first sequence.
        sequence: Sequence,
    },
    /// TxnOffsetCommit.
    TxnOffsetCommit,
    /// OffsetCommit.
    OffsetCommit,
    /// EndTxn with its result.
    EndTxn {
        /// Commit or abort.
        commit: bool,
    },
}

impl Message {
    /// Kafka's API name for this message kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InitProducerId(_) => "InitProducerId",
            Self::InitProducerIdResponse(_) => "InitProducerIdResponse",
            Self::AddPartitionsToTxn(_) => "AddPartitionsToTxn",
            Self::AddPartitionsToTxnResponse(_) => "AddPartitionsToTxnResponse",
            Self::AddOffsetsToTxn(_) => "AddOffsetsToTxn",
            Self::AddOffsetsToTxnResponse(_) => "AddOffsetsToTxnResponse",
            Self::Produce(_) => "Produce",
            Self::ProduceResponse(_) => "ProduceResponse",
            Self::TxnOffsetCommit(_) => "TxnOffsetCommit",
            Self::TxnOffsetCommitResponse(_) => "TxnOffsetCommitResponse",
            Self::OffsetCommit(_) => "OffsetCommit",
            Self::OffsetCommitResponse(_) => "OffsetCommitResponse",
            Self::EndTxn(_) => "EndTxn",
            Self::EndTxnResponse(_) => "EndTxnResponse",
            Self::WriteTxnMarker(_) => "WriteTxnMarker",
            Self::WriteTxnMarkerResponse(_) => "WriteTxnMarkerResponse",
            Self::VerifyPartition(_) => "VerifyPartition",
            Self::VerifyPartitionResponse(_) => "VerifyPartitionResponse",
        }
    }

    /// Whether this is a request (as opposed to a response).
    pub fn is_request(&self) -> bool {
        matches!(
            self,
            Self::InitProducerId(_)
                | Self::AddPartitionsToTxn(_)
                | Self::AddOffsetsToTxn(_)
                | Self::Produce(_)
                | Self::TxnOffsetCommit(_)
                | Self::OffsetCommit(_)
                | Self::EndTxn(_)
                | Self::WriteTxnMarker(_)
                | Self::VerifyPartition(_)
        )
    }

    /// For a client request, the key its response will carry.
    pub fn request_key(&self) -> Option<RequestKey> {
        Some(match self {
            Self::InitProducerId(_) => RequestKey::InitProducerId,
            Self::AddPartitionsToTxn(r) => RequestKey::AddPartitionsToTxn { partition: r.partition.clone() },
            Self::AddOffsetsToTxn(_) => RequestKey::AddOffsetsToTxn,
            Self::Produce(r) => RequestKey::Produce { partition: r.partition.clone(), sequence: r.sequence },
            Self::TxnOffsetCommit(_) => RequestKey::TxnOffsetCommit,
            Self::OffsetCommit(_) => RequestKey::OffsetCommit,
            Self::EndTxn(r) => RequestKey::EndTxn { commit: r.commit },
            _ => return None,
        })
    }

    /// For a response to a client, the key of the request it answers.
    pub fn answer_key(&self) -> Option<RequestKey> {
        Some(match self {
            Self::InitProducerIdResponse(_) => RequestKey::InitProducerId,
            Self::AddPartitionsToTxnResponse(r) => RequestKey::AddPartitionsToTxn { partition: r.partition.clone() },
            Self::AddOffsetsToTxnResponse(_) => RequestKey::AddOffsetsToTxn,
            Self::ProduceResponse(r) => RequestKey::Produce { partition: r.partition.clone(), sequence: r.sequence },
            Self::TxnOffsetCommitResponse(_) => RequestKey::TxnOffsetCommit,
            Self::OffsetCommitResponse(_) => RequestKey::OffsetCommit,
            Self::EndTxnResponse(r) => RequestKey::EndTxn { commit: r.commit },
            _ => return None,
        })
    }

    /// The error code of a response (None for requests).
    pub fn error(&self) -> Option<ErrorCode> {
        Some(match self {
            Self::InitProducerIdResponse(r) => r.error,
            Self::AddPartitionsToTxnResponse(r) => r.error,
            Self::AddOffsetsToTxnResponse(r) => r.error,
            Self::ProduceResponse(r) => r.error,
            Self::TxnOffsetCommitResponse(r) => r.error,
            Self::OffsetCommitResponse(r) => r.error,
            Self::EndTxnResponse(r) => r.error,
            Self::WriteTxnMarkerResponse(r) => r.error,
            Self::VerifyPartitionResponse(r) => r.error,
            _ => return None,
        })
    }
}

/// A component of the in-process cluster that sends or receives messages.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Endpoint {
    /// A client (producer instance).
    Client(crate::types::ClientId),
    /// The transaction coordinator.
    Coordinator,
    /// The leader of a data partition (topics `out` and `in`).
    Leader(TopicPartition),
    /// The group coordinator (leader of `__consumer_offsets-0`).
    GroupCoordinator,
}

impl Endpoint {
    /// Where a request to (or a marker for) `partition` goes.
    pub fn for_partition(partition: &TopicPartition) -> Self {
        if partition.is_group_offsets() {
            Self::GroupCoordinator
        } else {
            Self::Leader(partition.clone())
        }
    }

    /// The destination of a request; `None` for responses (they go back to the requester).
    pub fn destination_of(message: &Message) -> Option<Self> {
        Some(match message {
            Message::InitProducerId(_)
            | Message::AddPartitionsToTxn(_)
            | Message::AddOffsetsToTxn(_)
            | Message::EndTxn(_) => Self::Coordinator,
            Message::Produce(r) => Self::for_partition(&r.partition),
            Message::TxnOffsetCommit(_) | Message::OffsetCommit(_) => Self::GroupCoordinator,
            Message::WriteTxnMarker(r) => Self::for_partition(&r.target),
            Message::VerifyPartition(_) => Self::Coordinator,
            _ => return None,
        })
    }
}

/// A message leaving a component: where it goes and what it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outgoing {
    /// Sender.
    pub source: Endpoint,
    /// Receiver.
    pub destination: Endpoint,
    /// The message.
    pub message: Message,
}
