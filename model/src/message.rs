//! The messages in flight between clients, the coordinator, partition leaders and the group coordinator
//! (specs/eos.md §3). The network is an unordered multiset of these.

use crate::collections::IndexSet;
use crate::types::*;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a client asks for. The fields are the request's wire fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum RequestBody {
    /// KIP-98 / KIP-360: `expected` is the client's current (pid, epoch) when it recovers.
    InitProducerId {
        txn: Option<TxnId>,
        expected: Option<(ProducerId, Epoch)>,
    },
    AddPartitionsToTxn {
        txn: TxnId,
        producer_id: ProducerId,
        epoch: Epoch,
        partition: PartitionIndex,
    },
    /// `group` is the consumer group whose offsets follow (absent from traces for `copier-group`).
    AddOffsetsToTxn {
        txn: TxnId,
        producer_id: ProducerId,
        epoch: Epoch,
        #[serde(default, skip_serializing_if = "is_first_group")]
        group: GroupIndex,
    },
    /// `txn` is set for a transactional batch; `producer_id` is `None` without idempotence.
    Produce {
        partition: PartitionIndex,
        txn: Option<TxnId>,
        producer_id: Option<ProducerId>,
        epoch: Epoch,
        sequence: Sequence,
        value: Value,
    },
    TxnOffsetCommit {
        txn: TxnId,
        producer_id: ProducerId,
        epoch: Epoch,
        #[serde(default, skip_serializing_if = "is_first_group")]
        group: GroupIndex,
        generation: i32,
        offset: Offset,
    },
    OffsetCommit {
        generation: i32,
        offset: Offset,
    },
    EndTxn {
        txn: TxnId,
        producer_id: ProducerId,
        epoch: Epoch,
        commit: bool,
    },
}

/// Whether `group` is `copier-group`, which traces leave unnamed (as they did before there were more).
fn is_first_group(group: &GroupIndex) -> bool {
    *group == 0
}

/// `, group NAME` for a group other than `copier-group` (whose requests render as they always did).
struct OtherGroup(GroupIndex);

impl fmt::Display for OtherGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => Ok(()),
            g => write!(f, ", group {}", group_name(g)),
        }
    }
}

impl RequestBody {
    /// The request's API name.
    pub fn kind(&self) -> &'static str {
        match self {
            RequestBody::InitProducerId { .. } => "InitProducerId",
            RequestBody::AddPartitionsToTxn { .. } => "AddPartitionsToTxn",
            RequestBody::AddOffsetsToTxn { .. } => "AddOffsetsToTxn",
            RequestBody::Produce { .. } => "Produce",
            RequestBody::TxnOffsetCommit { .. } => "TxnOffsetCommit",
            RequestBody::OffsetCommit { .. } => "OffsetCommit",
            RequestBody::EndTxn { .. } => "EndTxn",
        }
    }

    /// Whether the transaction cannot commit until this request is answered.
    pub fn blocks_commit(&self) -> bool {
        matches!(
            self,
            RequestBody::AddPartitionsToTxn { .. }
                | RequestBody::AddOffsetsToTxn { .. }
                | RequestBody::Produce { .. }
                | RequestBody::TxnOffsetCommit { .. }
        )
    }
}

/// A request as sent by producer instance `from`. `attempt` is the client's transaction attempt
/// counter when it sent it: with the fields it is the request's identity (Kafka's correlation id).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Request {
    /// The sender.
    pub from: ProducerIndex,
    /// The sender's attempt counter (ghost: identifies the transaction it belongs to).
    pub attempt: u8,
    /// Which send of the request this is: 0, then +1 at every request timeout, which re-sends it on
    /// a new connection (Kafka's correlation id), so that an answer to an earlier send is ignored.
    /// Traces written before request timeouts existed have only send 0.
    #[serde(default)]
    pub send: u8,
    /// What is asked.
    pub body: RequestBody,
}

/// The answer to a request. Fields a response kind does not have are `None`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Reply {
    /// The error code (`NONE` on success).
    pub error: ErrorCode,
    /// InitProducerId and EndTxn: the producer id.
    pub producer_id: Option<ProducerId>,
    /// InitProducerId and EndTxn: the epoch (tv2 EndTxn: the bumped one).
    pub epoch: Option<Epoch>,
    /// Produce: the record's offset (the original one for a duplicate).
    pub offset: Option<Offset>,
}

impl Reply {
    /// A reply with only an error code.
    pub fn error(error: ErrorCode) -> Reply {
        Reply { error, producer_id: None, epoch: None, offset: None }
    }
}

/// A transaction marker (WriteTxnMarkers for one partition).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Marker {
    /// Where it goes.
    pub target: TxnPartition,
    /// The transactional id it ends.
    pub txn: TxnId,
    /// The transaction's producer id.
    pub producer_id: ProducerId,
    /// The epoch the marker is written with (tv2: the bumped epoch).
    pub epoch: Epoch,
    /// COMMIT (true) or ABORT (false).
    pub commit: bool,
    /// The coordinator epoch of the coordinator that sent it.
    pub coordinator_epoch: i32,
    /// KIP-1228: the transaction version of the transaction it ends (1 or 2); a leader checks a
    /// version-2 marker's epoch strictly (specs/eos.md §5.2).
    pub transaction_version: u8,
    /// Ghost: the attempts whose transaction this marker ends.
    pub ends: IndexSet<Attempt>,
}

/// Anything in flight.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Message {
    /// Client to broker.
    Request(Request),
    /// Broker to client; names the request it answers.
    Response {
        /// The request answered.
        request: Request,
        /// The answer.
        reply: Reply,
    },
    /// Coordinator to leader.
    Marker(Marker),
    /// Leader to coordinator.
    MarkerResponse {
        /// The marker answered.
        marker: Marker,
        /// The leader's error code.
        error: ErrorCode,
    },
    /// Leader to coordinator (`broker.verification_round_trip`): verify (tv1-verified) or implicitly
    /// add (tv2) the partition of the Produce `request`, which the leader holds meanwhile (Kafka's
    /// `AddPartitionsToTxnManager` sends AddPartitionsToTxn with verifyOnly, or the tv2 add).
    Verify {
        /// The Produce held.
        request: Request,
        /// The verification guard the leader handed out when it started the verification.
        guard: u8,
    },
    /// Coordinator to leader: the answer to a [`Message::Verify`].
    VerifyResponse {
        /// The Produce held.
        request: Request,
        /// The verification guard of the Verify answered.
        guard: u8,
        /// The coordinator's answer, as the leader will pass it on.
        error: ErrorCode,
    },
}

impl Request {
    /// The partition a Produce goes to.
    pub fn produce_partition(&self) -> Option<PartitionIndex> {
        match self.body {
            RequestBody::Produce { partition, .. } => Some(partition),
            _ => None,
        }
    }

    /// Whether `self` is a batch its producer instance sent to the leader before `later` on the same
    /// connection: a Produce of the same instance, partition, producer id and epoch with a lower
    /// sequence (specs/eos.md §9: a leader takes one connection's requests in the order they were sent).
    pub fn is_earlier_batch_than(&self, later: &Request) -> bool {
        let RequestBody::Produce { partition, producer_id, epoch, sequence, .. } = self.body else { return false };
        self.from == later.from
            && matches!(later.body, RequestBody::Produce { partition: p, producer_id: pid, epoch: e, sequence: s, .. }
                if (p, pid, e) == (partition, producer_id, epoch) && sequence < s)
    }
}

impl Message {
    /// Whether `self` must reach its receiver before `later`: both are batches of one producer
    /// instance to the same partition's leader (or both their answers), and `self` carries (answers)
    /// the earlier sequence. A Kafka connection carries requests in the order they were sent and the
    /// leader answers them in that order (`SocketServer` handles one request of a channel at a time),
    /// and Java's client completes a connection's responses in the order of its requests
    /// (`NetworkClient`'s in-flight requests per node). specs/eos.md §9.
    pub fn precedes_on_connection(&self, later: &Message) -> bool {
        match (self, later) {
            (Message::Request(earlier), Message::Request(later))
            | (Message::Response { request: earlier, .. }, Message::Response { request: later, .. }) => {
                earlier.is_earlier_batch_than(later)
            }
            _ => false,
        }
    }
}

impl fmt::Display for RequestBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestBody::InitProducerId { txn, expected } => {
                write!(f, "InitProducerId(")?;
                match txn {
                    Some(t) => write!(f, "txn-{t}")?,
                    None => write!(f, "no txn id")?,
                }
                if let Some((pid, epoch)) = expected {
                    write!(f, ", expected pid {pid} epoch {epoch}")?;
                }
                write!(f, ")")
            }
            RequestBody::AddPartitionsToTxn { txn, producer_id, epoch, partition } => {
                write!(f, "AddPartitionsToTxn(txn-{txn} out-{partition}, pid {producer_id} epoch {epoch})")
            }
            RequestBody::AddOffsetsToTxn { txn, producer_id, epoch, group } => {
                write!(f, "AddOffsetsToTxn(txn-{txn}, pid {producer_id} epoch {epoch}{})", OtherGroup(*group))
            }
            RequestBody::Produce { partition, txn, producer_id, epoch, sequence, value } => {
                write!(f, "Produce(out-{partition} {value}")?;
                if let Some(pid) = producer_id {
                    write!(f, ", pid {pid} epoch {epoch} seq {sequence}")?;
                }
                if let Some(txn) = txn {
                    write!(f, ", transactional txn-{txn}")?;
                }
                write!(f, ")")
            }
            RequestBody::TxnOffsetCommit { txn, producer_id, epoch, group, generation, offset } => write!(
                f,
                "TxnOffsetCommit(txn-{txn} offset {offset}, pid {producer_id} epoch {epoch}, generation {generation}{})",
                OtherGroup(*group)
            ),
            RequestBody::OffsetCommit { generation, offset } => {
                write!(f, "OffsetCommit(offset {offset}, generation {generation})")
            }
            RequestBody::EndTxn { txn, producer_id, epoch, commit } => {
                let what = if *commit { "commit" } else { "abort" };
                write!(f, "EndTxn(txn-{txn} {what}, pid {producer_id} epoch {epoch})")
            }
        }
    }
}

impl fmt::Display for Marker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.commit { "COMMIT" } else { "ABORT" };
        write!(
            f,
            "{what} marker of txn-{} to {} (pid {} epoch {}, coordinator epoch {}, TV{})",
            self.txn, self.target, self.producer_id, self.epoch, self.coordinator_epoch, self.transaction_version
        )
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Message::Request(r) => write!(f, "producer-{} → {}", r.from, r.body),
            Message::Response { request, reply } => {
                write!(f, "{} response {} → producer-{}", request.body.kind(), reply.error, request.from)?;
                if let (Some(pid), Some(epoch)) = (reply.producer_id, reply.epoch) {
                    write!(f, " (pid {pid} epoch {epoch})")?;
                }
                if let Some(offset) = reply.offset {
                    write!(f, " (offset {offset})")?;
                }
                Ok(())
            }
            Message::Marker(m) => write!(f, "coordinator → {m}"),
            Message::MarkerResponse { marker, error } => {
                write!(f, "{} → coordinator: {error} for {marker}", marker.target)
            }
            Message::Verify { request, guard } => {
                let leader = request.produce_partition().map_or(0, u16::from);
                write!(f, "out-{leader} → coordinator: verify {} (guard {guard})", request.body)
            }
            Message::VerifyResponse { request, guard, error } => {
                let leader = request.produce_partition().map_or(0, u16::from);
                write!(f, "coordinator → out-{leader}: verification {error} for {} (guard {guard})", request.body)
            }
        }
    }
}

// One line each in the explorer and in counterexamples: the Display form plus the ghost fields.
impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "producer-{} #{}", self.from, self.attempt)?;
        if self.send > 0 {
            write!(f, " (send {})", self.send + 1)?;
        }
        write!(f, ": {}", self.body)
    }
}

impl fmt::Debug for Marker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self} ending {:?}", self.ends)
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Message::Request(r) => write!(f, "{r:?}"),
            Message::Marker(m) => write!(f, "coordinator → {m:?}"),
            other => write!(f, "{other}"),
        }
    }
}
