//! The abstraction function: the implementation's state (eos-broker's in-process cluster) mapped onto
//! the model's observable state (specs/eos.md §11), and the implementation's messages onto the model's.
//!
//! Everything here reads the implementation through its public introspection only (`Cluster::view`
//! and friends); nothing is shared with the model but the vocabulary.

use eos_broker::client::OutstandingRequest;
use eos_broker::cluster::{InFlight, MessageId};
use eos_broker::coordinator::TxnLogRecord;
use eos_broker::protocol::{Endpoint, Message as Wire};
use eos_broker::{Cluster, TopicPartition, TxnState};
use eos_model::message::{Marker, Message, Reply, Request, RequestBody};
use eos_model::observe::{
    append_view, network_of_rendered, AbortedView, ClientView, EntryView, GroupView, LoggedRecord, Observation,
    PartitionView, ProducerView, TransactionView,
};
use eos_model::types::{ErrorCode, TxnPartition, Value};
use eos_model::Config;
use std::collections::HashMap;

/// A message of the implementation that the model's vocabulary cannot express.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot express in the model: {0}")]
pub struct Untranslatable(pub String);

fn txn_index(id: &str) -> Result<u8, Untranslatable> {
    id.strip_prefix("txn-").and_then(|n| n.parse().ok()).ok_or_else(|| Untranslatable(format!("transactional id {id}")))
}

fn partition_index(tp: &TopicPartition) -> Result<u8, Untranslatable> {
    match (&*tp.topic, u8::try_from(tp.partition)) {
        ("out", Ok(p)) => Ok(p),
        _ => Err(Untranslatable(format!("partition {tp}"))),
    }
}

pub(crate) fn txn_partition(tp: &TopicPartition) -> Result<TxnPartition, Untranslatable> {
    if tp.is_group_offsets() {
        Ok(TxnPartition::Offsets)
    } else {
        partition_index(tp).map(TxnPartition::Data)
    }
}

/// The model's index of consumer group `name` (`copier-group`, `copier-group-1`, ...).
fn group_index(name: &str) -> Result<u8, Untranslatable> {
    (0..eos_model::config::MAX_GROUPS)
        .find(|g| eos_model::types::group_name(*g) == name)
        .ok_or_else(|| Untranslatable(format!("consumer group {name}")))
}

fn error(code: eos_broker::ErrorCode) -> Result<ErrorCode, Untranslatable> {
    ErrorCode::from_code(code.code()).ok_or_else(|| Untranslatable(format!("error code {code:?}")))
}

fn value(text: &str) -> Result<Value, Untranslatable> {
    text.parse().map_err(Untranslatable)
}

fn optional(id: i64) -> Option<i64> {
    (id >= 0).then_some(id)
}

/// A client request of the implementation as the model's request body.
pub fn request_body(message: &Wire) -> Result<RequestBody, Untranslatable> {
    Ok(match message {
        Wire::InitProducerId(r) => RequestBody::InitProducerId {
            txn: r.transactional_id.as_ref().map(|t| txn_index(t.as_str())).transpose()?,
            expected: r.expected.map(|e| (e.producer_id, e.producer_epoch)),
        },
        Wire::AddPartitionsToTxn(r) => RequestBody::AddPartitionsToTxn {
            txn: txn_index(r.transactional_id.as_str())?,
            producer_id: r.producer_id,
            epoch: r.producer_epoch,
            partition: partition_index(&r.partition)?,
        },
        Wire::AddOffsetsToTxn(r) => RequestBody::AddOffsetsToTxn {
            txn: txn_index(r.transactional_id.as_str())?,
            producer_id: r.producer_id,
            epoch: r.producer_epoch,
            group: group_index(&r.group)?,
        },
        Wire::Produce(r) => {
            let [record] = r.records.as_slice() else {
                return Err(Untranslatable(format!("a batch of {} records", r.records.len())));
            };
            RequestBody::Produce {
                partition: partition_index(&r.partition)?,
                txn: if r.transactional {
                    Some(txn_index(r.transactional_id.as_ref().map_or("", |t| t.as_str()))?)
                } else {
                    None
                },
                producer_id: optional(r.producer_id),
                epoch: r.producer_epoch,
                sequence: r.sequence,
                value: value(&record.value_text())?,
            }
        }
        Wire::TxnOffsetCommit(r) => RequestBody::TxnOffsetCommit {
            txn: txn_index(r.transactional_id.as_str())?,
            producer_id: r.producer_id,
            epoch: r.producer_epoch,
            group: group_index(&r.group)?,
            generation: r.generation,
            offset: r.offset,
        },
        Wire::OffsetCommit(r) => RequestBody::OffsetCommit { generation: r.generation, offset: r.offset },
        Wire::EndTxn(r) => RequestBody::EndTxn {
            txn: txn_index(r.transactional_id.as_str())?,
            producer_id: r.producer_id,
            epoch: r.producer_epoch,
            commit: r.commit,
        },
        other => return Err(Untranslatable(format!("{} is not a client request", other.kind()))),
    })
}

fn reply(message: &Wire) -> Result<Reply, Untranslatable> {
    let code = error(message.error().ok_or_else(|| Untranslatable(format!("{} has no error code", message.kind())))?)?;
    let ok = code == ErrorCode::None;
    let mut reply = Reply::error(code);
    match message {
        Wire::InitProducerIdResponse(r) if ok => {
            reply.producer_id = Some(r.producer_id);
            reply.epoch = Some(r.producer_epoch);
        }
        Wire::EndTxnResponse(r) if ok => {
            reply.producer_id = Some(r.producer_id);
            reply.epoch = Some(r.producer_epoch);
        }
        Wire::ProduceResponse(r) if ok => reply.offset = Some(r.offset),
        _ => {}
    }
    Ok(reply)
}

fn marker(message: &Wire) -> Result<Marker, Untranslatable> {
    let (target, txn, producer_id, epoch, commit, coordinator_epoch, version) = match message {
        Wire::WriteTxnMarker(m) => (
            &m.target,
            &m.transactional_id,
            m.producer_id,
            m.producer_epoch,
            m.commit,
            m.coordinator_epoch,
            m.transaction_version,
        ),
        Wire::WriteTxnMarkerResponse(m) => (
            &m.target,
            &m.transactional_id,
            m.producer_id,
            m.producer_epoch,
            m.commit,
            m.coordinator_epoch,
            m.transaction_version,
        ),
        other => return Err(Untranslatable(format!("{} is not a marker", other.kind()))),
    };
    Ok(Marker {
        target: txn_partition(target)?,
        txn: txn_index(txn.as_str())?,
        producer_id,
        epoch,
        commit,
        coordinator_epoch,
        transaction_version: u8::try_from(version)
            .map_err(|_| Untranslatable(format!("transaction version {version}")))?,
        ends: Default::default(),
    })
}

/// An in-flight message of the implementation as a model message, without the model's ghost fields
/// (request attempts and marker members are left empty): equal to [`without_ghosts`] of the model's
/// message exactly when they are the same message. A response is rendered with the request its
/// correlation id names.
pub fn message(cluster: &Cluster, in_flight: &InFlight) -> Result<Message, Untranslatable> {
    let m = &in_flight.message;
    match (&in_flight.source, &in_flight.destination) {
        (Endpoint::Client(client), _) => {
            let from = u8::try_from(client.0).map_err(|_| Untranslatable(format!("client {client:?}")))?;
            let send = send_of(cluster, *client, in_flight.correlation)?;
            Ok(Message::Request(Request { from, attempt: 0, send, body: request_body(m)? }))
        }
        (_, Endpoint::Client(to)) => {
            let correlation =
                in_flight.correlation.ok_or_else(|| Untranslatable(format!("{} without correlation", m.kind())))?;
            let request = cluster
                .request_of(*to, correlation)
                .ok_or_else(|| Untranslatable(format!("{} answers an unknown request {correlation:?}", m.kind())))?;
            let from = u8::try_from(to.0).map_err(|_| Untranslatable(format!("client {to:?}")))?;
            let send = send_of(cluster, *to, Some(correlation))?;
            let request = Request { from, attempt: 0, send, body: request_body(request)? };
            Ok(Message::Response { request, reply: reply(m)? })
        }
        _ => match m {
            Wire::WriteTxnMarker(_) => Ok(Message::Marker(marker(m)?)),
            Wire::WriteTxnMarkerResponse(r) => {
                Ok(Message::MarkerResponse { marker: marker(m)?, error: error(r.error)? })
            }
            Wire::VerifyPartition(v) => {
                Ok(Message::Verify { request: held_produce(cluster, v)?, guard: guard(v.guard)? })
            }
            Wire::VerifyPartitionResponse(r) => Ok(Message::VerifyResponse {
                request: held_produce(cluster, &r.request)?,
                guard: guard(r.request.guard)?,
                error: error(r.error)?,
            }),
            other => Err(Untranslatable(format!("{} between brokers", other.kind()))),
        },
    }
}

/// The Produce a leader holds for its verification, as the model's request.
fn held_produce(
    cluster: &Cluster,
    verify: &eos_broker::protocol::VerifyPartitionRequest,
) -> Result<Request, Untranslatable> {
    let client = verify.client;
    let from = u8::try_from(client.0).map_err(|_| Untranslatable(format!("client {client:?}")))?;
    let send = send_of(cluster, client, verify.correlation)?;
    Ok(Request { from, attempt: 0, send, body: request_body(&Wire::Produce(verify.produce.clone()))? })
}

fn guard(guard: u64) -> Result<u8, Untranslatable> {
    u8::try_from(guard).map_err(|_| Untranslatable(format!("verification guard {guard}")))
}

/// Which send of its request a client message is (the model's `Request::send`): the request timeouts
/// that re-sent it before, each under a new correlation id.
fn send_of(
    cluster: &Cluster,
    client: eos_broker::ClientId,
    correlation: Option<eos_broker::client::RequestId>,
) -> Result<u8, Untranslatable> {
    let correlation =
        correlation.ok_or_else(|| Untranslatable(format!("a request of {client:?} without correlation")))?;
    cluster
        .resends_of(client, correlation)
        .ok_or_else(|| Untranslatable(format!("an unknown request {correlation:?} of {client:?}")))
}

fn outstanding(requests: &[OutstandingRequest]) -> Result<Vec<String>, Untranslatable> {
    let mut rendered = requests
        .iter()
        .map(|r| {
            let body = request_body(&r.message)?;
            Ok(if r.failed { format!("{body} (failed)") } else { body.to_string() })
        })
        .collect::<Result<Vec<String>, Untranslatable>>()?;
    rendered.sort();
    Ok(rendered)
}

/// A client's per-partition sequences (of `out`) in the model's terms, in partition order.
fn per_partition(
    map: &std::collections::BTreeMap<TopicPartition, eos_broker::types::Sequence>,
) -> Result<Vec<(u8, i32)>, Untranslatable> {
    map.iter().map(|(tp, sequence)| Ok((partition_index(tp)?, *sequence))).collect()
}

fn sorted_partitions<'a>(set: impl Iterator<Item = &'a TopicPartition>) -> Result<Vec<String>, Untranslatable> {
    let mut parts = set.map(txn_partition).collect::<Result<Vec<TxnPartition>, Untranslatable>>()?;
    parts.sort();
    Ok(parts.into_iter().map(|p| p.to_string()).collect())
}

fn transactions(cluster: &Cluster, config: &Config) -> Result<Vec<TransactionView>, Untranslatable> {
    let described = cluster.coordinator_view().transactions;
    // What a failover would load: the latest record of each id.
    let logged_records = cluster.broker().coordinator().durable_records();
    (0..config.producers.transactional_ids)
        .map(|t| {
            let id = format!("txn-{t}");
            let view = described.iter().find(|(k, _)| k.as_str() == id).map(|(_, v)| v);
            Ok(TransactionView {
                state: view.map(|v| format!("{:?}", v.state)),
                producer_id: view.map(|v| v.producer_id),
                producer_epoch: view.map(|v| v.producer_epoch),
                last_producer_epoch: view.map(|v| v.last_producer_epoch),
                previous_producer_id: view.map(|v| v.previous_producer_id),
                next_producer_id: view.map(|v| v.next_producer_id),
                pending_state: view.and_then(|v| v.pending_state).map(|s| format!("{s:?}")),
                partitions: view.map_or(Ok(Vec::new()), |v| sorted_partitions(v.partitions.iter()))?,
                pending_markers: view.map_or(Ok(Vec::new()), |v| sorted_partitions(v.pending_markers.iter()))?,
                failed_markers: view.map_or(Ok(Vec::new()), |v| sorted_partitions(v.failed_markers.iter()))?,
                completion_stuck: view.is_some_and(|v| v.completion_stuck),
                logged: logged_records.get(&id.clone().into()).map(logged).transpose()?.flatten(),
                transactional_id: id,
            })
        })
        .collect()
}

/// An id's latest transaction-log record as the model renders its durable record (a tombstone, Dead,
/// forgets the id).
fn logged(record: &TxnLogRecord) -> Result<Option<String>, Untranslatable> {
    if record.state == TxnState::Dead {
        return Ok(None);
    }
    Ok(Some(
        LoggedRecord {
            state: format!("{:?}", record.state),
            producer_id: record.producer_id,
            producer_epoch: record.producer_epoch,
            last_producer_epoch: record.last_producer_epoch,
            previous_producer_id: record.previous_producer_id,
            next_producer_id: record.next_producer_id,
            partitions: sorted_partitions(record.partitions.iter())?,
        }
        .render(),
    ))
}

fn partition(cluster: &Cluster, index: u8) -> Result<PartitionView, Untranslatable> {
    let tp = TopicPartition::output(i32::from(index));
    let view = cluster.partition_view(&tp).ok_or_else(|| Untranslatable(format!("no partition {tp}")))?;
    let log = view
        .log
        .iter()
        .map(|entry| match entry {
            eos_broker::partition::LogEntry::Data {
                producer_id,
                producer_epoch,
                sequence,
                transactional,
                value,
                ..
            } => EntryView::Data {
                producer_id: optional(*producer_id),
                epoch: *producer_epoch,
                sequence: *sequence,
                transactional: *transactional,
                value: value.clone(),
            },
            eos_broker::partition::LogEntry::Control {
                producer_id, producer_epoch, commit, coordinator_epoch, ..
            } => EntryView::Control {
                producer_id: *producer_id,
                epoch: *producer_epoch,
                commit: *commit,
                coordinator_epoch: *coordinator_epoch,
            },
        })
        .collect();
    Ok(PartitionView {
        partition: tp.to_string(),
        log,
        high_watermark: view.high_watermark,
        last_stable_offset: view.last_stable_offset,
        aborted: view
            .aborted_index
            .iter()
            .map(|a| AbortedView {
                producer_id: a.producer_id,
                first_offset: a.first_offset,
                last_offset: a.last_offset,
            })
            .collect(),
        producers: view
            .producers
            .iter()
            .map(|(pid, p)| {
                Ok(ProducerView {
                    producer_id: *pid,
                    epoch: p.producer_epoch,
                    last_sequence: (p.last_sequence >= 0).then_some(p.last_sequence),
                    open_transaction: p.current_txn_first_offset,
                    coordinator_epoch: p.coordinator_epoch,
                    batches: p.batches.iter().map(single_record_batch).collect::<Result<_, _>>()?,
                })
            })
            .collect::<Result<_, Untranslatable>>()?,
        read_committed: view.read_committed,
        read_uncommitted: view.read_uncommitted,
    })
}

/// A remembered batch as the model remembers it: (sequence, offset) of a batch of one record.
fn single_record_batch(
    batch: &eos_broker::partition::producer_state::BatchMetadata,
) -> Result<(i32, i64), Untranslatable> {
    if batch.first_sequence != batch.last_sequence {
        return Err(Untranslatable(format!(
            "a remembered batch of sequences {}..={}",
            batch.first_sequence, batch.last_sequence
        )));
    }
    Ok((batch.first_sequence, batch.first_offset))
}

/// The one-line renderings of the implementation's messages in flight, kept from one observation to
/// the next: a message does not change while in flight, and rendering it is most of the cost of
/// observing, so a replay renders each message once.
#[derive(Debug, Default)]
pub struct Renderings(HashMap<MessageId, String>);

impl Renderings {
    /// The renderings of the messages now in flight, as (line, 1) pairs; only those are kept, so a
    /// delivered or lost message is forgotten (ids are never reused).
    fn in_flight(&mut self, cluster: &Cluster) -> Result<Vec<(String, u8)>, Untranslatable> {
        let mut kept = HashMap::with_capacity(self.0.len());
        let mut lines = Vec::new();
        for m in cluster.in_flight() {
            let line = match self.0.remove(&m.id) {
                Some(line) => line,
                None => message(cluster, m)?.to_string(),
            };
            lines.push((line.clone(), 1));
            kept.insert(m.id, line);
        }
        self.0 = kept;
        Ok(lines)
    }
}

/// The implementation's observable state, in the model's terms, for the scenario `config`, rendering
/// messages through `renderings` (kept by a caller that observes step after step).
pub fn observe(cluster: &Cluster, config: &Config, renderings: &mut Renderings) -> Result<Observation, Untranslatable> {
    let group = cluster.group_view();
    let clients = (0..config.producer_count())
        .map(|i| {
            let view = cluster
                .client_view(eos_broker::ClientId(usize::from(i)))
                .ok_or_else(|| Untranslatable(format!("no client {i}")))?;
            Ok(ClientView {
                producer: format!("producer-{i}"),
                phase: format!("{:?}", view.phase),
                producer_id: optional(view.producer_id),
                epoch: (view.producer_epoch >= 0).then_some(view.producer_epoch),
                outstanding: outstanding(&view.outstanding)?,
                sequences: per_partition(&view.sequences)?,
                last_acked: per_partition(&view.last_acked)?,
                unresolved: per_partition(&view.unresolved)?,
                position: view.position,
                epoch_bump_required: view.epoch_bump_required,
                // A crash clears the instance's transaction, so a crashed one shows none, as the model's.
                added: sorted_partitions(view.added.iter())?,
                skip_end_txn: view.skip_end_txn,
                generations: view.generations,
            })
        })
        .collect::<Result<Vec<_>, Untranslatable>>()?;
    let lines = renderings.in_flight(cluster)?;
    Ok(Observation {
        coordinator_epoch: cluster.coordinator_view().coordinator_epoch,
        transactions: transactions(cluster, config)?,
        partitions: (0..config.partitions.count).map(|p| partition(cluster, p)).collect::<Result<_, _>>()?,
        group: GroupView {
            producers: group.producers.iter().map(|(pid, p)| (*pid, p.producer_epoch, p.coordinator_epoch)).collect(),
            others: (1..config.group_count())
                .map(|g| group_view(&cluster.group_view_of(&eos_model::types::group_name(g))))
                .collect(),
            ..group_view(&group)
        },
        clients,
        network: network_of_rendered(lines.into_iter()),
        appends: appends(cluster)?,
    })
}

/// The coordinator's transaction-log appends in flight, rendered as the model renders its own.
fn appends(cluster: &Cluster) -> Result<Vec<String>, Untranslatable> {
    let mut appends = cluster
        .broker()
        .appends_in_flight()
        .iter()
        .map(|held| Ok(append_view(&held_request(cluster, held)?, held.append.coordinator_epoch)))
        .collect::<Result<Vec<String>, Untranslatable>>()?;
    appends.sort();
    Ok(appends)
}

/// The client request a held append answers, as the model's request (without ghosts).
pub fn held_request(cluster: &Cluster, held: &eos_broker::broker::HeldAppend) -> Result<Request, Untranslatable> {
    let from = u8::try_from(held.client.0).map_err(|_| Untranslatable(format!("client {:?}", held.client)))?;
    let correlation = held.correlation.ok_or_else(|| Untranslatable("a held request without correlation".into()))?;
    let request = cluster
        .request_of(held.client, correlation)
        .ok_or_else(|| Untranslatable(format!("a held append of an unknown request {correlation:?}")))?;
    let send = send_of(cluster, held.client, Some(correlation))?;
    Ok(Request { from, attempt: 0, send, body: request_body(request)? })
}

/// One group's membership, committed and pending offsets of `in-0`, in the model's terms.
fn group_view(group: &eos_broker::cluster::GroupView) -> GroupView {
    GroupView {
        generation: group.generation,
        member: group.member_id.clone(),
        committed: group.committed.get(&TopicPartition::input()).copied(),
        pending: group
            .pending
            .iter()
            .filter_map(|(pid, p)| p.offsets.get(&TopicPartition::input()).map(|o| (*pid, *o)))
            .collect(),
        pending_epochs: group.pending.iter().map(|(pid, p)| (*pid, p.producer_epoch)).collect(),
        ..GroupView::default()
    }
}

/// A model message with its ghost fields emptied, comparable with [`message`]'s translation.
pub fn without_ghosts(message: &Message) -> Message {
    let mut m = *message;
    match &mut m {
        Message::Request(r)
        | Message::Response { request: r, .. }
        | Message::Verify { request: r, .. }
        | Message::VerifyResponse { request: r, .. } => r.attempt = 0,
        Message::Marker(marker) | Message::MarkerResponse { marker, .. } => marker.ends = Default::default(),
    }
    m
}

/// The renderings of the requests the implementation's request timeouts name, kept from one step to
/// the next: a client's correlation id names one request for good, and rendering it is the cost.
#[derive(Debug, Default)]
pub struct RequestNames(HashMap<(usize, eos_broker::client::RequestId), String>);

/// The implementation's armed timers with their deadlines, named as the harness's clock names them
/// (specs/eos.md §11, "timers").
pub fn timers(cluster: &Cluster, names: &mut RequestNames) -> Result<crate::clock::TimerTable, Untranslatable> {
    use crate::clock::TimerName;
    use eos_broker::Timer;
    let mut table = crate::clock::TimerTable::new();
    for (timer, deadline) in cluster.timers() {
        let name = match &timer {
            Timer::ClientRetry { client } => TimerName::Retry { producer: client.0 },
            Timer::RequestTimeout { client, request } => {
                TimerName::RequestTimeout { producer: client.0, request: names.name(cluster, *client, *request)? }
            }
            Timer::DeliveryTimeout { client, request } => {
                TimerName::DeliveryTimeout { producer: client.0, request: names.name(cluster, *client, *request)? }
            }
            Timer::TransactionTimeout { transactional_id } => {
                TimerName::TransactionTimeout { txn: txn_index(transactional_id.as_str())? }
            }
            Timer::MarkerRetry { transactional_id } => {
                TimerName::MarkerRetry { txn: txn_index(transactional_id.as_str())? }
            }
            Timer::MarkerRequestTimeout { transactional_id, target } => TimerName::MarkerRequestTimeout {
                txn: txn_index(transactional_id.as_str())?,
                target: txn_partition(target)?.to_string(),
            },
        };
        table.entry(name).or_default().push(deadline);
    }
    for deadlines in table.values_mut() {
        deadlines.sort_unstable();
    }
    Ok(table)
}

impl RequestNames {
    /// The model's rendering of `client`'s outstanding request `request` (rendered once).
    fn name(
        &mut self,
        cluster: &Cluster,
        client: eos_broker::ClientId,
        request: eos_broker::client::RequestId,
    ) -> Result<String, Untranslatable> {
        if let Some(rendered) = self.0.get(&(client.0, request)) {
            return Ok(rendered.clone());
        }
        let tm = cluster.client(client).map_err(|e| Untranslatable(e.to_string()))?;
        let outstanding = tm
            .outstanding()
            .find(|r| r.id == request)
            .ok_or_else(|| Untranslatable(format!("a timer of {client:?} with no request")))?;
        let rendered = request_body(&outstanding.message)?.to_string();
        self.0.insert((client.0, request), rendered.clone());
        Ok(rendered)
    }
}
