//! Records per second appended through the broker core: an idempotent non-transactional producer
//! against a transactional one (tv2, and tv1 for comparison) committing every 100 or 1000 records.
//! Requests are built before timing; the timed part is `Broker::handle` for every Produce, the
//! EndTxn, and the marker round trip (WriteTxnMarker to the leader, its answer to the
//! coordinator) that completes each transaction. One record per Produce batch, as eos's client
//! sends, and a second group with 10 records per batch.
//!
//! Run: `CARGO_TARGET_DIR=/work/target-impl cargo bench -p eos-broker --bench produce`.

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use eos_broker::protocol::{AddPartitionsToTxnRequest, EndTxnRequest, InitProducerIdRequest, Message, ProduceRequest};
use eos_broker::storage::MemoryStorage;
use eos_broker::types::Record;
use eos_broker::{Broker, BrokerConfig, ClientId, Endpoint, ProtocolMode, TopicPartition, TransactionalId};
use std::hint::black_box;
use std::time::Duration;

const RECORDS: usize = 100_000;

/// What one timed run feeds the broker, in order.
struct Workload {
    broker: Broker,
    requests: Vec<Message>,
}

fn broker(protocol: ProtocolMode) -> Broker {
    let config = BrokerConfig { protocol, ..BrokerConfig::default() };
    Broker::new(config, Box::new(MemoryStorage), [TopicPartition::output(0)])
}

fn init(broker: &mut Broker, transactional_id: Option<&str>) -> (i64, i16) {
    let request = InitProducerIdRequest {
        transactional_id: transactional_id.map(Into::into),
        transaction_timeout_ms: 60_000,
        expected: None,
    };
    let out = broker.handle(0, Endpoint::Client(ClientId(0)), Message::InitProducerId(request));
    match &out[0].message {
        Message::InitProducerIdResponse(r) => (r.producer_id, r.producer_epoch),
        other => panic!("{other:?}"),
    }
}

fn produce(pid: i64, epoch: i16, sequence: i32, txn: Option<&TransactionalId>, batch: usize) -> Message {
    Message::Produce(ProduceRequest {
        partition: TopicPartition::output(0),
        transactional_id: txn.cloned(),
        producer_id: pid,
        producer_epoch: epoch,
        sequence,
        transactional: txn.is_some(),
        records: (0..batch).map(|i| Record::value(format!("value-{sequence}-{i}"))).collect(),
    })
}

fn idempotent(batch: usize) -> Workload {
    let mut broker = broker(ProtocolMode::Tv2);
    let (pid, epoch) = init(&mut broker, None);
    let requests = (0..RECORDS / batch).map(|n| produce(pid, epoch, (n * batch) as i32, None, batch)).collect();
    Workload { broker, requests }
}

fn transactional(protocol: ProtocolMode, per_transaction: usize, batch: usize) -> Workload {
    // A server decoding requests interns the transactional id (it is an `Arc<str>`), as the
    // partition's topic name is: building requests is not part of the timed core.
    let txn = TransactionalId::from("txn-0");
    let mut broker = broker(protocol);
    let (pid, mut epoch) = init(&mut broker, Some(txn.as_str()));
    let mut requests = Vec::new();
    let mut sequence = 0;
    for _ in 0..RECORDS / per_transaction {
        if protocol != ProtocolMode::Tv2 {
            requests.push(Message::AddPartitionsToTxn(AddPartitionsToTxnRequest {
                transactional_id: txn.clone(),
                producer_id: pid,
                producer_epoch: epoch,
                partition: TopicPartition::output(0),
            }));
        }
        for _ in 0..per_transaction / batch {
            requests.push(produce(pid, epoch, sequence, Some(&txn), batch));
            sequence += batch as i32;
        }
        requests.push(Message::EndTxn(EndTxnRequest {
            transactional_id: txn.clone(),
            producer_id: pid,
            producer_epoch: epoch,
            commit: true,
        }));
        if protocol == ProtocolMode::Tv2 {
            epoch += 1;
            sequence = 0;
        }
    }
    Workload { broker, requests }
}

/// Feeds every request; markers go to their leader and the answers back to the coordinator.
fn run(mut workload: Workload) -> Broker {
    let client = Endpoint::Client(ClientId(0));
    for request in workload.requests {
        for out in workload.broker.handle(1, client.clone(), request) {
            if let Message::WriteTxnMarker(_) = out.message {
                for answer in workload.broker.handle(1, Endpoint::Coordinator, out.message) {
                    workload.broker.handle(1, answer.source, answer.message);
                }
            } else {
                black_box(out);
            }
        }
    }
    let log = workload.broker.partition(&TopicPartition::output(0)).expect("partition");
    assert_eq!(log.last_stable_offset(), log.high_watermark(), "every transaction completed");
    workload.broker
}

fn bench(c: &mut Criterion, batch: usize) {
    let mut group = c.benchmark_group(format!("produce/batch-{batch}"));
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(8));
    group.bench_function("idempotent", |b| b.iter_batched(|| idempotent(batch), run, BatchSize::LargeInput));
    for per_transaction in [100, 1000] {
        for protocol in [ProtocolMode::Tv2, ProtocolMode::Tv1] {
            let id = BenchmarkId::new(format!("transactional-{}", protocol.name()), per_transaction);
            group.bench_function(id, |b| {
                b.iter_batched(|| transactional(protocol, per_transaction, batch), run, BatchSize::LargeInput)
            });
        }
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    bench(c, 1);
    bench(c, 10);
}

criterion_group!(produce_benches, benches);
criterion_main!(produce_benches);
