//! The wire target against real brokers: Apache Kafka in its three transaction configurations and
//! tansu. Each test starts the broker it needs with conformance/kafka/*.sh (on 127.0.0.1, a free port)
//! and stops it. They need Java 17, Maven and pip (the brokers are downloaded on first use), so they
//! are ignored by `cargo test`; CI runs them with
//! `cargo test -p eos-conformance --release --test wire_kafka -- --ignored`.

use eos_conformance::trace::Trace;
use eos_conformance::wire::probe::BrokerInfo;
use eos_conformance::wire::replay::{WireOptions, WireOutcome, WireTarget};
use eos_conformance::wire::versions::Versions;
use eos_model::Protocol;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::Duration;

/// One broker at a time: a JVM's start-up is CPU-bound and the machine may be small.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// A broker started by one of the scripts, stopped when dropped.
struct Broker {
    script: PathBuf,
    dir: PathBuf,
    url: String,
}

impl Broker {
    fn start(script: &str, config: Option<&str>) -> Broker {
        let script = Path::new(REPO).join("conformance/kafka").join(script);
        let name = format!("{}-{}", config.unwrap_or("tansu"), std::process::id());
        let dir = Path::new(REPO).join("target/wire-tests").join(name);
        let mut command = Command::new(&script);
        command.arg("start");
        if let Some(config) = config {
            command.arg(config);
        }
        let out = command.arg(&dir).output().expect("the broker script runs");
        assert!(out.status.success(), "{} failed: {}", script.display(), text(&out));
        let url = String::from_utf8_lossy(&out.stdout).lines().last().expect("the script prints the URL").to_string();
        assert!(url.starts_with("kafka://127.0.0.1:"), "{url}");
        Broker { script, dir, url }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = Command::new(&self.script).arg("stop").arg(&self.dir).output();
    }
}

fn eos(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eos")).args(args).output().expect("eos runs")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn trace_file(name: &str) -> String {
    Path::new(REPO).join("specs/traces").join(name).display().to_string()
}

/// A reproducer of specs/kafka/.
fn kafka_trace(name: &str) -> String {
    Path::new(REPO).join("specs/kafka").join(name).display().to_string()
}

const HANGING_TV1: &str = "hanging-txn.tv1.counterexample.no_hanging_transaction.json";

/// Runs the suite of `scenarios` and returns the JSON report (exit status checked by the caller).
fn suite(url: &str, scenarios: &[&str], max_traces: &str) -> (Output, serde_json::Value) {
    let mut args = vec!["conformance"];
    args.extend(scenarios);
    args.extend(["--target", url, "--max-traces", max_traces, "--shrink", "0", "--json", "--out"]);
    let out_dir = Path::new(REPO).join("target/wire-tests/failing").display().to_string();
    args.push(&out_dir);
    let out = eos(&args);
    let report = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out, report)
}

/// Apache Kafka with transaction.version 1 and verification off shows the hanging transaction: the
/// model's counterexample replays step for step, and the LSO stays behind the late Produce. The
/// classic anomalies' counterexamples (hanging transaction, late Produce, late EndTxn) all reproduce.
#[test]
#[ignore = "starts Apache Kafka (Java 17, Maven): run with -- --ignored"]
fn apache_kafka_tv1_hangs_a_transaction() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let kafka = Broker::start("kafka.sh", Some("tv1"));
    let out = eos(&["replay", &trace_file(HANGING_TV1), "--target", &kafka.url]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("the LSO is held back by an open transaction"), "{}", text(&out));

    let (out, report) = suite(&kafka.url, &["hanging-txn", "late-produce", "late-endtxn"], "40");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(report["passed"], true);
    for scenario in report["scenarios"].as_array().unwrap() {
        assert!(scenario["realised"].as_u64().unwrap() > 0, "{scenario}");
        let counterexamples = scenario["counterexamples"].as_array().unwrap();
        assert!(!counterexamples.is_empty(), "tv1 violates every anomaly scenario: {scenario}");
        assert!(counterexamples.iter().all(|c| c["class"] == "reproduced"), "{scenario}");
    }
}

/// With verification (tv1-verified) the same trace is refused: the late Produce of the epoch before
/// the client's bump gets INVALID_PRODUCER_EPOCH and the LSO advances. The known Kafka divergence replays as known. Coordinator
/// failovers realised as restarts conform. And the harness catches a broker that differs: held to
/// the tv1 model, this broker diverges at the late Produce.
#[test]
#[ignore = "starts Apache Kafka (Java 17, Maven): run with -- --ignored"]
fn apache_kafka_tv1_verified_refuses_the_late_produce() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let kafka = Broker::start("kafka.sh", Some("tv1-verified"));
    let out = eos(&["replay", &trace_file(HANGING_TV1), "--target", &kafka.url, "--protocol", "tv1-verified"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report = text(&out);
    // The Java 4.x client bumps its epoch after the abort (InitProducerId with the expected id): the
    // verified late Produce of the old epoch is fenced by the coordinator.
    assert!(report.contains("→ INVALID_PRODUCER_EPOCH") && !report.contains("held back"), "{report}");

    let known = kafka_trace("stale-verification-state.tv1-verified.json");
    let out = eos(&["replay", &known, "--target", &kafka.url]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("known divergence `stale-verification-state`"), "{}", text(&out));

    // Coordinator failovers, realised by restarting the broker: the state survives as the model says.
    let restart = format!("{} restart {}", kafka.script.display(), kafka.dir.display());
    let mut args = vec!["conformance", "coordinator-failover", "--target", &kafka.url, "--restart-with", &restart];
    args.extend(["--max-traces", "8", "--max-failover-traces", "2", "--shrink", "0", "--json"]);
    let out = eos(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds = &report["scenarios"][0]["coverage"]["kinds_covered"];
    assert!(kinds.as_array().unwrap().iter().any(|k| k == "CoordinatorFailover"), "{report}");

    let info = BrokerInfo::probe(&kafka.url.parse().unwrap(), Duration::from_secs(10)).unwrap();
    assert_eq!(info.protocol(), Some(Protocol::Tv1Verified));
    let versions = Versions::choose(&info.table, Protocol::Tv1).unwrap();
    let target =
        WireTarget { info, versions, options: WireOptions::default(), run: format!("eos-test-{}", std::process::id()) };
    let trace = Trace::read(Path::new(&trace_file(HANGING_TV1))).unwrap();
    match target.replay(&trace, 0) {
        WireOutcome::Diverged(d) => {
            assert_eq!(d.step, trace.steps.len(), "at the late Produce");
            let fenced =
                |f: &eos_model::observe::FieldDiff| f.path == "error" && f.right.contains("INVALID_PRODUCER_EPOCH");
            assert!(d.diffs.iter().any(fenced), "{d:?}");
        }
        other => panic!("the tv1 model's hanging transaction must diverge on a verifying broker: {other:?}"),
    }
}

/// Under tv2 the abort bumps the epoch and the late Produce is fenced (INVALID_PRODUCER_EPOCH); the
/// known KAFKA-20785 divergence replays as known.
#[test]
#[ignore = "starts Apache Kafka (Java 17, Maven): run with -- --ignored"]
fn apache_kafka_tv2_fences_the_late_produce() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let kafka = Broker::start("kafka.sh", Some("tv2"));
    let out = eos(&["replay", &kafka_trace("hanging-txn.tv2.late-produce-fenced.json"), "--target", &kafka.url]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("→ INVALID_PRODUCER_EPOCH"), "{}", text(&out));
    // Apache Kafka 4.4 lacks trunk's KAFKA-20785 fix: a commit that arrives after a timeout's abort
    // is answered INVALID_TXN_STATE, where the model (and trunk) say PRODUCER_FENCED.
    let out = eos(&["replay", &kafka_trace("KAFKA-20785.tv2.commit-after-timeout.json"), "--target", &kafka.url]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("known divergence `KAFKA-20785`"), "{}", text(&out));
    let (out, report) = suite(&kafka.url, &["hanging-txn"], "40");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(report["scenarios"][0]["protocol"], "tv2");
}

/// tansu, the negative control: the suite finds divergences (exit 1), it does not fail to run (2).
/// (tansu offers Produce up to v11 only, so it runs the tv1 traces.)
#[test]
#[ignore = "starts tansu (pip): run with -- --ignored"]
fn tansu_diverges() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tansu = Broker::start("tansu.sh", None);
    let mut args = vec!["conformance", "hanging-txn", "basic", "--target", &tansu.url, "--protocol", "tv1"];
    args.extend(["--max-traces", "10", "--shrink", "0", "--request-timeout-ms", "3000"]);
    let out = eos(&args);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("diverge"), "{}", text(&out));
}
