//! Requests the model's clients never send (specs/eos.md §14.1): malformed ones, and well-formed ones
//! from the wrong endpoint or from a client breaking the protocol. The model cannot say how they are
//! answered, because its clients do not make them; §14.1 does. At the end of every replayed trace each
//! is handed to the implementation outside the network ([`Cluster::handle_unsent`]). It must answer as
//! §14.1 says, and the cluster must be exactly as it was: bad input gets a clear error and loses nothing.

use eos_broker::partition::ProducerStateEntry;
use eos_broker::protocol::{InitProducerIdRequest, ProduceRequest, TxnOffsetCommitRequest, WriteTxnMarkerRequest};
use eos_broker::types::{
    ProducerEpoch, ProducerId, Record, Sequence, COPIER_GROUP, NO_PRODUCER_EPOCH, NO_PRODUCER_ID, OUTPUT_TOPIC,
};
use eos_broker::{ClientId, Cluster, Endpoint, ErrorCode, Message, ProtocolMode, TopicPartition};
use eos_model::observe::FieldDiff;

/// A client id no scenario has: the answers go nowhere, they are only read.
const PROBE_CLIENT: ClientId = ClientId(usize::MAX);
/// A producer id no scenario allocates (they count up from the first id in ones).
const PROBE_PRODUCER_ID: ProducerId = ProducerId::MAX / 2;

/// One request the model's clients never send, and what §14.1 says becomes of it.
#[derive(Clone, Debug)]
pub struct Probe {
    /// What is wrong with it, as §14.1 names it.
    pub name: String,
    source: Endpoint,
    message: Message,
    /// The answer's error code; `None`: the request is dropped with no answer.
    expected: Option<ErrorCode>,
}

/// The probes for `cluster` as it is now. Most do not depend on the state; the two that break the
/// sequence rules are made for each producer a data partition knows.
pub fn probes(cluster: &Cluster) -> Vec<Probe> {
    let broker = cluster.broker();
    let config = broker.config();
    let client = Endpoint::Client(PROBE_CLIENT);
    let probe = |name: &str, source: &Endpoint, message, expected| Probe {
        name: name.to_string(),
        source: source.clone(),
        message,
        expected,
    };
    let init = |id: &str, timeout| {
        Message::InitProducerId(InitProducerIdRequest {
            transactional_id: Some(id.into()),
            transaction_timeout_ms: timeout,
            expected: None,
        })
    };
    let Some(first_partition) = broker.partitions().keys().find(|tp| tp.topic() == OUTPUT_TOPIC).cloned() else {
        return Vec::new();
    };
    let missing_partition = TopicPartition::output(i32::MAX);
    let coordinator_epoch = broker.coordinator().coordinator_epoch();
    let marker = |target: &TopicPartition, producer_id, producer_epoch| {
        Message::WriteTxnMarker(WriteTxnMarkerRequest {
            target: target.clone(),
            transactional_id: "probe".into(),
            producer_id,
            producer_epoch,
            commit: true,
            coordinator_epoch,
            transaction_version: if config.protocol.is_tv2() { 2 } else { 1 },
        })
    };
    let coordinator = Endpoint::Coordinator;
    let mut probes = vec![
        probe(
            "InitProducerId with an empty transactional id",
            &client,
            init("", 60_000),
            Some(ErrorCode::InvalidRequest),
        ),
        probe(
            "InitProducerId with a transaction timeout of 0",
            &client,
            init("probe", 0),
            Some(ErrorCode::InvalidTransactionTimeout),
        ),
        probe(
            "TxnOffsetCommit without a producer id",
            &client,
            Message::TxnOffsetCommit(TxnOffsetCommitRequest {
                transactional_id: "probe".into(),
                producer_id: NO_PRODUCER_ID,
                producer_epoch: NO_PRODUCER_EPOCH,
                group: COPIER_GROUP.to_string(),
                generation: 1,
                member_id: PROBE_CLIENT.member_id(),
                partition: TopicPartition::input(),
                offset: 0,
                transaction_abortable: true,
            }),
            Some(ErrorCode::InvalidRequest),
        ),
        probe(
            "Produce of an empty batch",
            &client,
            Message::Produce(ProduceRequest {
                records: Vec::new(),
                ..batch(&first_partition, PROBE_PRODUCER_ID, 0, 0)
            }),
            Some(ErrorCode::InvalidRequest),
        ),
        probe(
            "Produce of a transactional batch without a producer id",
            &client,
            Message::Produce(ProduceRequest {
                transactional: true,
                ..batch(&first_partition, NO_PRODUCER_ID, NO_PRODUCER_EPOCH, 0)
            }),
            Some(ErrorCode::InvalidRequest),
        ),
        probe(
            "WriteTxnMarker for a partition that does not exist",
            &coordinator,
            marker(&missing_partition, PROBE_PRODUCER_ID, 0),
            Some(ErrorCode::UnknownTopicOrPartition),
        ),
        probe(
            "WriteTxnMarker without a producer id",
            &coordinator,
            marker(&first_partition, NO_PRODUCER_ID, NO_PRODUCER_EPOCH),
            Some(ErrorCode::InvalidRequest),
        ),
        probe(
            "WriteTxnMarker without a producer id, to the offsets partition",
            &coordinator,
            marker(&TopicPartition::group_offsets(COPIER_GROUP), NO_PRODUCER_ID, NO_PRODUCER_EPOCH),
            Some(ErrorCode::InvalidRequest),
        ),
        probe(
            "a response sent to the broker",
            &client,
            Message::InitProducerIdResponse(eos_broker::protocol::InitProducerIdResponse {
                error: ErrorCode::None,
                producer_id: PROBE_PRODUCER_ID,
                producer_epoch: 0,
            }),
            None,
        ),
    ];
    if config.max_transaction_timeout_ms < i32::MAX {
        probes.push(probe(
            "InitProducerId with a transaction timeout above the maximum",
            &client,
            init("probe", config.max_transaction_timeout_ms + 1),
            Some(ErrorCode::InvalidTransactionTimeout),
        ));
    }
    if config.protocol != ProtocolMode::Tv1 {
        // Verification (tv1-verified) and the implicit add (tv2) need the id to ask the coordinator.
        let batch = ProduceRequest { transactional: true, ..batch(&first_partition, PROBE_PRODUCER_ID, 0, 0) };
        probes.push(probe(
            "Produce of a transactional batch without a transactional id",
            &client,
            Message::Produce(batch),
            Some(ErrorCode::InvalidRequest),
        ));
    }
    if config.verification_round_trip && config.protocol != ProtocolMode::Tv1 {
        // A batch the leader would hold for a verification round trip, from the coordinator.
        let batch = ProduceRequest {
            transactional_id: Some("probe".into()),
            transactional: true,
            ..batch(&first_partition, PROBE_PRODUCER_ID, 0, 0)
        };
        probes.push(probe(
            "Produce from an endpoint that is not a client",
            &coordinator,
            Message::Produce(batch),
            None,
        ));
    }
    // With verification round trips a batch may meet KAFKA-14920's check (step 5) before step 6's.
    let step_6 = !config.verification_round_trip || config.protocol == ProtocolMode::Tv1;
    for (partition, log) in broker.partitions() {
        for entry in log.producers().entries().values().filter(|e| e.producer_epoch >= 0) {
            probes.extend(sequence_probes(partition, entry, step_6, &client));
        }
    }
    probes
}

/// A one-record, non-transactional Produce without a transactional id: each probe changes the fields it
/// breaks.
fn batch(
    partition: &TopicPartition,
    producer_id: ProducerId,
    epoch: ProducerEpoch,
    sequence: Sequence,
) -> ProduceRequest {
    ProduceRequest {
        partition: partition.clone(),
        transactional_id: None,
        producer_id,
        producer_epoch: epoch,
        sequence,
        transactional: false,
        records: vec![Record::value("probe")],
        transaction_abortable: true,
    }
}

/// A client that breaks the idempotent producer's rules against a producer `partition` knows: a
/// non-transactional batch inside its open transaction (specs 5.1 step 6), and a new epoch that does
/// not start at sequence 0 (5.1 step 5).
fn sequence_probes(
    partition: &TopicPartition,
    entry: &ProducerStateEntry,
    step_6: bool,
    client: &Endpoint,
) -> Vec<Probe> {
    let (pid, epoch) = (entry.producer_id, entry.producer_epoch);
    let plain = |epoch, sequence| Message::Produce(batch(partition, pid, epoch, sequence));
    let mut probes = Vec::new();
    if step_6 && entry.current_txn_first_offset.is_some() {
        probes.push(Probe {
            name: format!("a non-transactional batch of producer {pid} inside its open transaction on {partition}"),
            source: client.clone(),
            message: plain(epoch, entry.last_sequence().wrapping_add(1)),
            expected: Some(ErrorCode::InvalidTxnState),
        });
    }
    if let Some(next_epoch) = epoch.checked_add(1) {
        probes.push(Probe {
            name: format!("a batch of producer {pid} at a new epoch, not at sequence 0, on {partition}"),
            source: client.clone(),
            message: plain(next_epoch, 1),
            expected: Some(ErrorCode::OutOfOrderSequenceNumber),
        });
    }
    probes
}

/// Hands each probe to `cluster` and returns, for each answered otherwise than §14.1 says, what was
/// expected and what came (`malformed[NAME]`, §14.1 on the left as the model's side).
pub fn answer_all(cluster: &mut Cluster, probes: Vec<Probe>) -> Vec<FieldDiff> {
    let show = |error: Option<ErrorCode>| error.map_or("no answer".to_string(), |e| format!("answered {e:?}"));
    let mut wrong = Vec::new();
    for probe in probes {
        let out = cluster.handle_unsent(probe.source.clone(), probe.message);
        let answered = match out.as_slice() {
            [] => None,
            [one] if one.destination == probe.source => one.message.error(),
            _ => {
                let sent: Vec<&str> = out.iter().map(|o| o.message.kind()).collect();
                let right = format!("sent {}", sent.join(", "));
                wrong.push(FieldDiff { path: format!("malformed[{}]", probe.name), left: show(probe.expected), right });
                continue;
            }
        };
        if answered != probe.expected {
            let (left, right) = (show(probe.expected), show(answered));
            wrong.push(FieldDiff { path: format!("malformed[{}]", probe.name), left, right });
        }
    }
    wrong
}

/// Hands every probe to `cluster` ([`answer_all`]), then checks that nothing it shows changed: what is
/// wrong, as fields (empty if the cluster refused every probe as §14.1 says and lost nothing).
pub fn check(cluster: &mut Cluster) -> Vec<FieldDiff> {
    let before = cluster.view();
    let mut wrong = answer_all(cluster, probes(cluster));
    let after = cluster.view();
    let changed = |part: &str, left: String, right: String| FieldDiff {
        path: format!("malformed requests changed {part}"),
        left,
        right,
    };
    macro_rules! compare_parts {
        ($($part:ident),*) => {$(
            if before.$part != after.$part {
                wrong.push(changed(stringify!($part), format!("{:?}", before.$part), format!("{:?}", after.$part)));
            }
        )*};
    }
    compare_parts!(now_ms, coordinator, transaction_log, group, clients, in_flight, timers);
    for (partition, was) in &before.partitions {
        let is = after.partitions.get(partition);
        if is != Some(was) {
            wrong.push(changed(&format!("partitions[{partition}]"), format!("{was:?}"), format!("{is:?}")));
        }
    }
    wrong
}
