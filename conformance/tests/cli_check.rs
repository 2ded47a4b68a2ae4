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
    assert!(text.contains("expected by the scenario: no_hanging_transaction"), "{text}");
    assert!(text.contains("why: out-0 has a transaction of pid 1000 open"), "the reason is printed: {text}");
    assert!(
        text.contains(
            "explore this counterexample of no_hanging_transaction: `eos explore hanging-txn --protocol tv1`"
        ),
        "the link says what it shows: {text}"
    );
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

/// Bad numbers are refused with exit 2 and a message: never a panic, a wrap-around or a silent run.
#[test]
fn bad_numbers_are_refused() {
    for (args, wanted) in [
        (&["check", "basic", "--max-depth", "18446744073709551615"][..], "--max-depth"),
        (&["check", "basic", "--max-depth", "10001"][..], "0..=10000"),
        (&["check", "basic", "--threads", "100000"][..], "more than this machine can use"),
        (&["check", "basic", "--threads", "0"][..], "--threads"),
        (&["check", "basic", "--strategy", "bfs", "--threads", "2"][..], "bfs runs on one thread"),
        (&["check", "basic", "--timeout", "0"][..], "--timeout"),
        (&["check", "basic", "--timeout", "99999999999"][..], "--timeout"),
        (&["conformance", "basic", "--walks", "1000000000"][..], "--walks"),
        (&["conformance", "basic", "--walk-length", "0"][..], "--walk-length"),
    ] {
        let out = eos(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}{}", stdout(&out), stderr(&out));
        assert!(stderr(&out).contains(wanted), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"), "{args:?}: {}", stderr(&out));
    }
}

/// A scenario whose check runs for minutes (a large one: no default suite runs it), for the tests
/// that stop one early.
const LONG_RUN: &str = "happy-2txn";

/// A run that stops early never says that the properties hold nor exits 0: a depth bound that cuts
/// paths or a time-out exits 3 and says what was not explored; a bound that is never reached cuts
/// nothing and the run stays exhaustive.
#[test]
fn early_stops_are_inconclusive() {
    let cut = eos(&["check", "basic", "--max-depth", "5"]);
    assert_eq!(cut.status.code(), Some(3), "{}", stdout(&cut));
    let text = stdout(&cut);
    assert!(!text.contains("properties hold"), "{text}");
    assert!(text.contains("No violation found in 43 unique states"), "{text}");
    assert!(text.contains("not exhaustive: --max-depth 5 cut paths"), "{text}");

    let roomy = eos(&["check", "basic", "--max-depth", "200"]);
    assert_eq!(roomy.status.code(), Some(0), "{}", stdout(&roomy));
    assert!(stdout(&roomy).contains(": exhaustive"), "{}", stdout(&roomy));

    let walks = eos(&["check", "basic", "--strategy", "sim", "--timeout", "1"]);
    assert_eq!(walks.status.code(), Some(3), "{}", stdout(&walks));
    assert!(stdout(&walks).contains("states visited on random walks up to depth"), "{}", stdout(&walks));

    let timed = eos(&["check", LONG_RUN, "--timeout", "1", "--json"]);
    assert_eq!(timed.status.code(), Some(3));
    let report: serde_json::Value = serde_json::from_str(&stdout(&timed)).unwrap();
    assert_eq!(report["coverage"]["kind"], "timed_out");
    assert!(report["coverage"]["frontier"].as_u64().unwrap() > 0);
    assert_eq!(report["all_hold"], false);
    assert_eq!(report["exit_status"], 3);
}

/// SIGINT and SIGTERM stop the check: it prints the summary so far and exits 128 + the signal.
#[cfg(unix)]
#[test]
fn signals_print_the_summary_so_far() {
    for (signal, code) in [(libc::SIGINT, 130), (libc::SIGTERM, 143)] {
        use std::io::{BufRead, Read};
        let mut child = Command::new(env!("CARGO_BIN_EXE_eos"))
            .args(["check", LONG_RUN, "--threads", "1", "--progress", "json"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The first progress event shows the check is under way (and the handlers installed).
        let mut errors = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut first = String::new();
        errors.read_line(&mut first).unwrap();
        // SAFETY: sending a signal to the child we started.
        unsafe { libc::kill(child.id() as i32, signal) };
        let mut rest = String::new();
        errors.read_to_string(&mut rest).unwrap();
        let out = child.wait_with_output().unwrap();
        let errors = first.clone() + &rest;
        assert_eq!(out.status.code(), Some(code), "{}{errors}", stdout(&out));
        let text = stdout(&out);
        assert!(text.contains("not exhaustive: interrupted by SIG"), "{text}");
        assert!(!text.contains("properties hold"), "{text}");
        let events: Vec<serde_json::Value> =
            errors.lines().filter(|l| l.starts_with('{')).map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(events[0]["event"], "progress", "{errors}");
        let done = events.last().unwrap();
        assert_eq!(done["event"], "done");
        for field in ["unique_states", "states_per_second", "depth", "frontier", "rss_bytes", "elapsed_seconds"] {
            assert!(!done[field].is_null(), "{field} missing from {done}");
        }
        for field in ["unique_states", "rss_bytes"] {
            assert!(done[field].as_u64().unwrap() > 0, "{field} is 0 in {done}");
        }
    }
}

/// A scenario given by path gets explorer links that name that path, and `eos explore` accepts it.
#[test]
fn links_work_for_scenario_files() {
    let dir = std::env::temp_dir().join(format!("eos-cli-path-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("my hanging.toml");
    std::fs::write(&file, eos_model::scenario::BUILTIN.iter().find(|(n, _)| *n == "hanging-txn").unwrap().1).unwrap();
    let out = eos(&["check", file.to_str().unwrap(), "--protocol", "tv1"]);
    assert_eq!(out.status.code(), Some(1));
    let quoted = format!("`eos explore '{}' --protocol tv1`", file.display());
    assert!(stdout(&out).contains(&quoted), "{}", stdout(&out));
    let explore = eos(&["explore", file.to_str().unwrap(), "--addr", "256.0.0.1:1"]);
    assert!(stderr(&explore).contains("cannot serve on"), "the file loads: {}", stderr(&explore));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--report` writes one self-contained HTML page with the verdicts and, per counterexample, the
/// reason, the sequence diagram and the step table.
#[test]
fn html_report_is_self_contained() {
    let file = std::env::temp_dir().join(format!("eos-report-{}.html", std::process::id()));
    let out = eos(&["check", "late-endtxn", "--protocol", "tv1", "--report", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let html = std::fs::read_to_string(&file).unwrap();
    assert!(html.starts_with("<!doctype html>"));
    assert!(!html.contains("<script") && !html.contains("src="), "no external resources");
    assert_eq!(html.matches("<section class='counterexample'").count(), 4, "one section per violated property");
    assert_eq!(html.matches("<svg").count(), 4, "one diagram per counterexample");
    assert!(html.contains("txn-0: the EndTxn(commit) sent in attempt p0-t0 ended the transaction of attempt p0-t1"));
    std::fs::remove_file(&file).unwrap();
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
    assert_eq!(identity["unexpected_violation"], false);
    assert_eq!(
        identity["explanation"],
        "txn-0: the EndTxn(commit) sent in attempt p0-t0 ended the transaction of attempt p0-t1"
    );
    assert_eq!(report["coverage"]["kind"], "exhaustive");
    assert_eq!(report["exit_status"], 1);
    assert_eq!(report["unexpected_violations"].as_array().unwrap().len(), 0);
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

fn http_get(addr: &str, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split_once("\r\n\r\n").map(|(_, body)| body.to_string())
}

/// The deep link `eos check` prints opens in `eos explore`: the explorer serves the path's states
/// with the "what changed" lines (format_step), the compact state and the sequence diagram (as_svg).
#[test]
fn explorer_serves_the_printed_link() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let check = eos(&["check", "hanging-txn", "--protocol", "tv1", "--explorer", &addr]);
    let text = stdout(&check);
    let prefix = format!("http://{addr}/#/steps");
    let start = text.find(&prefix).expect("a deep link") + prefix.len();
    let path: String = text[start..].chars().take_while(|c| c.is_ascii_digit() || *c == '/').collect();
    let mut server = Command::new(env!("CARGO_BIN_EXE_eos"))
        .args(["explore", "hanging-txn", "--protocol", "tv1", "--addr", &addr])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut body = None;
    for _ in 0..100 {
        body = http_get(&addr, &format!("/.states{path}"));
        if body.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let views: serde_json::Value = serde_json::from_str(&body.expect("the explorer answers")).unwrap();
    let view = &views.as_array().expect("the next steps of the linked state")[0];
    assert!(view["svg"].as_str().unwrap().starts_with("<svg"), "{view}");
    assert!(view["svg"].as_str().unwrap().contains("no_hanging_transaction"), "the violation is highlighted");
    let outcome = view["outcome"].as_str().unwrap();
    assert!(outcome.contains("State {") && outcome.contains("out-0: [@0 ABORT"), "{outcome}");
    assert!(!outcome.contains("symmetry") && !outcome.contains("None"), "compact: {outcome}");
}

/// A violation the scenario does not expect is reported as such, in the text and in JSON.
#[test]
fn unexpected_violations_are_called_out() {
    let dir = std::env::temp_dir().join(format!("eos-cli-unexpected-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("hanging-unexpected.toml");
    let text = eos_model::scenario::BUILTIN.iter().find(|(n, _)| *n == "hanging-txn").unwrap().1;
    let text: String =
        text.lines().map(|l| if l.starts_with("tv1 =") { "tv1 = []" } else { l }).collect::<Vec<_>>().join("\n");
    std::fs::write(&file, text).unwrap();
    let out = eos(&["check", file.to_str().unwrap(), "--protocol", "tv1"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("no_hanging_transaction           VIOLATED"), "{text}");
    assert!(text.contains("[NOT EXPECTED by the scenario]"), "{text}");
    assert!(text.contains("NOT expected: no_hanging_transaction, lso_advances."), "{text}");
    let json = eos(&["check", file.to_str().unwrap(), "--protocol", "tv1", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(report["as_expected"], false);
    assert_eq!(report["unexpected_violations"], serde_json::json!(["no_hanging_transaction", "lso_advances"]));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--reduction` checks fewer states of `basic` with the same verdicts, and says so in the JSON report.
#[test]
fn reduction_flag_checks_fewer_states_with_the_same_verdicts() {
    let report = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec!["check", "basic", "--threads", "1", "--progress", "none", "--json"];
        args.extend_from_slice(extra);
        let out = eos(&args);
        assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
        serde_json::from_str(&stdout(&out)).expect("JSON on stdout")
    };
    let (full, reduced) = (report(&[]), report(&["--reduction"]));
    assert_eq!((&full["reduction"], &reduced["reduction"]), (&serde_json::json!(false), &serde_json::json!(true)));
    assert!(reduced["unique_states"].as_u64() < full["unique_states"].as_u64());
    let verdicts = |r: &serde_json::Value| -> Vec<(String, String)> {
        let properties = r["properties"].as_array().expect("properties");
        properties.iter().map(|p| (p["name"].to_string(), p["verdict"].to_string())).collect()
    };
    assert_eq!(verdicts(&reduced), verdicts(&full));
}
