//! `eos conformance`, `eos replay`, `eos record` and `eos check-trace` keep their contract: exit 0 when
//! everything conforms, 1 when something diverges (with a saved, replayable trace), 2 on usage errors.

use std::path::PathBuf;
use std::process::{Command, Output};

fn eos(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eos")).args(args).output().expect("eos runs")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("eos-cli-conf-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A conforming scenario exits 0 and says every trace conforms; --json parses.
#[test]
fn conformance_of_a_scenario_exits_0() {
    let out = eos(&["conformance", "hanging-txn", "--walks", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("Every trace conforms"), "{}", text(&out));
    assert!(text(&out).contains("counterexamples 2/2 as expected"), "{}", text(&out));

    let out = eos(&["conformance", "late-endtxn", "--protocol", "tv1", "--walks", "1", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["passed"], true);
    let scenario = &report["scenarios"][0];
    assert_eq!(scenario["coverage"]["edges_covered"], scenario["coverage"]["edges_total"]);
}

/// A seeded fault makes the suite exit 1 with a saved trace and a one-line reproducer that replays
/// with a per-field diff; without the fault the same trace conforms.
#[test]
fn a_divergence_exits_1_with_a_reproducer() {
    let dir = temp("fault");
    let out = eos(&[
        "conformance",
        "basic",
        "--protocol",
        "tv2",
        "--fault",
        "skip-marker-retries",
        "--enumerate-limit",
        "10000",
        "--walks",
        "0",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = text(&out);
    assert!(report.contains("reproduce: eos replay "), "{report}");
    let file = std::fs::read_dir(&dir).unwrap().next().expect("a trace was saved").unwrap().path();

    let replayed = eos(&["replay", file.to_str().unwrap(), "--fault", "skip-marker-retries"]);
    assert_eq!(replayed.status.code(), Some(1));
    let shown = text(&replayed);
    assert!(shown.contains("diverged at step"), "{shown}");
    assert!(shown.contains("field") && shown.contains("implementation"), "{shown}");

    let clean = eos(&["replay", file.to_str().unwrap()]);
    assert_eq!(clean.status.code(), Some(0), "{}", text(&clean));
    std::fs::remove_dir_all(dir).unwrap();
}

/// Usage errors exit 2: an unknown fault (the known ones are listed), an unavailable target, a
/// missing trace file.
#[test]
fn usage_errors_exit_2() {
    let out = eos(&["conformance", "basic", "--fault", "no-such-fault"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("skip-marker-retries"), "{}", text(&out));

    let out = eos(&["conformance", "basic", "--target", "carrier-pigeon"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("unknown target"), "{}", text(&out));

    let out = eos(&["replay", "/nonexistent/trace.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("cannot read"), "{}", text(&out));
}

/// A trace recorded from the implementation passes check-trace; a tampered one fails it at the step.
#[test]
fn record_then_check_trace() {
    let dir = temp("record");
    let file = dir.join("recorded.json");
    let out = eos(&["record", "basic", "--seed", "4", "--out", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let checked = eos(&["check-trace", file.to_str().unwrap()]);
    assert_eq!(checked.status.code(), Some(0), "{}", text(&checked));
    assert!(text(&checked).contains("valid"));

    let mut trace: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(trace["origin"], "implementation");
    trace["steps"][2]["state"]["coordinator_epoch"] = 7.into();
    std::fs::write(&file, trace.to_string()).unwrap();
    let checked = eos(&["check-trace", file.to_str().unwrap()]);
    assert_eq!(checked.status.code(), Some(1));
    assert!(text(&checked).contains("INVALID at step 3"), "{}", text(&checked));
    std::fs::remove_dir_all(dir).unwrap();
}
