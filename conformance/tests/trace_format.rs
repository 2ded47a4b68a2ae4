//! The `eos-trace/1` format: round-trips, refuses other versions and broken files with clear errors,
//! and its validation catches a trace that is not a model path.

use eos_conformance::trace::{Origin, Trace, TraceError};
use eos_model::check::{self, CheckOptions, Outcome};
use eos_model::{scenario, Protocol};

fn example_trace() -> Trace {
    let config = scenario::load("hanging-txn").unwrap().with_protocol(Protocol::Tv1);
    let report = check::run(&config, &CheckOptions::default(), |_| {});
    let verdict = report.verdicts.iter().find(|v| v.name == "no_hanging_transaction").unwrap();
    let Outcome::Violated(path) = &verdict.outcome else { panic!("expected a counterexample") };
    Trace::from_path(&config, Origin::Counterexample, Some(verdict.name), path)
}

/// A trace survives JSON and validates against the model.
#[test]
fn round_trips_and_validates() {
    let trace = example_trace();
    let text = serde_json::to_string(&trace).unwrap();
    let back = Trace::parse("mem", &text).unwrap();
    assert_eq!(back, trace);
    assert_eq!(back.validate().unwrap().len(), trace.steps.len() + 1);
    assert_eq!(back.file_name(), "hanging-txn.tv1.counterexample.no_hanging_transaction.json");
}

/// Another version, broken JSON and an invalid configuration are refused with a message.
#[test]
fn refuses_other_versions_and_garbage() {
    let mut value = serde_json::to_value(example_trace()).unwrap();
    value["format"] = "eos-trace/2".into();
    let err = Trace::parse("t.json", &value.to_string()).unwrap_err();
    assert!(matches!(err, TraceError::Version { .. }));
    assert!(err.to_string().contains("reads `eos-trace/1` only"), "{err}");

    let err = Trace::parse("t.json", "{not json").unwrap_err();
    assert!(matches!(err, TraceError::Parse { .. }), "{err}");

    let mut value = serde_json::to_value(example_trace()).unwrap();
    value["config"]["partitions"]["count"] = 0.into();
    let err = Trace::parse("t.json", &value.to_string()).unwrap_err();
    assert!(err.to_string().contains("partitions.count"), "{err}");
}

/// Validation rejects a tampered state and a step the model does not allow, naming the step.
#[test]
fn validation_catches_tampering() {
    let mut trace = example_trace();
    trace.steps[3].state.partitions[0].high_watermark = 42;
    let (step, why) = trace.validate().unwrap_err();
    assert_eq!(step, 4);
    assert!(why.contains("high_watermark"), "{why}");

    let mut trace = example_trace();
    trace.steps.swap(0, 1);
    let (step, _) = trace.validate().unwrap_err();
    assert_eq!(step, 1);
}
