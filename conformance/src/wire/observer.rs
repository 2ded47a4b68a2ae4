//! Reading what a client can see of a broker ([`super::view::WireView`]) with client requests only:
//! Fetch in both isolation levels from offset 0 (with `min_bytes` 0, so a fetch never waits for
//! data), ListOffsets (latest) in both isolation levels (the high watermark and the LSO),
//! DescribeProducers, DescribeTransactions, and OffsetFetch with and without require_stable.
//!
//! The read_committed values are what Kafka's consumer makes of a read_committed fetch: it drops a
//! transactional record whose producer has an aborted transaction starting at or before it, until
//! that producer's ABORT marker (Java's `CompletedFetch`), and never returns control records.

use super::error::{refused, WireError};
use super::mapping::Identities;
use super::names::Names;
use super::routes::{Links, Routes};
use super::versions::Versions;
use super::view::{EntryView, GroupView, PartitionView, ProducerView, TransactionView, WireView};
use bytes::{Buf, Bytes};
use eos_model::config::Config;
use eos_model::types::GroupIndex;
use kafka_protocol::messages::describe_producers_request::TopicRequest;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::{
    BrokerId, DescribeProducersRequest, DescribeTransactionsRequest, EndTxnMarker, FetchRequest, GroupId,
    ListOffsetsRequest, OffsetFetchRequest, TopicName, TransactionalId,
};
use kafka_protocol::protocol::{Decodable, StrBytes};
use kafka_protocol::records::{Record, RecordBatchDecoder};
use std::collections::{BTreeMap, BTreeSet};

const READ_UNCOMMITTED: i8 = 0;
const READ_COMMITTED: i8 = 1;
const UNSTABLE_OFFSET_COMMIT: i16 = 88;
const TRANSACTIONAL_ID_NOT_FOUND: i16 = 105;

/// What observing needs: the trace's names, scenario, versions and routes.
pub struct Scope<'a> {
    /// The trace's names.
    pub names: &'a Names,
    /// The scenario.
    pub config: &'a Config,
    /// API versions.
    pub versions: &'a Versions,
    /// Where requests go.
    pub routes: &'a Routes,
}

impl Scope<'_> {
    fn partitions(&self) -> std::ops::Range<i32> {
        0..i32::from(self.config.partitions.count)
    }

    fn topic(&self) -> TopicName {
        TopicName(StrBytes::from_string(self.names.out()))
    }

    /// The leader of every data partition must be one node for one request; a cluster with the
    /// partitions spread over nodes is read partition by partition.
    fn leaders(&self) -> Result<BTreeMap<i32, Vec<i32>>, WireError> {
        let mut by_node: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
        for p in self.partitions() {
            by_node.entry(self.routes.leader(&self.names.out(), p)?).or_default().push(p);
        }
        Ok(by_node)
    }
}

/// A fetched partition: its records and the aborted transactions the response reports.
struct Fetched {
    records: Vec<Record>,
    aborted: Vec<(i64, i64)>,
}

/// The observer: one more client of the broker, with its own connections.
pub struct Observer {
    links: Links,
}

impl Observer {
    /// An observer using `links`.
    pub fn new(links: Links) -> Observer {
        Observer { links }
    }

    /// Forgets its connections (the broker restarted).
    pub fn reset(&mut self) {
        self.links.reset();
    }

    /// Everything a client can see now.
    pub fn observe(&mut self, scope: &Scope, ids: &mut Identities) -> Result<WireView, WireError> {
        let uncommitted = self.fetch(scope, READ_UNCOMMITTED)?;
        let committed = self.fetch(scope, READ_COMMITTED)?;
        let high_watermark = self.latest_offsets(scope, READ_UNCOMMITTED)?;
        let lso = self.latest_offsets(scope, READ_COMMITTED)?;
        let producers = match scope.versions.describe_producers {
            Some(version) => Some(self.producers(scope, version, ids)?),
            None => None,
        };
        let mut partitions = Vec::new();
        for p in scope.partitions() {
            let all = &uncommitted[&p];
            let stable = &committed[&p];
            let log = all.records.iter().map(|r| entry(r, ids)).collect::<Result<Vec<_>, _>>()?;
            let mut aborted = stable.aborted.clone();
            aborted.sort_by_key(|(pid, first)| (*first, *pid));
            partitions.push(PartitionView {
                partition: format!("out-{p}"),
                log,
                high_watermark: high_watermark[&p],
                last_stable_offset: lso[&p],
                aborted: {
                    let mut shown: Vec<(String, i64)> =
                        aborted.iter().map(|(pid, first)| (ids.show_producer_id(*pid), *first)).collect();
                    shown.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
                    shown
                },
                producers: producers.as_ref().map(|all| all.get(&p).cloned().unwrap_or_default()),
                read_committed: consume_read_committed(&stable.records, &aborted),
                read_uncommitted: values(all.records.iter().filter(|r| !r.control)),
            });
        }
        let transactions = match scope.versions.describe_transactions {
            Some(version) if scope.config.producers.transactional => Some(self.transactions(scope, version, ids)?),
            _ => None,
        };
        let mut groups = Vec::new();
        for group in scope.config.copier.iter().flat_map(|c| c.group_indices()) {
            let (_, committed) = self.offset_fetch(scope, group, false)?;
            let (error, _) = self.offset_fetch(scope, group, true)?;
            groups.push(GroupView { committed, unstable: error == UNSTABLE_OFFSET_COMMIT });
        }
        Ok(WireView { transactions, partitions, groups })
    }

    /// Fetches every data partition from offset 0 at `isolation`.
    fn fetch(&mut self, scope: &Scope, isolation: i8) -> Result<BTreeMap<i32, Fetched>, WireError> {
        let mut out = BTreeMap::new();
        for (node, partitions) in scope.leaders()? {
            let mut topic = FetchTopic::default();
            topic.topic = scope.topic();
            topic.partitions = partitions
                .iter()
                .map(|p| {
                    let mut f = FetchPartition::default();
                    f.partition = *p;
                    f.current_leader_epoch = -1;
                    f.fetch_offset = 0;
                    f.last_fetched_epoch = -1;
                    f.log_start_offset = -1;
                    f.partition_max_bytes = 1 << 20;
                    f
                })
                .collect();
            let mut request = FetchRequest::default();
            request.replica_id = BrokerId(-1);
            // min_bytes 0: Kafka answers at once. max_wait_ms is not 0 because tansu answers a fetch
            // that may not wait with no data at all.
            request.max_wait_ms = 100;
            request.min_bytes = 0;
            request.max_bytes = 4 << 20;
            request.isolation_level = isolation;
            request.session_id = 0;
            request.session_epoch = -1;
            request.topics = vec![topic];
            let response = self.links.to(scope.routes, node)?.call(&request, scope.versions.fetch)?;
            tracing::trace!(?response, "fetch");
            if response.error_code != 0 {
                return Err(refused("Fetch".to_string(), response.error_code));
            }
            for data in response.responses.iter().flat_map(|t| t.partitions.iter()) {
                if data.error_code != 0 {
                    return Err(refused(format!("Fetch of out-{}", data.partition_index), data.error_code));
                }
                let mut bytes = data.records.clone().unwrap_or_default();
                let sets = RecordBatchDecoder::decode_all(&mut bytes)
                    .map_err(|e| WireError::Broker(format!("undecodable records in a Fetch response: {e}")))?;
                let records = sets.into_iter().flat_map(|s| s.records).collect();
                let aborted =
                    data.aborted_transactions.iter().flatten().map(|a| (a.producer_id.0, a.first_offset)).collect();
                out.insert(data.partition_index, Fetched { records, aborted });
            }
        }
        // A broker may leave a partition with nothing to return out of a fetch: a client sees no
        // records of it (its offsets come from ListOffsets).
        for p in scope.partitions() {
            out.entry(p).or_insert(Fetched { records: Vec::new(), aborted: Vec::new() });
        }
        Ok(out)
    }

    /// ListOffsets(latest) at `isolation`: each data partition's high watermark (read_uncommitted)
    /// or last stable offset (read_committed).
    fn latest_offsets(&mut self, scope: &Scope, isolation: i8) -> Result<BTreeMap<i32, i64>, WireError> {
        let mut out = BTreeMap::new();
        for (node, partitions) in scope.leaders()? {
            let mut topic = ListOffsetsTopic::default();
            topic.name = scope.topic();
            topic.partitions = partitions
                .iter()
                .map(|p| {
                    let mut l = ListOffsetsPartition::default();
                    l.partition_index = *p;
                    l.current_leader_epoch = -1;
                    l.timestamp = -1;
                    l
                })
                .collect();
            let mut request = ListOffsetsRequest::default();
            request.replica_id = BrokerId(-1);
            request.isolation_level = isolation;
            request.timeout_ms = 5_000;
            request.topics = vec![topic];
            let response = self.links.to(scope.routes, node)?.call(&request, scope.versions.list_offsets)?;
            for p in response.topics.iter().flat_map(|t| t.partitions.iter()) {
                if p.error_code != 0 {
                    return Err(refused(format!("ListOffsets of out-{}", p.partition_index), p.error_code));
                }
                out.insert(p.partition_index, p.offset);
            }
        }
        // A partition left out of the answer has no offset a client can see (-1, which no model
        // state has).
        for p in scope.partitions() {
            out.entry(p).or_insert(-1);
        }
        Ok(out)
    }

    /// DescribeProducers of every data partition.
    fn producers(
        &mut self,
        scope: &Scope,
        version: i16,
        ids: &mut Identities,
    ) -> Result<BTreeMap<i32, Vec<ProducerView>>, WireError> {
        let mut out = BTreeMap::new();
        for (node, partitions) in scope.leaders()? {
            let mut topic = TopicRequest::default();
            topic.name = scope.topic();
            topic.partition_indexes = partitions;
            let mut request = DescribeProducersRequest::default();
            request.topics = vec![topic];
            let response = self.links.to(scope.routes, node)?.call(&request, version)?;
            for p in response.topics.iter().flat_map(|t| t.partitions.iter()) {
                if p.error_code != 0 {
                    return Err(refused(format!("DescribeProducers of out-{}", p.partition_index), p.error_code));
                }
                let mut list: Vec<ProducerView> = p
                    .active_producers
                    .iter()
                    .map(|s| ProducerView {
                        producer_id: ids.show_producer_id(s.producer_id.0),
                        epoch: i16::try_from(s.producer_epoch).unwrap_or(i16::MIN),
                        last_sequence: (s.last_sequence >= 0).then_some(s.last_sequence),
                        open_transaction: (s.current_txn_start_offset >= 0).then_some(s.current_txn_start_offset),
                        coordinator_epoch: ids.coordinator_epoch(s.coordinator_epoch),
                    })
                    .collect();
                list.sort();
                out.insert(p.partition_index, list);
            }
        }
        Ok(out)
    }

    /// DescribeTransactions of every transactional id of the scenario.
    fn transactions(
        &mut self,
        scope: &Scope,
        version: i16,
        ids: &Identities,
    ) -> Result<Vec<TransactionView>, WireError> {
        let mut out = Vec::new();
        for t in 0..scope.config.producers.transactional_ids {
            let id = scope.names.txn(t);
            let node = scope.routes.txn_coordinator(&id)?;
            let mut request = DescribeTransactionsRequest::default();
            request.transactional_ids = vec![TransactionalId(StrBytes::from_string(id.clone()))];
            let response = self.links.to(scope.routes, node)?.call(&request, version)?;
            let state = response
                .transaction_states
                .first()
                .ok_or_else(|| WireError::Broker(format!("DescribeTransactions gave nothing for {id}")))?;
            let view = match state.error_code {
                0 => {
                    let mut partitions: Vec<String> = state
                        .topics
                        .iter()
                        .flat_map(|t| t.partitions.iter().map(|p| scope.names.model_partition(t.topic.0.as_str(), *p)))
                        .collect();
                    // Kafka adds each group's own `__consumer_offsets` partition, where the model has
                    // one offsets partition for every group: they read as that one
                    // (specs/wire-target.md §4).
                    partitions.sort();
                    partitions.dedup();
                    TransactionView {
                        transactional_id: format!("txn-{t}"),
                        state: Some(state.transaction_state.as_str().to_string()),
                        producer_id: Some(ids.show_producer_id(state.producer_id.0)),
                        producer_epoch: Some(state.producer_epoch),
                        partitions,
                    }
                }
                TRANSACTIONAL_ID_NOT_FOUND => TransactionView {
                    transactional_id: format!("txn-{t}"),
                    state: None,
                    producer_id: None,
                    producer_epoch: None,
                    partitions: Vec::new(),
                },
                code => return Err(refused(format!("DescribeTransactions({id})"), code)),
            };
            out.push(view);
        }
        Ok(out)
    }

    /// OffsetFetch of `in-0` for the copier's group `group`: (error code, committed offset).
    pub fn offset_fetch(
        &mut self,
        scope: &Scope,
        group: GroupIndex,
        require_stable: bool,
    ) -> Result<(i16, Option<i64>), WireError> {
        let name = scope.names.group(group);
        let mut topic = OffsetFetchRequestTopic::default();
        topic.name = TopicName(StrBytes::from_string(scope.names.input()));
        topic.partition_indexes = vec![0];
        let mut request = OffsetFetchRequest::default();
        request.group_id = GroupId(StrBytes::from_string(name.clone()));
        request.topics = Some(vec![topic]);
        request.require_stable = require_stable;
        let node = scope.routes.group_coordinator(&name)?;
        let response = self.links.to(scope.routes, node)?.call(&request, scope.versions.offset_fetch)?;
        let partition = response.topics.iter().flat_map(|t| t.partitions.iter()).next();
        let error = match partition {
            Some(p) if p.error_code != 0 => p.error_code,
            _ => response.error_code,
        };
        if error != 0 && error != UNSTABLE_OFFSET_COMMIT {
            return Err(refused(format!("OffsetFetch({name})"), error));
        }
        let committed = partition.map(|p| p.committed_offset).filter(|o| *o >= 0 && error == 0);
        Ok((error, committed))
    }
}

/// A record as a log entry of the view.
fn entry(record: &Record, ids: &mut Identities) -> Result<EntryView, WireError> {
    if record.control {
        let (commit, coordinator_epoch) = control(record)?;
        return Ok(EntryView::Control {
            producer_id: ids.show_producer_id(record.producer_id),
            epoch: record.producer_epoch,
            commit,
            coordinator_epoch: ids.coordinator_epoch(coordinator_epoch),
        });
    }
    Ok(EntryView::Data {
        producer_id: (record.producer_id >= 0).then(|| ids.show_producer_id(record.producer_id)),
        epoch: record.producer_epoch,
        sequence: record.sequence,
        transactional: record.transactional,
        value: value(record),
    })
}

/// A control record's (commit?, coordinator epoch): the key is a version and a type (0 ABORT,
/// 1 COMMIT, Kafka's `ControlRecordType`); the value a version-prefixed `EndTxnMarker`.
fn control(record: &Record) -> Result<(bool, i32), WireError> {
    let bad = |what: &str| WireError::Broker(format!("a control record at offset {} with {what}", record.offset));
    let mut key: Bytes = record.key.clone().ok_or_else(|| bad("no key"))?;
    if key.remaining() < 4 {
        return Err(bad("a short key"));
    }
    let _key_version = key.get_i16();
    let commit = match key.get_i16() {
        0 => false,
        1 => true,
        other => return Err(bad(&format!("control type {other} (not a transaction marker)"))),
    };
    let mut value: Bytes = record.value.clone().ok_or_else(|| bad("no value"))?;
    if value.remaining() < 2 {
        return Err(bad("a short value"));
    }
    let version = value.get_i16();
    let marker = EndTxnMarker::decode(&mut value, version).map_err(|e| bad(&format!("an undecodable value: {e}")))?;
    Ok((commit, marker.coordinator_epoch))
}

fn value(record: &Record) -> String {
    record.value.as_ref().map_or("<null>".to_string(), |v| String::from_utf8_lossy(v).into_owned())
}

fn values<'a>(records: impl Iterator<Item = &'a Record>) -> Vec<String> {
    records.map(value).collect()
}

/// What a read_committed consumer returns from `records` (a read_committed fetch's) given the
/// fetch's aborted transactions, sorted by first offset.
pub fn consume_read_committed(records: &[Record], aborted: &[(i64, i64)]) -> Vec<String> {
    let mut pending = aborted.iter().peekable();
    let mut aborting: BTreeSet<i64> = BTreeSet::new();
    let mut out = Vec::new();
    for record in records {
        while let Some((pid, _)) = pending.next_if(|(_, first)| *first <= record.offset) {
            aborting.insert(*pid);
        }
        if record.control {
            if matches!(control(record), Ok((false, _))) {
                aborting.remove(&record.producer_id);
            }
            continue;
        }
        if record.transactional && aborting.contains(&record.producer_id) {
            continue;
        }
        out.push(value(record));
    }
    out
}
