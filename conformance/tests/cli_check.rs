//! The `eos` command line keeps its contract (DESIGN.md): exit 0 when every property holds, 1 when one
//! fails, 2 on usage or configuration errors; JSON reports parse; traces written by --trace-out are
//! valid `eos-trace/1` paths of the model.

use eos_conformance::trace::{Origin, Trace};
use std::process::{Command, Output};

fn eos(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eos")).args(args).output().expect("eos runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A scenario whose properties all hold exits 0 and says so.
#[test]
fn check_of_a_holding_scenario_exits_0() {
    let out = eos(&["check", "basic", "--protocol", "tv2"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("properties hold"), "{}", stdout(&out));
}

/// A known bug exits 1, names the violated property and prints the step table and explorer link.
#[test]
fn check_of_a_known_bug_exits_1_with_a_counterexample() {
    let out = eos(&["check", "hanging-txn", "--protocol", "tv1"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("no_hanging_transaction is violated"), "{text}");
    assert!(text.contains("deliver producer-0 → Produce("), "the late Produce is a step: {text}");
    assert!(text.contains("http://127.0.0.1:3000/#/steps/"), "{text}");
    assert!(text.contains("(as the scenario expects)"), "{text}");
}

/// Usage and configuration errors exit 2 with a clear message; an unknown scenario lists the known ones.
#[test]
fn usage_errors_exit_2() {
    let unknown = eos(&["check", "no-such-scenario"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("known scenarios: happy, basic"), "{}", stderr(&unknown));

    let bad_protocol = eos(&["check", "basic", "--protocol", "tv9"]);
    assert_eq!(bad_protocol.status.code(), Some(2));
    assert!(stderr(&bad_protocol).contains("tv1-verified"), "{}", stderr(&bad_protocol));

    let dir = std::env::temp_dir().join(format!("eos-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad_file = dir.join("bad.toml");
    std::fs::write(
        &bad_file,
        "name = \"x\"\nsummary = \"s\"\nprotocol = \"tv2\"\n[producers]\n[partitions]\ncount = 0\n",
    )
    .unwrap();
    let invalid = eos(&["check", bad_file.to_str().unwrap()]);
    assert_eq!(invalid.status.code(), Some(2));
    assert!(stderr(&invalid).contains("partitions.count"), "{}", stderr(&invalid));

    let missing = eos(&["check", "/nonexistent/scenario.toml"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("cannot read scenario file"), "{}", stderr(&missing));
}

/// `--json` prints a machine-readable report with per-property verdicts and the state counts.
#[test]
fn json_report_has_verdicts_and_counts() {
    let out = eos(&["check", "late-endtxn", "--protocol", "tv1", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON on stdout");
    assert_eq!(report["scenario"], "late-endtxn");
    assert_eq!(report["protocol"], "tv1");
    assert_eq!(report["exhaustive"], true);
    assert_eq!(report["as_expected"], true);
    assert!(report["unique_states"].as_u64().unwrap() > 100);
    let identity =
        report["properties"].as_array().unwrap().iter().find(|p| p["name"] == "transaction_identity").unwrap();
    assert_eq!(identity["verdict"], "violated");
    assert_eq!(identity["expected"], "violated");
}

/// --trace-out writes every counterexample and example as an eos-trace/1 file that replays on the model.
#[test]
fn trace_out_writes_valid_traces() {
    let dir = std::env::temp_dir().join(format!("eos-traces-{}", std::process::id()));
    let out = eos(&["check", "late-produce", "--protocol", "tv1", "--trace-out", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let mut counterexamples = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let trace = Trace::read(&entry.unwrap().path()).expect("a readable trace");
        assert_eq!(trace.scenario, "late-produce");
        trace.validate().unwrap_or_else(|(step, why)| panic!("step {step}: {why}"));
        counterexamples += usize::from(trace.origin == Origin::Counterexample);
    }
    assert_eq!(counterexamples, 5, "one per violated property");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `eos scenarios` lists every scenario with its expected verdicts.
#[test]
fn scenarios_lists_all() {
    let out = eos(&["scenarios", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let list: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names[0], "happy");
    for name in ["late-endtxn", "pitfall-no-fencing", "copier", "coordinator-failover"] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
}

/// `eos explore` refuses an address it cannot serve on, with exit 2 instead of a panic.
#[test]
fn explore_reports_a_bad_address() {
    let out = eos(&["explore", "basic", "--addr", "256.0.0.1:99999"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot serve on"), "{}", stderr(&out));
}
