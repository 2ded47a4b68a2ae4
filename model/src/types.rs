//! The model's small domains: identifiers, record values, error codes (specs/eos.md §1 and §14).
//!
//! Identifiers are plain integers in small ranges (as in stateright's `2pc.rs`); the wire-sized ones
//! (producer id, epoch, sequence, offsets) use Kafka's integer widths so traces read like Kafka.

use serde::{Deserialize, Serialize};
use serde_with::{DeserializeFromStr, SerializeDisplay};
use std::fmt;
use std::str::FromStr;

/// A producer instance (a client process), `0..producers`.
pub type ProducerIndex = u8;
/// A data partition of topic `out`, `0..partitions`.
pub type PartitionIndex = u8;
/// A transactional id, `0..transactional_ids`; on the wire `"txn-{t}"`.
pub type TxnId = u8;
/// Kafka's producer id. Allocated in arrival order from [`FIRST_PRODUCER_ID`].
pub type ProducerId = i64;
/// Kafka's producer epoch; [`NO_EPOCH`] before the first InitProducerId.
pub type Epoch = i16;
/// A record's sequence number within (producer id, epoch, partition).
pub type Sequence = i32;
/// A log offset.
pub type Offset = i64;
/// A consumer group of the copier, `0..copier.groups`: `copier-group`, then `copier-group-{g}`.
pub type GroupIndex = u8;

/// How reports name group `group`: "the group" for `copier-group` (as before there were more),
/// "group copier-group-{g}" for another.
pub fn group_label(group: GroupIndex) -> String {
    match group {
        0 => "group".to_string(),
        g => format!("group {}", group_name(g)),
    }
}

/// The name of consumer group `group` (group 0 keeps the name it had before there were more).
pub fn group_name(group: GroupIndex) -> String {
    match group {
        0 => "copier-group".to_string(),
        g => format!("copier-group-{g}"),
    }
}

/// The first producer id the coordinator hands out (the implementation is configured to match).
pub const FIRST_PRODUCER_ID: ProducerId = 1000;
/// The epoch of a producer id that has not been initialised (Kafka's `NO_PRODUCER_EPOCH`).
pub const NO_EPOCH: Epoch = -1;
/// No producer id (Kafka's `NO_PRODUCER_ID`).
pub const NO_PRODUCER_ID: ProducerId = -1;

/// One transaction attempt of one producer instance: the identity a record, an offset commit and an
/// EndTxn are sent in. Ghost state: Kafka does not carry it; the model uses it to judge
/// `transaction_identity` and `atomicity`, and the client uses it as its correlation of responses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Attempt {
    /// The producer instance.
    pub producer: ProducerIndex,
    /// The instance's attempt counter (0 for its first transaction).
    pub index: u8,
}

impl crate::collections::Indexed for Attempt {
    fn index(self) -> u32 {
        debug_assert!(self.producer < 4 && self.index < 8, "attempt {self} outside the model's limits");
        u32::from(self.producer) * 8 + u32::from(self.index)
    }
    fn from_index(index: u32) -> Self {
        Attempt { producer: (index / 8) as u8, index: (index % 8) as u8 }
    }
}

impl crate::collections::Indexed for TxnPartition {
    fn index(self) -> u32 {
        match self {
            TxnPartition::Data(p) => u32::from(p),
            TxnPartition::Offsets => 31,
        }
    }
    fn from_index(index: u32) -> Self {
        match index {
            31 => TxnPartition::Offsets,
            p => TxnPartition::Data(p as u8),
        }
    }
}

impl fmt::Display for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p{}-t{}", self.producer, self.index)
    }
}

/// A record's value: what the application wrote. Rendered (and serialised) as in specs/eos.md §1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, SerializeDisplay, DeserializeFromStr)]
pub enum Value {
    /// `p{producer}-t{attempt}-o{partition}` (its first batch there) or
    /// `p{producer}-t{attempt}-o{partition}-b{batch}` (a later batch of a pipelined attempt): written by
    /// a plain transactional or idempotent producer.
    Produced {
        /// The producer instance and attempt.
        attempt: Attempt,
        /// The partition it was written to.
        partition: PartitionIndex,
        /// Which of the attempt's batches to that partition (0 for the first; see
        /// `producers.batches_per_partition`).
        batch: u8,
    },
    /// `in-{input}`: the copier's output for input record `input`.
    Copied {
        /// The input offset it copies.
        input: u8,
    },
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Produced { attempt, partition, batch: 0 } => write!(f, "{attempt}-o{partition}"),
            Value::Produced { attempt, partition, batch } => write!(f, "{attempt}-o{partition}-b{batch}"),
            Value::Copied { input } => write!(f, "in-{input}"),
        }
    }
}

/// A partition a transaction spans: a data partition or the group's offsets partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, SerializeDisplay, DeserializeFromStr)]
pub enum TxnPartition {
    /// `out-{p}`.
    Data(PartitionIndex),
    /// `__consumer_offsets-0`, where `copier-group` keeps its offsets.
    Offsets,
}

impl fmt::Display for TxnPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TxnPartition::Data(p) => write!(f, "out-{p}"),
            TxnPartition::Offsets => write!(f, "__consumer_offsets-0"),
        }
    }
}

impl FromStr for Value {
    type Err = String;
    /// Parses `p{i}-t{k}-o{p}`, `p{i}-t{k}-o{p}-b{b}` or `in-{n}`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("not an eos record value: `{s}` (expected p<i>-t<k>-o<p>[-b<b>] or in-<n>)");
        if let Some(input) = s.strip_prefix("in-") {
            return input.parse().map(|input| Value::Copied { input }).map_err(|_| bad());
        }
        let parts: Vec<&str> = s.split('-').collect();
        let number = |part: &str, prefix: char| part.strip_prefix(prefix).and_then(|n| n.parse::<u8>().ok());
        let (p, t, o, batch) = match parts.as_slice() {
            [p, t, o] => (p, t, o, Some(0)),
            // A first batch is never spelled with `-b0`, so every value has one spelling.
            [p, t, o, b] => (p, t, o, number(b, 'b').filter(|b| *b > 0)),
            _ => return Err(bad()),
        };
        match (number(p, 'p'), number(t, 't'), number(o, 'o'), batch) {
            (Some(producer), Some(index), Some(partition), Some(batch)) => {
                Ok(Value::Produced { attempt: Attempt { producer, index }, partition, batch })
            }
            _ => Err(bad()),
        }
    }
}

impl FromStr for TxnPartition {
    type Err = String;
    /// Parses `out-{p}` or `__consumer_offsets-0`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "__consumer_offsets-0" {
            return Ok(TxnPartition::Offsets);
        }
        s.strip_prefix("out-")
            .and_then(|p| p.parse().ok())
            .map(TxnPartition::Data)
            .ok_or_else(|| format!("not an eos transaction partition: `{s}`"))
    }
}

/// Kafka's error codes, as used by eos (specs/eos.md §14).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum ErrorCode {
    None,
    OutOfOrderSequenceNumber,
    InvalidProducerEpoch,
    InvalidTxnState,
    InvalidProducerIdMapping,
    InvalidTransactionTimeout,
    ConcurrentTransactions,
    TransactionCoordinatorFenced,
    IllegalGeneration,
    UnknownMemberId,
    UnstableOffsetCommit,
    ProducerFenced,
    TransactionAbortable,
    CoordinatorNotAvailable,
    NotCoordinator,
}

impl ErrorCode {
    /// Kafka's numeric code.
    pub fn code(self) -> i16 {
        match self {
            ErrorCode::None => 0,
            ErrorCode::CoordinatorNotAvailable => 15,
            ErrorCode::NotCoordinator => 16,
            ErrorCode::IllegalGeneration => 22,
            ErrorCode::UnknownMemberId => 25,
            ErrorCode::OutOfOrderSequenceNumber => 45,
            ErrorCode::InvalidProducerEpoch => 47,
            ErrorCode::InvalidTxnState => 48,
            ErrorCode::InvalidProducerIdMapping => 49,
            ErrorCode::InvalidTransactionTimeout => 50,
            ErrorCode::ConcurrentTransactions => 51,
            ErrorCode::TransactionCoordinatorFenced => 52,
            ErrorCode::UnstableOffsetCommit => 88,
            ErrorCode::ProducerFenced => 90,
            ErrorCode::TransactionAbortable => 120,
        }
    }

    /// Kafka's name, e.g. `PRODUCER_FENCED`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::None => "NONE",
            ErrorCode::OutOfOrderSequenceNumber => "OUT_OF_ORDER_SEQUENCE_NUMBER",
            ErrorCode::InvalidProducerEpoch => "INVALID_PRODUCER_EPOCH",
            ErrorCode::InvalidTxnState => "INVALID_TXN_STATE",
            ErrorCode::InvalidProducerIdMapping => "INVALID_PRODUCER_ID_MAPPING",
            ErrorCode::InvalidTransactionTimeout => "INVALID_TRANSACTION_TIMEOUT",
            ErrorCode::ConcurrentTransactions => "CONCURRENT_TRANSACTIONS",
            ErrorCode::TransactionCoordinatorFenced => "TRANSACTION_COORDINATOR_FENCED",
            ErrorCode::IllegalGeneration => "ILLEGAL_GENERATION",
            ErrorCode::UnknownMemberId => "UNKNOWN_MEMBER_ID",
            ErrorCode::UnstableOffsetCommit => "UNSTABLE_OFFSET_COMMIT",
            ErrorCode::ProducerFenced => "PRODUCER_FENCED",
            ErrorCode::TransactionAbortable => "TRANSACTION_ABORTABLE",
            ErrorCode::CoordinatorNotAvailable => "COORDINATOR_NOT_AVAILABLE",
            ErrorCode::NotCoordinator => "NOT_COORDINATOR",
        }
    }

    /// The error code with Kafka's numeric code `code`, if eos knows it.
    pub fn from_code(code: i16) -> Option<ErrorCode> {
        ALL_ERROR_CODES.iter().copied().find(|e| e.code() == code)
    }
}

/// Every error code eos uses, in code order.
pub const ALL_ERROR_CODES: [ErrorCode; 15] = [
    ErrorCode::None,
    ErrorCode::CoordinatorNotAvailable,
    ErrorCode::NotCoordinator,
    ErrorCode::IllegalGeneration,
    ErrorCode::UnknownMemberId,
    ErrorCode::OutOfOrderSequenceNumber,
    ErrorCode::InvalidProducerEpoch,
    ErrorCode::InvalidTxnState,
    ErrorCode::InvalidProducerIdMapping,
    ErrorCode::InvalidTransactionTimeout,
    ErrorCode::ConcurrentTransactions,
    ErrorCode::TransactionCoordinatorFenced,
    ErrorCode::UnstableOffsetCommit,
    ErrorCode::ProducerFenced,
    ErrorCode::TransactionAbortable,
];

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Error codes round-trip through Kafka's numeric codes, and the codes are distinct.
    #[test]
    fn error_codes_round_trip() {
        for e in ALL_ERROR_CODES {
            assert_eq!(ErrorCode::from_code(e.code()), Some(e));
        }
        assert_eq!(ErrorCode::from_code(-7), None);
    }

    /// Values render in the wire form of specs/eos.md §1.
    #[test]
    fn values_render_as_specified() {
        let attempt = Attempt { producer: 1, index: 2 };
        assert_eq!(Value::Produced { attempt, partition: 0, batch: 0 }.to_string(), "p1-t2-o0");
        assert_eq!(Value::Produced { attempt, partition: 0, batch: 1 }.to_string(), "p1-t2-o0-b1");
        assert_eq!(Value::Copied { input: 3 }.to_string(), "in-3");
        assert_eq!(TxnPartition::Offsets.to_string(), "__consumer_offsets-0");
        for text in ["p1-t2-o0", "p1-t2-o0-b1", "in-3"] {
            assert_eq!(text.parse::<Value>().unwrap().to_string(), text);
        }
        assert!("p1-t2".parse::<Value>().is_err());
        assert!("p1-t2-o0-b0".parse::<Value>().is_err(), "a first batch has one spelling");
        assert_eq!("out-2".parse::<TxnPartition>(), Ok(TxnPartition::Data(2)));
    }
}
