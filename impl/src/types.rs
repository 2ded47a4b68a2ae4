//! Identifiers and small value types shared by every component, with Kafka's wire sizes
//! (KIP-98): `i64` producer ids and offsets, `i16` producer epochs, `i32` sequences and
//! coordinator epochs. Names follow specs/eos.md section 1.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::{Arc, OnceLock};

/// A producer id (`i64` on the wire); [`NO_PRODUCER_ID`] means none.
pub type ProducerId = i64;
/// A producer epoch (`i16` on the wire); [`NO_PRODUCER_EPOCH`] means none.
pub type ProducerEpoch = i16;
/// A record sequence number (`i32` on the wire); [`NO_SEQUENCE`] means none.
pub type Sequence = i32;
/// A log offset.
pub type Offset = i64;
/// The transaction coordinator's epoch (the leader epoch of its transaction-log partition).
pub type CoordinatorEpoch = i32;
/// A consumer group generation.
pub type Generation = i32;
/// Milliseconds on the injected clock.
pub type TimestampMs = i64;

/// Kafka's `RecordBatch.NO_PRODUCER_ID`.
pub const NO_PRODUCER_ID: ProducerId = -1;
/// Kafka's `RecordBatch.NO_PRODUCER_EPOCH`.
pub const NO_PRODUCER_EPOCH: ProducerEpoch = -1;
/// Kafka's `RecordBatch.NO_SEQUENCE`.
pub const NO_SEQUENCE: Sequence = -1;
/// Kafka's largest producer epoch (`Short.MaxValue`).
pub const MAX_PRODUCER_EPOCH: ProducerEpoch = i16::MAX;

/// The topic the producers write and the copier outputs to.
pub const OUTPUT_TOPIC: &str = "out";
/// The topic the copier consumes (pre-filled, non-transactional).
pub const INPUT_TOPIC: &str = "in";
/// The internal topic that holds consumer-group offsets.
pub const GROUP_OFFSETS_TOPIC: &str = "__consumer_offsets";
/// The copier's consumer group (the first of its groups, the one it takes its position from).
pub const COPIER_GROUP: &str = "copier-group";

/// The name of the copier's consumer group `index`: [`COPIER_GROUP`], then `copier-group-{index}`.
pub fn copier_group(index: usize) -> String {
    match index {
        0 => COPIER_GROUP.to_owned(),
        i => format!("{COPIER_GROUP}-{i}"),
    }
}

/// A topic and a partition of it. Serialised as `"topic-partition"` (e.g. `"out-0"`), so it can
/// key a JSON map.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicPartition {
    /// Topic name (shared: cloning a partition does not allocate).
    pub topic: Arc<str>,
    /// Partition index within the topic.
    pub partition: i32,
}

impl TopicPartition {
    /// A partition of any topic.
    pub fn new(topic: impl AsRef<str>, partition: i32) -> Self {
        let topic = match topic.as_ref() {
            OUTPUT_TOPIC => interned(&OUTPUT, OUTPUT_TOPIC),
            INPUT_TOPIC => interned(&INPUT, INPUT_TOPIC),
            GROUP_OFFSETS_TOPIC => interned(&GROUP_OFFSETS, GROUP_OFFSETS_TOPIC),
            other => Arc::from(other),
        };
        Self { topic, partition }
    }

    /// Partition `p` of the data topic `out`.
    pub fn output(partition: i32) -> Self {
        Self::new(OUTPUT_TOPIC, partition)
    }

    /// Partition 0 of the copier's input topic `in`.
    pub fn input() -> Self {
        Self::new(INPUT_TOPIC, 0)
    }

    /// The offsets partition of a group. There is one offsets partition (`__consumer_offsets-0`),
    /// so every group maps to it (Kafka hashes the group id over the partitions).
    pub fn group_offsets(_group: &str) -> Self {
        Self::new(GROUP_OFFSETS_TOPIC, 0)
    }

    /// Whether this is a consumer-offsets partition (a marker to it goes to the group coordinator).
    pub fn is_group_offsets(&self) -> bool {
        &*self.topic == GROUP_OFFSETS_TOPIC
    }

    /// The topic name.
    pub fn topic(&self) -> &str {
        &self.topic
    }
}

impl fmt::Debug for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

static OUTPUT: OnceLock<Arc<str>> = OnceLock::new();
static INPUT: OnceLock<Arc<str>> = OnceLock::new();
static GROUP_OFFSETS: OnceLock<Arc<str>> = OnceLock::new();

/// The well-known topic names are allocated once and shared.
fn interned(cell: &OnceLock<Arc<str>>, name: &str) -> Arc<str> {
    cell.get_or_init(|| Arc::from(name)).clone()
}

impl Serialize for TopicPartition {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TopicPartition {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let (topic, partition) = text
            .rsplit_once('-')
            .ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not topic-partition")))?;
        let partition = partition.parse().map_err(serde::de::Error::custom)?;
        Ok(Self::new(topic, partition))
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A transactional id (`txn-{t}` in the scenarios); shared, so cloning does not allocate.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TransactionalId(pub Arc<str>);

impl TransactionalId {
    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for TransactionalId {
    fn from(value: &str) -> Self {
        Self(Arc::from(value))
    }
}

impl From<String> for TransactionalId {
    fn from(value: String) -> Self {
        Self(Arc::from(value))
    }
}

impl fmt::Debug for TransactionalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl fmt::Display for TransactionalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A client (producer instance) of the in-process cluster: index `i`, member id `producer-{i}`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientId(pub usize);

impl ClientId {
    /// The consumer-group member id of this instance.
    pub fn member_id(self) -> String {
        format!("producer-{}", self.0)
    }
}

impl fmt::Debug for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "client-{}", self.0)
    }
}

/// One record: an optional key and a value. Values in the scenarios are UTF-8 strings.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Record {
    /// Record key (used by the offsets partition; `None` for data records).
    pub key: Option<Vec<u8>>,
    /// Record value.
    pub value: Vec<u8>,
}

impl Record {
    /// A record with a value and no key.
    pub fn value(value: impl Into<Vec<u8>>) -> Self {
        Self { key: None, value: value.into() }
    }

    /// The value as text (lossy for non-UTF-8 bytes).
    pub fn value_text(&self) -> String {
        String::from_utf8_lossy(&self.value).into_owned()
    }
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.value_text())
    }
}

/// A consumer's isolation level (KIP-98).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IsolationLevel {
    /// Everything below the high watermark, aborted records included.
    ReadUncommitted,
    /// Only below the last stable offset, aborted records filtered out.
    ReadCommitted,
}

/// The outcome written by a transaction marker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TransactionResult {
    /// ABORT marker (control type 0).
    Abort,
    /// COMMIT marker (control type 1).
    Commit,
}

impl TransactionResult {
    /// COMMIT for `true`, ABORT for `false`.
    pub fn from_commit(commit: bool) -> Self {
        if commit {
            Self::Commit
        } else {
            Self::Abort
        }
    }

    /// Whether this is a COMMIT.
    pub fn is_commit(self) -> bool {
        self == Self::Commit
    }
}
