//! The broker core, sans-IO (specs/eos.md sections 4 to 6 and the step contract of section 10):
//! the transaction coordinator, the partition leaders and the group coordinator of a one-broker
//! cluster, behind one entry point, [`Broker::handle`], which takes the time and one message and
//! returns the messages to send. Leader-to-coordinator calls (KIP-890 verification and tv2's
//! implicit add) are synchronous inside the step, unless `verification_round_trip` makes the
//! Produce's a round trip of messages (VerifyPartition and its response). The coordinator's
//! transaction-log append completes inside the step too, unless `coordinator_append_round_trip` holds
//! the client request until [`Broker::complete_append`] (or [`Broker::fail_append`]) is called.
//! Nothing here reads a clock, sleeps, spawns or touches a socket; storage is reached through the
//! [`Storage`] trait.

use crate::client::RequestId;
use crate::config::{BrokerConfig, ProtocolMode};
use crate::coordinator::{CoordinatorTimer, InFlightAppend, TransactionCoordinator, TransactionView, TxnLogRecord};
use crate::error::ErrorCode;
use crate::group::GroupCoordinator;
use crate::partition::{AppendOrigin, PartitionLog, ProducerBatch};
use crate::protocol::{
    Endpoint, Message, OffsetCommitResponse, Outgoing, ProduceRequest, ProduceResponse, TxnOffsetCommitRequest,
    TxnOffsetCommitResponse, VerifyPartitionRequest, VerifyPartitionResponse, WriteTxnMarkerRequest,
};
use crate::storage::Storage;
use crate::types::{
    ClientId, Offset, ProducerEpoch, ProducerId, Record, TimestampMs, TopicPartition, TransactionResult,
    TransactionalId,
};
use std::collections::BTreeMap;

/// A one-broker cluster's server side.
#[derive(Debug)]
pub struct Broker {
    config: BrokerConfig,
    coordinator: TransactionCoordinator,
    partitions: BTreeMap<TopicPartition, PartitionLog>,
    group: GroupCoordinator,
    storage: Box<dyn Storage>,
    /// Client requests whose transaction-log append is in flight (`coordinator_append_round_trip`),
    /// oldest first.
    appends: Vec<HeldAppend>,
    /// The id the next held append gets.
    next_append_id: u64,
}

/// A client request held while its transition's transaction-log append is in flight.
#[derive(Clone, Debug)]
pub struct HeldAppend {
    /// Names it for [`Broker::complete_append`] and [`Broker::fail_append`].
    pub id: u64,
    /// The requesting client.
    pub client: ClientId,
    /// The request's correlation id.
    pub correlation: Option<RequestId>,
    /// The prepared transition and the coordinator epoch it was prepared under.
    pub append: InFlightAppend,
    /// The answer the request gets if the append completes.
    answer: Message,
}

impl Broker {
    /// A broker leading `partitions` (plus the offsets partition), with empty logs on `storage`.
    pub fn new(
        config: BrokerConfig,
        mut storage: Box<dyn Storage>,
        partitions: impl IntoIterator<Item = TopicPartition>,
    ) -> Self {
        let mut logs = BTreeMap::new();
        for partition in partitions {
            assert!(!partition.is_group_offsets(), "the offsets partition belongs to the group coordinator");
            let log = PartitionLog::new(
                partition.clone(),
                storage.open_partition_log(&partition),
                config.fencing,
                config.faults,
            )
            .with_fixes(config.fixes)
            .with_transactions_v2(config.protocol == ProtocolMode::Tv2);
            logs.insert(partition, log);
        }
        let offsets = TopicPartition::group_offsets(crate::types::COPIER_GROUP);
        let offsets_log =
            PartitionLog::new(offsets.clone(), storage.open_partition_log(&offsets), config.fencing, config.faults)
                .with_fixes(config.fixes);
        let coordinator = TransactionCoordinator::new(config.clone(), storage.open_transaction_log());
        Self {
            group: GroupCoordinator::new(offsets_log, config.faults),
            coordinator,
            partitions: logs,
            config,
            storage,
            appends: Vec::new(),
            next_append_id: 0,
        }
    }

    /// The settings.
    pub fn config(&self) -> &BrokerConfig {
        &self.config
    }

    /// Handles one message from `source`; returns what to send.
    pub fn handle(&mut self, now_ms: TimestampMs, source: Endpoint, message: Message) -> Vec<Outgoing> {
        self.handle_correlated(now_ms, source, None, message)
    }

    /// [`Self::handle`] for a client request sent under `correlation`: a Produce held for a
    /// verification round trip keeps it, so that its answer can name the request later.
    pub fn handle_correlated(
        &mut self,
        now_ms: TimestampMs,
        source: Endpoint,
        correlation: Option<RequestId>,
        message: Message,
    ) -> Vec<Outgoing> {
        let (from, answer, markers) = match message {
            Message::WriteTxnMarkerResponse(response) => {
                self.coordinator.handle_marker_response(now_ms, &response);
                return Vec::new();
            }
            Message::Produce(request) if self.holds_for_verification(&request) => {
                let Endpoint::Client(client) = source else {
                    tracing::warn!("a Produce that is not from a client is dropped");
                    return Vec::new();
                };
                return self.start_verification(request, client, correlation).into_iter().collect();
            }
            Message::VerifyPartition(request) => {
                let error = self.answer_verification(now_ms, &request).err().unwrap_or(ErrorCode::None);
                let leader = Endpoint::for_partition(&request.produce.partition);
                let response = VerifyPartitionResponse { request, error };
                return vec![Outgoing {
                    source: Endpoint::Coordinator,
                    destination: leader,
                    message: Message::VerifyPartitionResponse(response),
                }];
            }
            Message::VerifyPartitionResponse(response) => {
                let (request, error) = (response.request, response.error);
                let (partition, sequence) = (request.produce.partition.clone(), request.produce.sequence);
                let result = match error {
                    ErrorCode::None => self.append_guarded(request.produce, request.guard),
                    error => Err(error),
                };
                let (error, offset) = result.map_or_else(|code| (code, -1), |offset| (ErrorCode::None, offset));
                return vec![Outgoing {
                    source: Endpoint::for_partition(&partition),
                    destination: Endpoint::Client(request.client),
                    message: Message::ProduceResponse(ProduceResponse { partition, sequence, error, offset }),
                }];
            }
            Message::InitProducerId(_)
            | Message::AddPartitionsToTxn(_)
            | Message::AddOffsetsToTxn(_)
            | Message::EndTxn(_) => {
                let held = match source {
                    Endpoint::Client(client) if self.config.coordinator_append_round_trip => Some(client),
                    _ => None,
                };
                self.coordinator.hold_client_appends(held.is_some());
                let (answer, markers) = self.handle_coordinator_request(now_ms, message);
                self.coordinator.hold_client_appends(false);
                if let (Some(client), Some(append)) = (held, self.coordinator.take_prepared()) {
                    debug_assert!(markers.is_empty(), "a held request's markers wait for its append");
                    let id = self.next_append_id;
                    self.next_append_id += 1;
                    self.appends.push(HeldAppend { id, client, correlation, append, answer });
                    return Vec::new();
                }
                (Endpoint::Coordinator, answer, markers)
            }
            Message::Produce(request) => {
                let from = Endpoint::for_partition(&request.partition);
                (from, Message::ProduceResponse(self.handle_produce(now_ms, request)), Vec::new())
            }
            Message::TxnOffsetCommit(request) => {
                let error = self.handle_txn_offset_commit(now_ms, &request).err();
                let response = TxnOffsetCommitResponse { error: error.unwrap_or(ErrorCode::None) };
                (Endpoint::GroupCoordinator, Message::TxnOffsetCommitResponse(response), Vec::new())
            }
            Message::OffsetCommit(request) => {
                let error = self.group.handle_offset_commit(&request).err();
                let response = OffsetCommitResponse { error: error.unwrap_or(ErrorCode::None) };
                (Endpoint::GroupCoordinator, Message::OffsetCommitResponse(response), Vec::new())
            }
            Message::WriteTxnMarker(marker) => {
                let error = self.handle_marker(&marker);
                let from = Endpoint::for_partition(&marker.target);
                (from, Message::WriteTxnMarkerResponse(marker.respond(error)), Vec::new())
            }
            other => {
                tracing::warn!(kind = other.kind(), "the broker does not handle responses to clients");
                return Vec::new();
            }
        };
        let mut out = Vec::with_capacity(1 + markers.len());
        out.push(Outgoing { source: from, destination: source, message: answer });
        out.extend(markers.into_iter().map(marker_out));
        out
    }

    /// The coordinator's requests: the answer and any markers.
    fn handle_coordinator_request(
        &mut self,
        now_ms: TimestampMs,
        message: Message,
    ) -> (Message, Vec<WriteTxnMarkerRequest>) {
        let coordinator = &mut self.coordinator;
        match message {
            Message::InitProducerId(request) => {
                let (response, markers) = coordinator.handle_init_producer_id(now_ms, &request);
                (Message::InitProducerIdResponse(response), markers)
            }
            Message::AddPartitionsToTxn(request) => {
                let response = coordinator.handle_add_partitions(now_ms, &request);
                (Message::AddPartitionsToTxnResponse(response), Vec::new())
            }
            Message::AddOffsetsToTxn(request) => {
                let response = coordinator.handle_add_offsets(now_ms, &request);
                (Message::AddOffsetsToTxnResponse(response), Vec::new())
            }
            Message::EndTxn(request) => {
                let (response, markers) = coordinator.handle_end_txn(now_ms, &request);
                (Message::EndTxnResponse(response), markers)
            }
            other => unreachable!("{} is not a coordinator request", other.kind()),
        }
    }

    /// Specs 5.1: step 2 (verification or implicit add) here, steps 1 and 3 to 7 in the log.
    fn handle_produce(&mut self, now_ms: TimestampMs, request: ProduceRequest) -> ProduceResponse {
        let partition = request.partition.clone();
        let sequence = request.sequence;
        let result = self.produce(now_ms, request);
        let (error, offset) = match result {
            Ok(offset) => (ErrorCode::None, offset),
            Err(code) => (code, -1),
        };
        ProduceResponse { partition, sequence, error, offset }
    }

    fn produce(&mut self, now_ms: TimestampMs, request: ProduceRequest) -> Result<Offset, ErrorCode> {
        let Self { partitions, coordinator, config, .. } = self;
        let log = partitions.get_mut(&request.partition).ok_or(ErrorCode::UnknownTopicOrPartition)?;
        let (pid, epoch) = (request.producer_id, request.producer_epoch);
        let batch = ProducerBatch {
            producer_id: pid,
            producer_epoch: epoch,
            base_sequence: request.sequence,
            is_transactional: request.transactional,
            records: request.records,
        };
        let (id, partition) = (request.transactional_id.as_ref(), &request.partition);
        let knows_abortable = request.transaction_abortable;
        let verify = || verify_or_add(coordinator, config.protocol, now_ms, id, pid, epoch, partition, knows_abortable);
        Ok(log.append_verified(batch, AppendOrigin::Client, verify)?.first_offset)
    }

    /// Whether the leader holds `request` for a verification round trip (specs/eos.md §5.1 step 2
    /// with `verification_round_trip`): a transactional batch of a producer with no transaction open
    /// here at its epoch, under a protocol that verifies or adds.
    fn holds_for_verification(&self, request: &ProduceRequest) -> bool {
        self.config.verification_round_trip
            && self.config.protocol != ProtocolMode::Tv1
            && request.transactional_id.is_some()
            && self.partitions.get(&request.partition).is_some_and(|log| {
                log.needs_verification(request.producer_id, request.producer_epoch, request.transactional)
            })
    }

    /// The leader starts a verification (Kafka's `ReplicaManager.appendRecords` through
    /// `AddPartitionsToTxnManager`): hands out the guard and asks the coordinator.
    fn start_verification(
        &mut self,
        produce: ProduceRequest,
        client: ClientId,
        correlation: Option<RequestId>,
    ) -> Option<Outgoing> {
        let log = self.partitions.get_mut(&produce.partition)?;
        let guard = log.start_verification(produce.producer_id, produce.sequence, produce.producer_epoch);
        let leader = Endpoint::for_partition(&produce.partition);
        let request = VerifyPartitionRequest { produce, client, correlation, guard };
        Some(Outgoing {
            source: leader,
            destination: Endpoint::Coordinator,
            message: Message::VerifyPartition(request),
        })
    }

    /// The coordinator's side of a verification round trip: verify or add, translated for the client.
    fn answer_verification(&mut self, now_ms: TimestampMs, request: &VerifyPartitionRequest) -> Result<(), ErrorCode> {
        let p = &request.produce;
        verify_or_add(
            &mut self.coordinator,
            self.config.protocol,
            now_ms,
            p.transactional_id.as_ref(),
            p.producer_id,
            p.producer_epoch,
            &p.partition,
            p.transaction_abortable,
        )
    }

    /// The leader appends a Produce whose verification came back, behind its guard.
    fn append_guarded(&mut self, request: ProduceRequest, guard: u64) -> Result<Offset, ErrorCode> {
        let log = self.partitions.get_mut(&request.partition).ok_or(ErrorCode::UnknownTopicOrPartition)?;
        let batch = ProducerBatch {
            producer_id: request.producer_id,
            producer_epoch: request.producer_epoch,
            base_sequence: request.sequence,
            is_transactional: request.transactional,
            records: request.records,
        };
        Ok(log.append_guarded(batch, AppendOrigin::Client, guard)?.first_offset)
    }

    fn handle_txn_offset_commit(
        &mut self,
        now_ms: TimestampMs,
        request: &TxnOffsetCommitRequest,
    ) -> Result<(), ErrorCode> {
        // Verification (or the tv2 implicit add) comes first, as in Kafka's group coordinator;
        // then the member, generation and epoch checks.
        if self.group.needs_verification(request)? {
            let partition = TopicPartition::group_offsets(&request.group);
            verify_or_add(
                &mut self.coordinator,
                self.config.protocol,
                now_ms,
                Some(&request.transactional_id),
                request.producer_id,
                request.producer_epoch,
                &partition,
                request.transaction_abortable,
            )?;
        }
        self.group.check_txn_offset_commit(request, self.config.fencing)?;
        self.group.append_txn_offset_commit(request)
    }

    fn handle_marker(&mut self, marker: &WriteTxnMarkerRequest) -> ErrorCode {
        if marker.target.is_group_offsets() {
            return self.group.handle_marker(marker);
        }
        let Some(log) = self.partitions.get_mut(&marker.target) else {
            return ErrorCode::UnknownTopicOrPartition;
        };
        let result = TransactionResult::from_commit(marker.commit);
        let (pid, epoch, coordinator_epoch) = (marker.producer_id, marker.producer_epoch, marker.coordinator_epoch);
        match log.write_versioned_marker(pid, epoch, result, coordinator_epoch, marker.transaction_version) {
            Ok(_) => ErrorCode::None,
            Err(code) => code,
        }
    }

    /// The client requests whose transaction-log append is in flight, oldest first.
    pub fn appends_in_flight(&self) -> &[HeldAppend] {
        &self.appends
    }

    fn take_append(&mut self, id: u64) -> Option<HeldAppend> {
        let at = self.appends.iter().position(|held| held.id == id)?;
        Some(self.appends.remove(at))
    }

    /// The held append `id` completes (specs/eos.md §4.5): the transition is applied and the
    /// client answered as the synchronous append would have, with the markers of a Prepare*; after a
    /// failover the client is answered NOT_COORDINATOR and nothing changes. `None` if no such append
    /// is in flight.
    pub fn complete_append(&mut self, now_ms: TimestampMs, id: u64) -> Option<Vec<Outgoing>> {
        let held = self.take_append(id)?;
        let (answer, markers) = match self.coordinator.complete_append(now_ms, held.append) {
            Ok(markers) => (held.answer, markers),
            Err(code) => (failed_answer(held.answer, code), Vec::new()),
        };
        let mut out = vec![Outgoing {
            source: Endpoint::Coordinator,
            destination: Endpoint::Client(held.client),
            message: answer,
        }];
        out.extend(markers.into_iter().map(marker_out));
        Some(out)
    }

    /// The held append `id` fails (specs/eos.md §4.5): the pending transition is dropped (if the
    /// coordinator did not fail over since) and the client answered COORDINATOR_NOT_AVAILABLE.
    /// `None` if no such append is in flight.
    pub fn fail_append(&mut self, id: u64) -> Option<Outgoing> {
        let held = self.take_append(id)?;
        let code = self.coordinator.fail_append(held.append);
        let answer = failed_answer(held.answer, code);
        Some(Outgoing { source: Endpoint::Coordinator, destination: Endpoint::Client(held.client), message: answer })
    }

    /// A marker, or its answer, was lost in the network: the coordinator marks it failed.
    pub fn marker_lost(&mut self, now_ms: TimestampMs, marker: &WriteTxnMarkerRequest) {
        self.coordinator.marker_lost(now_ms, marker);
    }

    /// The coordinator's armed timers and deadlines.
    pub fn timers(&self) -> Vec<(CoordinatorTimer, TimestampMs)> {
        self.coordinator.timers()
    }

    /// Fires a coordinator timer; returns the markers it sends.
    pub fn fire_timer(&mut self, now_ms: TimestampMs, timer: &CoordinatorTimer) -> Vec<Outgoing> {
        let markers = match timer {
            CoordinatorTimer::TransactionTimeout(id) => self.coordinator.handle_transaction_timeout(now_ms, id),
            CoordinatorTimer::MarkerRetry(id) => self.coordinator.retry_markers(now_ms, id),
            CoordinatorTimer::MarkerRequestTimeout(id, target) => {
                self.coordinator.resend_marker(now_ms, id, target).into_iter().collect()
            }
        };
        markers.into_iter().map(marker_out).collect()
    }

    /// Coordinator failover: a new coordinator epoch, the log replayed, markers of Prepare*
    /// transactions re-sent.
    pub fn coordinator_failover(&mut self, now_ms: TimestampMs) -> Vec<Outgoing> {
        if self.config.appends_durable_at_failover {
            for held in &self.appends {
                self.coordinator.land_append(&held.append);
            }
        }
        let storage = &mut self.storage;
        let markers = self.coordinator.failover(now_ms, || storage.open_transaction_log());
        markers.into_iter().map(marker_out).collect()
    }

    /// A leader expires the state of a producer with no transaction open there (specs/eos.md §5.4).
    pub fn expire_producer(&mut self, partition: &TopicPartition, producer_id: ProducerId) -> Result<(), ErrorCode> {
        let log = self.partitions.get_mut(partition).ok_or(ErrorCode::UnknownTopicOrPartition)?;
        log.expire_producer(producer_id)
    }

    /// The coordinator expires an idle transactional id (specs/eos.md §4.5).
    pub fn expire_transactional_id(
        &mut self,
        now_ms: TimestampMs,
        transactional_id: &crate::types::TransactionalId,
    ) -> Result<(), ErrorCode> {
        self.coordinator.expire_transactional_id(now_ms, transactional_id)
    }

    /// Arms a failure of the coordinator's next transaction-log append (specs/eos.md §4.5).
    pub fn fail_next_txn_log_append(&mut self) {
        self.coordinator.fail_next_append(true);
    }

    /// Disarms an append failure that did not happen.
    pub fn disarm_txn_log_append_failure(&mut self) {
        self.coordinator.fail_next_append(false);
    }

    /// Whether an armed transaction-log append failure has not happened yet.
    pub fn txn_log_append_failure_armed(&self) -> bool {
        self.coordinator.append_failure_armed()
    }

    /// A member joins a group (synchronous).
    pub fn join_group(&mut self, group: &str, member_id: &str) -> crate::types::Generation {
        self.group.join(group, member_id)
    }

    /// OffsetFetch (synchronous).
    pub fn offset_fetch(
        &self,
        group: &str,
        require_stable: bool,
    ) -> Result<BTreeMap<TopicPartition, Offset>, ErrorCode> {
        self.group.offset_fetch(group, require_stable)
    }

    /// Appends plain records (no producer id) to a partition: the copier's input.
    pub fn append_plain(&mut self, partition: &TopicPartition, records: Vec<Record>) -> Result<Offset, ErrorCode> {
        let log = self.partitions.get_mut(partition).ok_or(ErrorCode::UnknownTopicOrPartition)?;
        let batch =
            ProducerBatch { producer_id: -1, producer_epoch: -1, base_sequence: -1, is_transactional: false, records };
        Ok(log.append(batch, AppendOrigin::Client)?.first_offset)
    }

    /// The transaction coordinator.
    pub fn coordinator(&self) -> &TransactionCoordinator {
        &self.coordinator
    }

    /// The group coordinator.
    pub fn group_coordinator(&self) -> &GroupCoordinator {
        &self.group
    }

    /// A partition's log (data partitions and the offsets partition).
    pub fn partition(&self, partition: &TopicPartition) -> Option<&PartitionLog> {
        if partition.is_group_offsets() {
            return Some(self.group.offsets_log());
        }
        self.partitions.get(partition)
    }

    /// Every data partition.
    pub fn partitions(&self) -> &BTreeMap<TopicPartition, PartitionLog> {
        &self.partitions
    }

    /// Describe-transactions: every transactional id.
    pub fn describe_transactions(&self) -> BTreeMap<TransactionalId, TransactionView> {
        self.coordinator
            .transactions()
            .keys()
            .filter_map(|id| Some((id.clone(), self.coordinator.describe(id)?)))
            .collect()
    }

    /// The transaction log's records.
    pub fn transaction_log(&self) -> Vec<TxnLogRecord> {
        self.coordinator.log_records()
    }
}

/// KIP-890: tv1-verified asks the coordinator whether the partition is in the transaction; tv2 adds
/// it; tv1 does neither.
#[allow(clippy::too_many_arguments)]
fn verify_or_add(
    coordinator: &mut TransactionCoordinator,
    protocol: ProtocolMode,
    now_ms: TimestampMs,
    transactional_id: Option<&TransactionalId>,
    producer_id: ProducerId,
    producer_epoch: ProducerEpoch,
    partition: &TopicPartition,
    client_knows_transaction_abortable: bool,
) -> Result<(), ErrorCode> {
    let id = match (protocol, transactional_id) {
        (ProtocolMode::Tv1, _) => return Ok(()),
        (_, Some(id)) => id,
        (_, None) => return Err(ErrorCode::InvalidRequest),
    };
    let result = if protocol == ProtocolMode::Tv1Verified {
        coordinator.verify_partition(id, producer_id, producer_epoch, partition)
    } else {
        coordinator.add_partition(now_ms, id, producer_id, producer_epoch, partition)
    };
    // As Kafka's leaders translate the coordinator's answer: producers expect INVALID_PRODUCER_EPOCH,
    // and clients that predate TRANSACTION_ABORTABLE (KIP-1050) INVALID_TXN_STATE.
    result.map_err(|code| match code {
        ErrorCode::ProducerFenced => ErrorCode::InvalidProducerEpoch,
        ErrorCode::TransactionAbortable if !client_knows_transaction_abortable => ErrorCode::InvalidTxnState,
        other => other,
    })
}

/// The answer a held coordinator request gets when its append does not complete: `code`, and no
/// producer id or epoch.
fn failed_answer(answer: Message, code: ErrorCode) -> Message {
    use crate::types::{NO_PRODUCER_EPOCH, NO_PRODUCER_ID};
    match answer {
        Message::InitProducerIdResponse(_) => {
            Message::InitProducerIdResponse(crate::protocol::InitProducerIdResponse {
                error: code,
                producer_id: NO_PRODUCER_ID,
                producer_epoch: NO_PRODUCER_EPOCH,
            })
        }
        Message::AddPartitionsToTxnResponse(r) => {
            Message::AddPartitionsToTxnResponse(crate::protocol::AddPartitionsToTxnResponse { error: code, ..r })
        }
        Message::AddOffsetsToTxnResponse(_) => {
            Message::AddOffsetsToTxnResponse(crate::protocol::AddOffsetsToTxnResponse { error: code })
        }
        Message::EndTxnResponse(r) => Message::EndTxnResponse(crate::protocol::EndTxnResponse {
            commit: r.commit,
            error: code,
            producer_id: NO_PRODUCER_ID,
            producer_epoch: NO_PRODUCER_EPOCH,
        }),
        other => unreachable!("{} is not a coordinator answer", other.kind()),
    }
}

fn marker_out(marker: WriteTxnMarkerRequest) -> Outgoing {
    Outgoing {
        source: Endpoint::Coordinator,
        destination: Endpoint::for_partition(&marker.target),
        message: Message::WriteTxnMarker(marker),
    }
}
