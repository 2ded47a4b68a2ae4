//! Errors in two tiers (specs/eos.md section 13). [`ErrorCode`] is what goes on the wire: one
//! variant per Kafka error code, with Kafka's numeric code; every protocol answer carries one.
//! [`ClientError`] and [`ClusterError`] are API-misuse errors of the in-process client and cluster
//! (a call in the wrong phase, an unknown message id): values, never panics. Broken invariants are
//! assertions, never either of these.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A Kafka error code, mapped one-to-one to Kafka's numeric codes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// 0: success.
    None,
    /// 3: the partition does not exist here.
    UnknownTopicOrPartition,
    /// 15: the coordinator is not available (a failed transaction-log append).
    CoordinatorNotAvailable,
    /// 16: this broker is no longer the coordinator the request was handled by (a transaction-log
    /// append completed after a failover); the client looks the coordinator up and re-sends.
    NotCoordinator,
    /// 22: TxnOffsetCommit / OffsetCommit from a generation or member that is not the group's current one.
    IllegalGeneration,
    /// 25: the member id is not known to the group.
    UnknownMemberId,
    /// 42: a malformed request.
    InvalidRequest,
    /// 45: the sequence number is not the next one expected.
    OutOfOrderSequenceNumber,
    /// 47: a partition leader (or the group coordinator) saw an epoch older than the producer's current one.
    InvalidProducerEpoch,
    /// 48: the request is not valid in the transaction's current state.
    InvalidTxnState,
    /// 49: the producer id is not the one mapped to the transactional id.
    InvalidProducerIdMapping,
    /// 50: the transaction timeout is larger than the broker's maximum.
    InvalidTransactionTimeout,
    /// 51: another transition of this transactional id is in progress; retry.
    ConcurrentTransactions,
    /// 52: a marker from a coordinator older than the one that last wrote to this partition.
    TransactionCoordinatorFenced,
    /// 56: the storage under a log failed.
    KafkaStorageError,
    /// 88: OffsetFetch(require_stable) while transactional offsets are pending.
    UnstableOffsetCommit,
    /// 90: the coordinator saw an old producer epoch: the producer is fenced (fatal for the client).
    ProducerFenced,
    /// 120: KIP-890's abortable error; never produced by eos (INVALID_PRODUCER_EPOCH is used instead).
    TransactionAbortable,
}

impl ErrorCode {
    /// Kafka's numeric error code.
    pub fn code(self) -> i16 {
        match self {
            Self::None => 0,
            Self::UnknownTopicOrPartition => 3,
            Self::CoordinatorNotAvailable => 15,
            Self::NotCoordinator => 16,
            Self::IllegalGeneration => 22,
            Self::UnknownMemberId => 25,
            Self::InvalidRequest => 42,
            Self::OutOfOrderSequenceNumber => 45,
            Self::InvalidProducerEpoch => 47,
            Self::InvalidTxnState => 48,
            Self::InvalidProducerIdMapping => 49,
            Self::InvalidTransactionTimeout => 50,
            Self::ConcurrentTransactions => 51,
            Self::TransactionCoordinatorFenced => 52,
            Self::KafkaStorageError => 56,
            Self::UnstableOffsetCommit => 88,
            Self::ProducerFenced => 90,
            Self::TransactionAbortable => 120,
        }
    }

    /// The error for a Kafka numeric code, if eos knows it.
    pub fn from_code(code: i16) -> Option<Self> {
        Self::ALL.iter().copied().find(|error| error.code() == code)
    }

    /// Every error code eos knows, in numeric order.
    pub const ALL: [ErrorCode; 18] = [
        Self::None,
        Self::UnknownTopicOrPartition,
        Self::CoordinatorNotAvailable,
        Self::NotCoordinator,
        Self::IllegalGeneration,
        Self::UnknownMemberId,
        Self::InvalidRequest,
        Self::OutOfOrderSequenceNumber,
        Self::InvalidProducerEpoch,
        Self::InvalidTxnState,
        Self::InvalidProducerIdMapping,
        Self::InvalidTransactionTimeout,
        Self::ConcurrentTransactions,
        Self::TransactionCoordinatorFenced,
        Self::KafkaStorageError,
        Self::UnstableOffsetCommit,
        Self::ProducerFenced,
        Self::TransactionAbortable,
    ];

    /// Kafka's name for the code (`NONE`, `PRODUCER_FENCED`, ...), as used in specs/eos.md.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "NONE",
            Self::UnknownTopicOrPartition => "UNKNOWN_TOPIC_OR_PARTITION",
            Self::CoordinatorNotAvailable => "COORDINATOR_NOT_AVAILABLE",
            Self::NotCoordinator => "NOT_COORDINATOR",
            Self::IllegalGeneration => "ILLEGAL_GENERATION",
            Self::UnknownMemberId => "UNKNOWN_MEMBER_ID",
            Self::InvalidRequest => "INVALID_REQUEST",
            Self::OutOfOrderSequenceNumber => "OUT_OF_ORDER_SEQUENCE_NUMBER",
            Self::InvalidProducerEpoch => "INVALID_PRODUCER_EPOCH",
            Self::InvalidTxnState => "INVALID_TXN_STATE",
            Self::InvalidProducerIdMapping => "INVALID_PRODUCER_ID_MAPPING",
            Self::InvalidTransactionTimeout => "INVALID_TRANSACTION_TIMEOUT",
            Self::ConcurrentTransactions => "CONCURRENT_TRANSACTIONS",
            Self::TransactionCoordinatorFenced => "TRANSACTION_COORDINATOR_FENCED",
            Self::KafkaStorageError => "KAFKA_STORAGE_ERROR",
            Self::UnstableOffsetCommit => "UNSTABLE_OFFSET_COMMIT",
            Self::ProducerFenced => "PRODUCER_FENCED",
            Self::TransactionAbortable => "TRANSACTION_ABORTABLE",
        }
    }

    /// Whether this is success.
    pub fn is_none(self) -> bool {
        self == Self::None
    }
}

impl fmt::Debug for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.code())
    }
}

impl std::error::Error for ErrorCode {}

/// A call on the in-process client that its current phase does not allow, or that its settings
/// rule out. Returned as a value; the client's state is unchanged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The operation is not allowed in the client's phase.
    #[error("{operation} is not allowed in phase {phase:?}")]
    InvalidPhase {
        /// The operation attempted.
        operation: &'static str,
        /// The client's phase at the time.
        phase: crate::client::Phase,
    },
    /// The operation needs a transactional id (or a copier, or idempotence) that the client lacks.
    #[error("{operation} is not supported by this client: {reason}")]
    Unsupported {
        /// The operation attempted.
        operation: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// Commit was called while records or offsets are still unacknowledged.
    #[error("commit needs every record and the offsets acknowledged ({outstanding} outstanding)")]
    NotFlushed {
        /// Requests or held records still waiting.
        outstanding: usize,
    },
    /// OffsetFetch(require_stable) found pending transactional offsets; try again later.
    #[error("offsets are unstable: {0:?}")]
    UnstableOffsets(ErrorCode),
}

/// A cluster call with an argument that names nothing (an unknown message, client, or timer).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClusterError {
    /// No message with this id is in flight.
    #[error("no in-flight message {0:?}")]
    UnknownMessage(crate::cluster::MessageId),
    /// No transaction-log append with this id is in flight.
    #[error("no transaction-log append {0} is in flight")]
    UnknownAppend(u64),
    /// No client with this id.
    #[error("no client {0:?}")]
    UnknownClient(crate::types::ClientId),
    /// The timer is not armed.
    #[error("timer {0:?} is not armed")]
    TimerNotArmed(crate::cluster::Timer),
    /// The timer is armed but its deadline is later than the clock.
    #[error("timer {timer:?} is not due: its deadline is {deadline_ms} ms, the clock says {now_ms} ms")]
    TimerNotDue {
        /// The timer.
        timer: crate::cluster::Timer,
        /// Its deadline.
        deadline_ms: crate::types::TimestampMs,
        /// The clock.
        now_ms: crate::types::TimestampMs,
    },
    /// No such partition.
    #[error("no partition {0}")]
    UnknownPartition(crate::types::TopicPartition),
    /// The cluster configuration cannot be run.
    #[error("invalid cluster configuration: {0}")]
    InvalidConfig(String),
    /// The client refused the call.
    #[error(transparent)]
    Client(#[from] ClientError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_kafkas_and_round_trip() {
        // Proves the numeric codes are Kafka's and that code -> variant is one-to-one.
        assert_eq!(ErrorCode::ProducerFenced.code(), 90);
        assert_eq!(ErrorCode::ConcurrentTransactions.code(), 51);
        assert_eq!(ErrorCode::UnstableOffsetCommit.code(), 88);
        let mut codes: Vec<i16> = ErrorCode::ALL.iter().map(|e| e.code()).collect();
        let sorted = {
            let mut c = codes.clone();
            c.sort();
            c
        };
        assert_eq!(codes, sorted, "ALL is in numeric order");
        codes.dedup();
        assert_eq!(codes.len(), ErrorCode::ALL.len(), "codes are distinct");
        for error in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_code(error.code()), Some(error));
        }
        assert_eq!(ErrorCode::from_code(9999), None);
    }
}
