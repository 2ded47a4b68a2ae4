//! `eos bugs`: the bug museum (`specs/scenarios/bugs/`). Each entry is a real bug, named by its id,
//! with the fix that removed it as a switch. For every entry the checker runs twice: with the fix off
//! it must find the counterexample and name exactly the properties the entry lists; with the fix on
//! every property must hold. The verdicts printed are measured, then compared with the file. With
//! `--conformance`, the fix-off counterexamples are also replayed against the implementation, which
//! has the same switch: they must be triaged as the entry says (`reproduced` when the implementation
//! has the switch).

use eos_conformance::inproc::implements_fix;
use eos_conformance::render::thousands;
use eos_conformance::suite::{self, SuiteOptions};
use eos_model::check::{self, CheckOptions, CheckReport};
use eos_model::{scenario, Config};
use serde::Serialize;

/// Arguments of `eos bugs`.
#[derive(clap::Args)]
pub struct Args {
    /// Only these bugs (by id; default: every one).
    bugs: Vec<String>,
    /// Also replay each bug's counterexamples (fix off) against the implementation.
    #[arg(long)]
    conformance: bool,
    /// Give up a check after this many seconds (the verdict is then not exhaustive).
    #[arg(long)]
    timeout: Option<u64>,
    /// Print a machine-readable JSON report on stdout.
    #[arg(long)]
    json: bool,
}

/// One run of the checker.
#[derive(Clone, Debug, Serialize)]
struct Run {
    violated: Vec<&'static str>,
    unique_states: usize,
    seconds: f64,
    exhaustive: bool,
    as_expected: bool,
}

impl Run {
    /// With the fix on, every property must hold and every `sometimes` be reached; with it off,
    /// exactly the expected properties must be violated (what the bug prevents from being reached,
    /// such as a fencing the client is no longer told of, is not judged).
    fn of(report: &CheckReport, fix_on: bool) -> Run {
        let mut expected: Vec<&str> = report.verdicts.iter().filter(|v| v.expected_violated).map(|v| v.name).collect();
        expected.sort_unstable();
        let mut violated = report.violated();
        let as_expected = if fix_on {
            report.as_expected()
        } else {
            violated.sort_unstable();
            violated == expected
        };
        Run {
            violated: report.violated(),
            unique_states: report.unique_states,
            seconds: report.elapsed.as_secs_f64(),
            exhaustive: report.exhaustive(),
            as_expected: as_expected && report.exhaustive(),
        }
    }
}

/// The conformance of the fix-off variant.
#[derive(Clone, Debug, Serialize)]
struct Triage {
    expected: String,
    classes: Vec<String>,
    traces: usize,
    passed: bool,
}

/// One entry of the museum, measured.
#[derive(Clone, Debug, Serialize)]
struct Entry {
    id: String,
    mechanism: String,
    link: String,
    fix: String,
    protocol: String,
    unfixed_protocol: String,
    expected_violations: Vec<String>,
    fix_off: Run,
    fix_on: Run,
    implementation_has_switch: bool,
    conformance: Option<Triage>,
}

impl Entry {
    fn passed(&self) -> bool {
        self.fix_off.as_expected && self.fix_on.as_expected && self.conformance.as_ref().is_none_or(|t| t.passed)
    }
}

fn check(config: &Config, timeout: Option<u64>, fix_on: bool) -> Run {
    let options = CheckOptions { timeout: timeout.map(std::time::Duration::from_secs), ..CheckOptions::default() };
    Run::of(&check::run(config, &options, |_| {}), fix_on)
}

fn triage(unfixed: &Config) -> Triage {
    let options = SuiteOptions { walks: 10, large_walks: 50, enumerate_limit: 20_000, ..SuiteOptions::default() };
    let report = suite::run(unfixed, &options);
    Triage {
        expected: format!("{:?}", unfixed.conformance.counterexamples).to_lowercase(),
        classes: report.counterexamples.iter().map(|c| format!("{:?}", c.class).to_lowercase()).collect(),
        traces: report.traces,
        passed: report.passed() && !report.counterexamples.is_empty(),
    }
}

fn measure(config: &Config, args: &Args) -> Entry {
    let bug = config.bug.as_ref().expect("museum scenarios have a [bug]");
    let unfixed = config.without_fix().expect("museum scenarios can switch their fix off");
    let fix_off = check(&unfixed, args.timeout, false);
    let fix_on = check(config, args.timeout, true);
    let conformance = args.conformance.then(|| triage(&unfixed));
    Entry {
        id: bug.id.clone(),
        mechanism: bug.mechanism.clone(),
        link: bug.link.clone(),
        fix: bug.fix.clone(),
        protocol: config.protocol.to_string(),
        unfixed_protocol: unfixed.protocol.to_string(),
        expected_violations: bug.violates.iter().cloned().collect(),
        fix_off,
        fix_on,
        implementation_has_switch: bug.fix == "protocol" || implements_fix(&bug.fix),
        conformance,
    }
}

/// Measures the museum and prints it; exit 1 if an entry does not give its expected verdicts.
pub fn run(args: Args) -> Result<u8, String> {
    let museum = scenario::museum();
    for wanted in &args.bugs {
        if !museum.iter().any(|c| &c.name == wanted) {
            let known: Vec<&str> = museum.iter().map(|c| c.name.as_str()).collect();
            return Err(format!("no bug `{wanted}` in the museum; known: {}", known.join(", ")));
        }
    }
    let mut entries = Vec::new();
    for config in museum.iter().filter(|c| args.bugs.is_empty() || args.bugs.contains(&c.name)) {
        let entry = measure(config, &args);
        if !args.json {
            print_entry(&entry);
        }
        entries.push(entry);
    }
    let passed = entries.iter().all(Entry::passed);
    if args.json {
        let report = serde_json::json!({ "passed": passed, "bugs": entries });
        println!("{}", serde_json::to_string_pretty(&report).expect("JSON"));
    } else {
        let ok = entries.iter().filter(|e| e.passed()).count();
        println!("\n{ok} of {} bugs rediscovered with their fix off and gone with it on.", entries.len());
    }
    Ok(if passed { crate::EXIT_OK } else { crate::EXIT_FAILED })
}

fn print_entry(e: &Entry) {
    let verdict = |run: &Run, off: bool| {
        let what = if off {
            if run.violated.is_empty() {
                "finds nothing".to_string()
            } else {
                format!("violates {}", run.violated.join(", "))
            }
        } else if run.violated.is_empty() {
            "every property holds".to_string()
        } else {
            format!("violates {}", run.violated.join(", "))
        };
        let exhaustive = if run.exhaustive { "" } else { ", not exhaustive" };
        format!("{what} ({} states, {:.2} s{exhaustive})", thousands(run.unique_states), run.seconds)
    };
    let fix =
        if e.fix == "protocol" { format!("{} instead of {}", e.protocol, e.unfixed_protocol) } else { e.fix.clone() };
    println!("{}  {}", e.id, if e.passed() { "ok" } else { "UNEXPECTED" });
    println!("    mechanism: {}", e.mechanism);
    println!(
        "    fix: {fix}; implementation has the switch: {}",
        if e.implementation_has_switch { "yes" } else { "no" }
    );
    println!("    fix off ({}): {}", e.unfixed_protocol, verdict(&e.fix_off, true));
    println!("    fix on  ({}): {}", e.protocol, verdict(&e.fix_on, false));
    if !e.fix_off.as_expected {
        println!("      expected: violates {}", e.expected_violations.join(", "));
    }
    if let Some(t) = &e.conformance {
        println!(
            "    conformance (fix off): {} traces, counterexamples [{}], expected {} — {}",
            thousands(t.traces),
            t.classes.join(", "),
            t.expected,
            if t.passed { "ok" } else { "FAILED" }
        );
    }
    println!("    {}", e.link);
}
