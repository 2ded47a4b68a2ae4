//! The implementation conforms to the model (a bounded suite: every edge of the small scenarios, the
//! checker's discoveries, walks), the harness catches every seeded fault, golden traces replay, and
//! traces recorded from the implementation validate against the model.

use eos_broker::{Fault, Faults};
use eos_conformance::mutants::{self, fault_name};
use eos_conformance::record::record;
use eos_conformance::replay::{replay, Outcome};
use eos_conformance::suite::{self, SuiteOptions};
use eos_conformance::trace::Trace;
use eos_model::config::Triage;
use eos_model::{scenario, Config, Protocol};

fn config(name: &str, protocol: Protocol) -> Config {
    scenario::load(name).unwrap().with_protocol(protocol)
}

fn options() -> SuiteOptions {
    SuiteOptions { walks: 5, large_walks: 5, walk_length: 120, out_dir: None, ..SuiteOptions::default() }
}

/// Small scenarios conform edge by edge: every trace conforms, every counterexample is reproduced,
/// every action kind the scenario allows is covered and every edge of its state graph is taken.
#[test]
fn small_scenarios_conform_on_every_edge() {
    let cases = [
        ("basic", Protocol::Tv2),
        ("hanging-txn", Protocol::Tv1),
        ("late-produce", Protocol::Tv1),
        ("late-endtxn", Protocol::Tv1),
        ("late-endtxn", Protocol::Tv2),
        ("timeout-abort", Protocol::Tv1Verified),
        ("pitfall-no-fencing", Protocol::Tv2),
        ("pitfall-offsets-outside-txn", Protocol::Tv1),
        ("completion-append-failure", Protocol::Tv1),
        ("completion-append-failover", Protocol::Tv2),
    ];
    for (name, protocol) in cases {
        let report = suite::run(&config(name, protocol), &options());
        assert!(report.passed(), "{name} {protocol}: {:#?}", report.failures);
        assert!(report.enumerated, "{name} {protocol} is small enough to enumerate");
        let coverage = &report.coverage;
        assert_eq!(coverage.all_kinds_covered(), Some(true), "{name} {protocol}: {coverage:?}");
        assert!(coverage.edge_percent().unwrap() >= 95.0, "{name} {protocol}: {coverage:?}");
        for c in &report.counterexamples {
            assert_eq!(c.class, Triage::Reproduced, "{name} {protocol}: {}", c.property);
        }
    }
}

/// Every known tv1 bug replays as "reproduced": the implementation goes through the same states and so
/// shows the same violation.
#[test]
fn known_bugs_are_reproduced_by_the_implementation() {
    for name in ["hanging-txn", "late-produce", "late-endtxn"] {
        let report =
            suite::run(&config(name, Protocol::Tv1), &SuiteOptions { walks: 0, enumerate_limit: 0, ..options() });
        assert!(!report.counterexamples.is_empty(), "{name}: tv1 has counterexamples");
        assert!(
            report.counterexamples.iter().all(|c| c.class == Triage::Reproduced),
            "{name}: {:?}",
            report.counterexamples
        );
    }
}

/// Every seeded fault of the implementation is caught by some trace of a bounded corpus (the harness
/// can fail), and the corpus conforms without faults.
#[test]
fn every_seeded_fault_is_caught() {
    let corpus = [
        // Small, and the one corpus whose batches expire (a delivery timeout's deadline).
        config("batch-expiry", Protocol::Tv2),
        config("copier-abort", Protocol::Tv2),
        config("basic", Protocol::Tv1),
        config("coordinator-failover", Protocol::Tv1),
        config("coordinator-append-failure", Protocol::Tv2),
        config("completion-append-failure", Protocol::Tv2),
        config("coordinator-async-window", Protocol::Tv2),
        // The one corpus with two groups: a marker that ends one group's offsets only.
        config("copier-two-groups", Protocol::Tv2),
        // The one corpus whose coordinator answers INVALID_PRODUCER_ID_MAPPING (an expired id), so a
        // Java 4.x client skips EndTxn.
        config("copier-id-expiry", Protocol::Tv1),
    ];
    let options = SuiteOptions { walks: 0, enumerate_limit: 25_000, ..options() };
    let reports = mutants::run(&corpus, &options, 1);
    assert_eq!(reports.len(), Fault::ALL.len());
    let missed: Vec<&str> = reports.iter().filter(|r| !r.caught()).map(|r| r.fault).collect();
    assert!(missed.is_empty(), "faults not caught: {missed:?}");
    assert!(reports.iter().any(|r| r.fault == fault_name(Fault::OffsetFetchIgnoresPending)));
}

/// A fault found by the suite is reported with a shrunk trace that still diverges, is a path of the
/// model, and replays cleanly without the fault.
#[test]
fn failures_are_shrunk_and_saved() {
    let dir = std::env::temp_dir().join(format!("eos-shrink-{}", std::process::id()));
    let options = SuiteOptions {
        walks: 0,
        enumerate_limit: 10_000,
        faults: Faults::only(Fault::SkipMarkerRetries),
        out_dir: Some(dir.clone()),
        stop_after_failures: Some(1),
        ..options()
    };
    let report = suite::run(&config("basic", Protocol::Tv2), &options);
    let failure = report.failures.first().expect("the fault is caught");
    assert!(failure.steps.1 <= failure.steps.0);
    let saved = Trace::read(std::path::Path::new(failure.file.as_ref().unwrap())).unwrap();
    assert!(saved.validate().is_ok(), "the shrunk trace is a path of the model");
    assert!(!replay(&saved, options.faults).conforms(), "it still diverges with the fault");
    assert!(replay(&saved, Faults::none()).conforms(), "and conforms without it");
    assert!(failure.reproduce.as_ref().unwrap().contains("--fault skip-marker-retries"));
    std::fs::remove_dir_all(dir).unwrap();
}

/// The golden traces of specs/traces are still what the checker finds (single-threaded DFS is
/// deterministic), still valid model paths, and the implementation still conforms to them.
#[test]
fn golden_traces_hold() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/traces");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let golden = Trace::read(&path).unwrap();
        golden.validate().unwrap_or_else(|(s, why)| panic!("{}: step {s}: {why}", path.display()));
        assert!(replay(&golden, Faults::none()).conforms(), "{}", path.display());
        let found = eos_conformance::generate::discoveries(&golden.model().config)
            .into_iter()
            .find(|t| t.origin == golden.origin && t.property == golden.property)
            .unwrap_or_else(|| panic!("{}: the checker no longer finds it", path.display()));
        assert_eq!(found.actions(), golden.actions(), "{}: the checker finds another path", path.display());
        seen += 1;
    }
    assert!(seen >= 10, "golden traces present");
}

/// Traces the implementation records on its own validate against the model; with a seeded fault some
/// do not (check-trace can fail).
#[test]
fn implementation_recorded_traces_validate() {
    for name in ["basic", "happy", "copier-abort", "zombie-fencing", "coordinator-failover"] {
        for protocol in Protocol::ALL {
            for seed in 0..4 {
                let trace = record(&config(name, protocol), seed, 200, Faults::none()).unwrap();
                assert!(trace.steps.len() > 5, "{name} {protocol} {seed}: recorded something");
                if let Err((step, why)) = trace.validate() {
                    panic!("{name} {protocol} seed {seed}: step {step}: {why}");
                }
            }
        }
    }
    let invalid = (0..10)
        .filter(|seed| {
            let trace =
                record(&config("basic", Protocol::Tv2), *seed, 200, Faults::only(Fault::ForgetAbortedIndex)).unwrap();
            trace.validate().is_err()
        })
        .count();
    assert!(invalid > 0, "a recorded run of a faulty implementation is caught");
}

/// A trace that does not fit the model is reported as such, not as the implementation's fault.
#[test]
fn invalid_traces_are_not_blamed_on_the_implementation() {
    let mut trace = eos_conformance::generate::walk(&config("basic", Protocol::Tv2), 3, 30);
    trace.steps.swap(0, 2);
    assert!(matches!(replay(&trace, Faults::none()), Outcome::InvalidTrace { .. } | Outcome::Rejected { .. }));
}

/// The bug museum's counterexamples (fix off) replay against eos-broker with the same switch off as
/// their entries say (`reproduced`), and the fixed entries conform.
#[test]
fn museum_counterexamples_replay_as_their_entries_say() {
    let options = suite::SuiteOptions { walks: 2, enumerate_limit: 5_000, ..suite::SuiteOptions::default() };
    for fixed in eos_model::scenario::museum() {
        let unfixed = fixed.without_fix().unwrap();
        let report = suite::run(&unfixed, &options);
        assert!(!report.counterexamples.is_empty(), "{}: the bug's counterexamples", unfixed.name);
        assert!(report.passed(), "{}: {:?}", unfixed.name, report.failures.first().map(|f| &f.summary));
        assert!(suite::run(&fixed, &options).passed(), "{}", fixed.name);
    }
}

/// The durable transaction-log record is compared apart from the coordinator's memory: a record logged
/// otherwise than the transition applied (the seeded fault drops an Ongoing record's partitions) diverges
/// at the step that logs it, on the `logged` field alone, not at some later failover.
#[test]
fn a_record_logged_otherwise_than_applied_diverges_where_it_is_logged() {
    let config = config("basic", Protocol::Tv1);
    let mut caught = 0;
    for seed in 0..20 {
        let trace = eos_conformance::generate::walk(&config, seed, 60);
        assert!(replay(&trace, Faults::none()).conforms(), "without the fault every walk conforms");
        if let Outcome::Diverged(divergence) = replay(&trace, Faults::only(Fault::LogRecordWithoutPartitions)) {
            let paths: Vec<&str> = divergence.diffs.iter().map(|d| d.path.as_str()).collect();
            assert_eq!(paths, ["transactions[0].logged"], "only the durable record differs at first");
            assert!(divergence.diffs[0].left.contains("Ongoing"), "{:?}", divergence.diffs[0]);
            caught += 1;
        }
    }
    assert!(caught > 0, "some walk adds a partition to an Ongoing transaction");
}

/// The requests the model's clients never send are handed to the implementation at the end of every
/// trace (specs/eos.md §14.1). A leader that appends a non-transactional batch inside a producer's open
/// transaction (the seeded fault skips 5.1 step 6) conforms at every step of a walk, since no model
/// client sends such a batch, and diverges after the last one: on the probe's answer and on the
/// partition it changed.
#[test]
fn a_malformed_request_accepted_diverges_after_the_last_step() {
    let config = config("basic", Protocol::Tv1);
    let mut caught = 0;
    for seed in 0..40 {
        // Walks cut short, so that some end with a transaction open.
        let trace = eos_conformance::generate::walk(&config, seed, 4 + seed as usize % 12);
        assert!(replay(&trace, Faults::none()).conforms(), "without the fault every probe is refused");
        if let Outcome::Diverged(d) = replay(&trace, Faults::only(Fault::NonTransactionalBatchInsideTransaction)) {
            assert_eq!(d.step, trace.steps.len(), "every step conforms; the probes after the last one do not");
            let paths: Vec<&str> = d.diffs.iter().map(|d| d.path.as_str()).collect();
            assert!(paths.iter().any(|p| p.starts_with("malformed[a non-transactional batch")), "{paths:?}");
            assert!(paths.iter().any(|p| p.starts_with("malformed requests changed partitions[out-")), "{paths:?}");
            let answer = d.diffs.iter().find(|d| d.path.starts_with("malformed[a non")).unwrap();
            assert_eq!((answer.left.as_str(), answer.right.as_str()), ("answered INVALID_TXN_STATE", "answered NONE"));
            caught += 1;
        }
    }
    assert!(caught > 0, "some walk ends with a transaction open");
}
