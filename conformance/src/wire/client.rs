//! The harness as the trace's clients: each model request is sent exactly as the trace has it (its
//! producer id matched to the broker's, epoch, sequence, transactional id, generation), built with
//! `kafka-protocol`'s request types and RecordBatch v2 encoder, and each response is read back in
//! the model's terms: error name, producer id, epoch, offset.

use super::error::WireError;
use super::group::Membership;
use super::mapping::Identities;
use super::names::Names;
use super::routes::{Links, Routes};
use super::versions::Versions;
use bytes::{Bytes, BytesMut};
use eos_model::config::ClientVersion;
use eos_model::message::{Reply, RequestBody};
use eos_model::types::{ErrorCode, GroupIndex, TxnId};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::offset_commit_request::{OffsetCommitRequestPartition, OffsetCommitRequestTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use kafka_protocol::messages::{
    AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, EndTxnRequest, GroupId, InitProducerIdRequest,
    OffsetCommitRequest, ProduceRequest, ProducerId as WireProducerId, TopicName, TransactionalId,
    TxnOffsetCommitRequest,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType};
use serde::Serialize;
use std::time::Duration;

/// What a response says, as the broker sent it (producer id not yet matched to the model's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawReply {
    /// Kafka's error code.
    pub error_code: i16,
    /// The producer id, when the response carries one and it is not -1.
    pub producer_id: Option<i64>,
    /// The epoch, when the response carries one and it is not -1.
    pub epoch: Option<i16>,
    /// The offset, when the response carries one and it is not -1.
    pub offset: Option<i64>,
}

/// A response as a client sees it, in the model's terms: what is compared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReplyView {
    /// The error's name (`NONE`, `PRODUCER_FENCED`, …).
    pub error: String,
    /// The producer id (the model's, or `kafka:{id}` for a broker id matched to none).
    pub producer_id: Option<String>,
    /// The epoch.
    pub epoch: Option<i16>,
    /// The offset.
    pub offset: Option<i64>,
}

/// Kafka's name of an error code, e.g. `INVALID_PRODUCER_EPOCH`.
pub fn error_name(code: i16) -> String {
    if let Some(known) = ErrorCode::from_code(code) {
        return known.name().to_string();
    }
    match ResponseError::try_from_code(code) {
        None => "NONE".to_string(),
        Some(ResponseError::Unknown(code)) => format!("UNKNOWN_ERROR_CODE_{code}"),
        Some(error) => upper_snake(&format!("{error:?}")),
    }
}

fn upper_snake(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 8);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// Which reply fields the wire response of `body` carries at the harness's API versions: a field
/// the response cannot carry is not compared (EndTxn before v5 returns no producer id or epoch).
fn carries(body: &RequestBody, versions: &Versions) -> (bool, bool) {
    match body {
        RequestBody::InitProducerId { .. } => (true, false),
        RequestBody::EndTxn { .. } => (versions.end_txn >= 5, false),
        RequestBody::Produce { .. } => (false, true),
        _ => (false, false),
    }
}

impl ReplyView {
    /// One short line: the error, then any producer id, epoch and offset.
    pub fn brief(&self) -> String {
        let mut out = self.error.clone();
        if let Some(pid) = &self.producer_id {
            out += &format!(" pid {pid}");
        }
        if let Some(epoch) = self.epoch {
            out += &format!(" epoch {epoch}");
        }
        if let Some(offset) = self.offset {
            out += &format!(" offset {offset}");
        }
        out
    }

    /// The model's reply, restricted to what the wire response carries.
    pub fn of_model(body: &RequestBody, reply: &Reply, versions: &Versions) -> ReplyView {
        let (identity, offset) = carries(body, versions);
        ReplyView {
            error: reply.error.name().to_string(),
            producer_id: reply.producer_id.filter(|_| identity).map(|p| p.to_string()),
            epoch: reply.epoch.filter(|_| identity),
            offset: reply.offset.filter(|_| offset),
        }
    }

    /// The broker's reply in the model's terms. A producer id neither side has matched yet is matched
    /// to the one the model expects (`expected`): this is where producer ids are learned.
    pub fn of_broker(raw: &RawReply, expected: &Reply, ids: &mut Identities) -> ReplyView {
        if let (Some(real), Some(model)) = (raw.producer_id, expected.producer_id) {
            ids.producer_ids.learn(model, real);
        }
        ReplyView {
            error: error_name(raw.error_code),
            producer_id: raw.producer_id.map(|p| ids.show_producer_id(p)),
            epoch: raw.epoch,
            offset: raw.offset,
        }
    }
}

/// What a client request needs besides the request: the trace's names, versions, routes and
/// identities, and the copier's group membership.
pub struct ClientContext<'a> {
    /// The trace's names.
    pub names: &'a Names,
    /// API versions.
    pub versions: &'a Versions,
    /// Where requests go.
    pub routes: &'a Routes,
    /// Matched identities.
    pub ids: &'a Identities,
    /// The transaction timeout each transactional id asks for.
    pub transaction_timeout: &'a dyn Fn(TxnId) -> Duration,
    /// The sender's memberships (member id, broker generation), by consumer group: the copier's.
    pub members: &'a [Membership],
    /// The produce request timeout.
    pub produce_timeout: Duration,
    /// Which client the trace's producers are (the request versions that tell the broker which
    /// errors it knows).
    pub client: ClientVersion,
}

impl ClientContext<'_> {
    fn real_pid(&self, model: i64) -> Result<i64, WireError> {
        self.ids.producer_ids.real(model).ok_or_else(|| {
            WireError::Broker(format!("producer id {model} has no broker producer id (no InitProducerId gave it)"))
        })
    }

    fn txn(&self, txn: TxnId) -> TransactionalId {
        TransactionalId(StrBytes::from_string(self.names.txn(txn)))
    }

    fn group(&self, group: GroupIndex) -> GroupId {
        GroupId(StrBytes::from_string(self.names.group(group)))
    }

    /// The sender's member id in `group` and the broker generation of the model's `generation`.
    fn membership(&self, group: GroupIndex, generation: i32) -> (StrBytes, i32) {
        let member = self.members.get(usize::from(group)).map_or(String::new(), |m| m.member_id.clone());
        let generations = self.ids.generations.get(&group);
        let real = generations.and_then(|g| g.real(i64::from(generation))).map_or(-1, |g| g as i32);
        (StrBytes::from_string(member), real)
    }
}

/// Sends `body` from one producer instance (its `links`) and waits for the response. A response
/// that says the broker is not ready (a coordinator still loading, a leader not elected yet) means
/// the request had no effect: it is sent again, as every Kafka client does, until `ready_by`.
pub fn send(
    links: &mut Links,
    cx: &ClientContext,
    body: &RequestBody,
    ready_by: std::time::Instant,
) -> Result<RawReply, WireError> {
    loop {
        let reply = send_once(links, cx, body)?;
        if !super::error::is_not_ready(reply.error_code) || std::time::Instant::now() >= ready_by {
            return Ok(reply);
        }
        std::thread::sleep(super::routes::POLL_INTERVAL);
    }
}

fn send_once(links: &mut Links, cx: &ClientContext, body: &RequestBody) -> Result<RawReply, WireError> {
    let v = cx.versions;
    let none = |error_code| RawReply { error_code, producer_id: None, epoch: None, offset: None };
    let positive = |x: i64| (x >= 0).then_some(x);
    match *body {
        RequestBody::InitProducerId { txn, expected } => {
            let mut r = InitProducerIdRequest::default();
            r.transactional_id = txn.map(|t| cx.txn(t));
            r.transaction_timeout_ms = txn.map_or(60_000, |t| millis((cx.transaction_timeout)(t)));
            let (pid, epoch) = match expected {
                Some((pid, epoch)) => (cx.real_pid(pid)?, epoch),
                None => (-1, -1),
            };
            r.producer_id = WireProducerId(pid);
            r.producer_epoch = epoch;
            let node = match txn {
                Some(t) => cx.routes.txn_coordinator(&cx.names.txn(t))?,
                None => cx.routes.any_node()?,
            };
            let response = links.to(cx.routes, node)?.call(&r, v.init_producer_id)?;
            Ok(RawReply {
                error_code: response.error_code,
                producer_id: positive(response.producer_id.0),
                epoch: (response.producer_epoch >= 0).then_some(response.producer_epoch),
                offset: None,
            })
        }
        RequestBody::AddPartitionsToTxn { txn, producer_id, epoch, partition } => {
            let mut topic = AddPartitionsToTxnTopic::default();
            topic.name = TopicName(StrBytes::from_string(cx.names.out()));
            topic.partitions = vec![i32::from(partition)];
            let mut r = AddPartitionsToTxnRequest::default();
            r.v3_and_below_transactional_id = cx.txn(txn);
            r.v3_and_below_producer_id = WireProducerId(cx.real_pid(producer_id)?);
            r.v3_and_below_producer_epoch = epoch;
            r.v3_and_below_topics = vec![topic];
            let version = v.add_partitions_to_txn.expect("tv1 modes send AddPartitionsToTxn");
            let node = cx.routes.txn_coordinator(&cx.names.txn(txn))?;
            let response = links.to(cx.routes, node)?.call(&r, version)?;
            let code = response
                .results_by_topic_v3_and_below
                .iter()
                .flat_map(|t| t.results_by_partition.iter())
                .find(|p| p.partition_index == i32::from(partition))
                .map_or(response.error_code, |p| p.partition_error_code);
            Ok(none(code))
        }
        RequestBody::AddOffsetsToTxn { txn, producer_id, epoch, group } => {
            let mut r = AddOffsetsToTxnRequest::default();
            r.transactional_id = cx.txn(txn);
            r.producer_id = WireProducerId(cx.real_pid(producer_id)?);
            r.producer_epoch = epoch;
            r.group_id = cx.group(group);
            let version = v.add_offsets_to_txn.expect("tv1 modes send AddOffsetsToTxn");
            let node = cx.routes.txn_coordinator(&cx.names.txn(txn))?;
            Ok(none(links.to(cx.routes, node)?.call(&r, version)?.error_code))
        }
        RequestBody::Produce { partition, txn, producer_id, epoch, sequence, value } => {
            let pid = match producer_id {
                Some(model) => cx.real_pid(model)?,
                None => -1,
            };
            let batch = record_batch(pid, epoch, sequence, txn.is_some(), value.to_string())?;
            let mut data = PartitionProduceData::default();
            data.index = i32::from(partition);
            data.records = Some(batch);
            let mut topic = TopicProduceData::default();
            topic.name = TopicName(StrBytes::from_string(cx.names.out()));
            topic.partition_data = vec![data];
            let mut r = ProduceRequest::default();
            r.transactional_id = txn.map(|t| cx.txn(t));
            r.acks = -1;
            r.timeout_ms = millis(cx.produce_timeout);
            r.topic_data = vec![topic];
            let node = cx.routes.leader(&cx.names.out(), i32::from(partition))?;
            let response = links.to(cx.routes, node)?.call(&r, v.produce_of(cx.client))?;
            let answer = response.responses.iter().flat_map(|t| t.partition_responses.iter()).next();
            let answer = answer.ok_or_else(|| WireError::Broker("a Produce response without the partition".into()))?;
            Ok(RawReply { offset: positive(answer.base_offset), ..none(answer.error_code) })
        }
        RequestBody::TxnOffsetCommit { txn, producer_id, epoch, group, generation, offset } => {
            let (member, generation) = cx.membership(group, generation);
            let mut p = TxnOffsetCommitRequestPartition::default();
            p.partition_index = 0;
            p.committed_offset = offset;
            p.committed_leader_epoch = -1;
            let mut topic = TxnOffsetCommitRequestTopic::default();
            topic.name = TopicName(StrBytes::from_string(cx.names.input()));
            topic.partitions = vec![p];
            let mut r = TxnOffsetCommitRequest::default();
            r.transactional_id = cx.txn(txn);
            r.group_id = cx.group(group);
            r.producer_id = WireProducerId(cx.real_pid(producer_id)?);
            r.producer_epoch = epoch;
            r.generation_id = generation;
            r.member_id = member;
            r.topics = vec![topic];
            let node = cx.routes.group_coordinator(&cx.names.group(group))?;
            let response = links.to(cx.routes, node)?.call(&r, v.txn_offset_commit_of(cx.client))?;
            let code = response.topics.iter().flat_map(|t| t.partitions.iter()).next().map(|p| p.error_code);
            Ok(none(code.ok_or_else(|| WireError::Broker("a TxnOffsetCommit response without the partition".into()))?))
        }
        // The plain OffsetCommit is `copier-group`'s (more groups need offsets in the transaction).
        RequestBody::OffsetCommit { generation, offset } => {
            let (member, generation) = cx.membership(0, generation);
            let mut p = OffsetCommitRequestPartition::default();
            p.partition_index = 0;
            p.committed_offset = offset;
            p.committed_leader_epoch = -1;
            let mut topic = OffsetCommitRequestTopic::default();
            topic.name = TopicName(StrBytes::from_string(cx.names.input()));
            topic.partitions = vec![p];
            let mut r = OffsetCommitRequest::default();
            r.group_id = cx.group(0);
            r.generation_id_or_member_epoch = generation;
            r.member_id = member;
            r.retention_time_ms = -1;
            r.topics = vec![topic];
            let node = cx.routes.group_coordinator(&cx.names.group(0))?;
            let response = links.to(cx.routes, node)?.call(&r, v.offset_commit)?;
            let code = response.topics.iter().flat_map(|t| t.partitions.iter()).next().map(|p| p.error_code);
            Ok(none(code.ok_or_else(|| WireError::Broker("an OffsetCommit response without the partition".into()))?))
        }
        RequestBody::EndTxn { txn, producer_id, epoch, commit } => {
            let mut r = EndTxnRequest::default();
            r.transactional_id = cx.txn(txn);
            r.producer_id = WireProducerId(cx.real_pid(producer_id)?);
            r.producer_epoch = epoch;
            r.committed = commit;
            let node = cx.routes.txn_coordinator(&cx.names.txn(txn))?;
            let response = links.to(cx.routes, node)?.call(&r, v.end_txn)?;
            let v5 = v.end_txn >= 5;
            Ok(RawReply {
                error_code: response.error_code,
                producer_id: positive(response.producer_id.0).filter(|_| v5),
                epoch: (response.producer_epoch >= 0 && v5).then_some(response.producer_epoch),
                offset: None,
            })
        }
    }
}

fn millis(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}

/// One record in a RecordBatch v2, as the model's producer sends it: the producer id, epoch and
/// sequence of the trace (-1 without idempotence), the transactional flag, the value, no key.
fn record_batch(pid: i64, epoch: i16, sequence: i32, transactional: bool, value: String) -> Result<Bytes, WireError> {
    let timestamp =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    let record = Record {
        transactional,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: -1,
        producer_id: pid,
        producer_epoch: epoch,
        timestamp_type: TimestampType::Creation,
        offset: 0,
        sequence,
        timestamp,
        key: None,
        value: Some(Bytes::from(value)),
        headers: Default::default(),
    };
    let mut buffer = BytesMut::new();
    let options = RecordEncodeOptions { version: 2, compression: Compression::None };
    RecordBatchEncoder::encode(&mut buffer, [&record], &options)
        .map_err(|e| WireError::Broker(format!("cannot encode a record batch: {e}")))?;
    Ok(buffer.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::records::RecordBatchDecoder;

    /// Error codes read as Kafka names them, the model's own and others alike.
    #[test]
    fn error_names() {
        assert_eq!(error_name(0), "NONE");
        assert_eq!(error_name(47), "INVALID_PRODUCER_EPOCH");
        assert_eq!(error_name(19), "NOT_ENOUGH_REPLICAS");
        assert_eq!(error_name(120), "TRANSACTION_ABORTABLE");
        assert_eq!(error_name(25), "UNKNOWN_MEMBER_ID");
        assert_eq!(error_name(-7), "UNKNOWN_ERROR_CODE_-7");
    }

    /// The batch carries the trace's producer id, epoch, sequence and transactional flag.
    #[test]
    fn record_batches_carry_the_trace_identity() {
        let mut bytes = record_batch(7001, 3, 2, true, "p0-t1-o0".to_string()).unwrap();
        let set = RecordBatchDecoder::decode(&mut bytes).unwrap();
        let r = &set.records[0];
        assert_eq!((r.producer_id, r.producer_epoch, r.sequence, r.transactional), (7001, 3, 2, true));
        assert_eq!(r.value.as_deref(), Some(&b"p0-t1-o0"[..]));
    }
}
