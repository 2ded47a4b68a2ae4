//! Records per second appended through the broker core: an idempotent non-transactional producer
//! against a transactional one (tv2, and tv1 for comparison) committing every 100 or 1000 records.
//! Requests are built before timing; the timed part is `Broker::handle` for every Produce, the
//! EndTxn, and the marker round trip (WriteTxnMarker to the leader, its answer to the
//! coordinator) that completes each transaction. One record per Produce batch, as eos's client
//! sends, and a second group with 10 records per batch.
//!
//! A small harness of its own (no criterion, so `cargo test` stays light): every case runs
//! `ROUNDS` times, interleaved so load on the machine hits all cases alike; it reports the best
//! and the median records/s and each transactional case's overhead against idempotent produce.
//!
//! Wall-clock figures on a shared or virtual machine vary by tens of percent from run to run; for a
//! repeatable figure, `impl/benches/instructions.sh` counts the instructions each case executes in
//! `run` (valgrind's callgrind), which do not depend on what else the machine is doing.
//!
//! Run: `CARGO_TARGET_DIR=/work/target-impl cargo bench -p eos-broker --bench produce`
//! (`EOS_BENCH_ROUNDS=N` to change the rounds, `EOS_BENCH_RECORDS=N` the records per run). Without `--bench` (as `cargo test --benches`
//! runs it) it does one small round as a smoke test.

use eos_broker::protocol::{AddPartitionsToTxnRequest, EndTxnRequest, InitProducerIdRequest, Message, ProduceRequest};
use eos_broker::storage::MemoryStorage;
use eos_broker::types::Record;
use eos_broker::{Broker, BrokerConfig, ClientId, Endpoint, ProtocolMode, TopicPartition, TransactionalId};
use std::hint::black_box;
use std::time::Instant;

/// Records per timed run.
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
        transaction_abortable: true,
    })
}

fn idempotent(batch: usize, records: usize) -> Workload {
    let mut broker = broker(ProtocolMode::Tv2);
    let (pid, epoch) = init(&mut broker, None);
    let requests = (0..records / batch).map(|n| produce(pid, epoch, (n * batch) as i32, None, batch)).collect();
    Workload { broker, requests }
}

fn transactional(protocol: ProtocolMode, per_transaction: usize, batch: usize, records: usize) -> Workload {
    // A server decoding requests interns the transactional id (it is an `Arc<str>`), as the
    // partition's topic name is: building requests is not part of the timed core.
    let txn = TransactionalId::from("txn-0");
    let mut broker = broker(protocol);
    let (pid, mut epoch) = init(&mut broker, Some(txn.as_str()));
    let mut requests = Vec::new();
    let mut sequence = 0;
    for _ in 0..records / per_transaction {
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

/// Feeds every request; markers go to their leader and the answers back to the coordinator. Never
/// inlined: `instructions.sh` counts the instructions under this function.
#[inline(never)]
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

/// One benchmark case.
#[derive(Clone, Copy)]
struct Case {
    batch: usize,
    /// None: idempotent, non-transactional.
    transactional: Option<(ProtocolMode, usize)>,
}

impl Case {
    fn name(&self) -> String {
        match self.transactional {
            None => format!("batch-{}/idempotent", self.batch),
            Some((protocol, per)) => format!("batch-{}/transactional-{}/{per}", self.batch, protocol.name()),
        }
    }

    fn workload(&self, records: usize) -> Workload {
        match self.transactional {
            None => idempotent(self.batch, records),
            Some((protocol, per)) => transactional(protocol, per, self.batch, records),
        }
    }
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for batch in [1, 10] {
        cases.push(Case { batch, transactional: None });
        for per in [100, 1000] {
            for protocol in [ProtocolMode::Tv2, ProtocolMode::Tv1] {
                cases.push(Case { batch, transactional: Some((protocol, per)) });
            }
        }
    }
    cases
}

/// Seconds for one run of `records` records (setup not timed; dropping the broker not timed).
fn time_once(case: &Case, records: usize) -> f64 {
    let workload = case.workload(records);
    let start = Instant::now();
    let broker = run(workload);
    let elapsed = start.elapsed().as_secs_f64();
    drop(black_box(broker));
    elapsed
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    if std::env::args().any(|arg| arg == "--list-cases") {
        cases().iter().for_each(|case| println!("{}", case.name()));
        return;
    }
    let full = std::env::args().any(|arg| arg == "--bench");
    let rounds: usize =
        if full { std::env::var("EOS_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(30) } else { 1 };
    let records = if full {
        std::env::var("EOS_BENCH_RECORDS").ok().and_then(|v| v.parse().ok()).unwrap_or(RECORDS)
    } else {
        2_000
    };
    // EOS_BENCH_CASE=NAME keeps only the case of that name (for counting the instructions of one).
    let only = std::env::var("EOS_BENCH_CASE").ok();
    let cases: Vec<Case> = cases().into_iter().filter(|c| only.as_ref().is_none_or(|n| c.name() == *n)).collect();
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    for case in &cases {
        time_once(case, records); // warm-up
    }
    for _ in 0..rounds {
        for (case, samples) in cases.iter().zip(&mut times) {
            samples.push(time_once(case, records));
        }
    }
    if rounds == 0 {
        println!("{records} records per run: each case ran once (EOS_BENCH_ROUNDS=0), untimed");
        return;
    }
    println!("{records} records per run, {rounds} rounds; records/s best (median), overhead vs idempotent");
    let mut baseline = (0.0, 0.0);
    for (case, samples) in cases.iter().zip(times) {
        let best = records as f64 / samples.iter().copied().fold(f64::MAX, f64::min);
        let typical = records as f64 / median(samples);
        if case.transactional.is_none() {
            baseline = (best, typical);
        }
        let overhead = |base: f64, value: f64| (base / value - 1.0) * 100.0;
        println!(
            "{:<36} {:>7.2} M/s ({:>6.2} M/s)  overhead {:>6.1}% ({:>6.1}%)",
            case.name(),
            best / 1e6,
            typical / 1e6,
            overhead(baseline.0, best),
            overhead(baseline.1, typical),
        );
    }
}
