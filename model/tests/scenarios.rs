//! Every scenario gives the verdict its file expects, under every protocol; state counts are pinned;
//! symmetry reduction changes the count but not the verdicts.

use eos_model::check::{self, CheckOptions, CheckReport, Outcome, Strategy};
use eos_model::{scenario, Config, Protocol};

fn check(config: &Config, symmetry: bool) -> CheckReport {
    let options = CheckOptions { strategy: Strategy::Dfs, threads: 1, symmetry, max_depth: None, timeout: None };
    check::run(config, &options, |_| {})
}

fn describe(report: &CheckReport) -> String {
    let verdicts: Vec<String> = report
        .verdicts
        .iter()
        .map(|v| {
            let o = match v.outcome {
                Outcome::Holds => "holds",
                Outcome::Violated(_) => "VIOLATED",
                Outcome::Reached(_) => "reached",
                Outcome::NotReached => "NOT REACHED",
            };
            format!("{}={o}{}", v.name, if v.expected_violated { " (expected violated)" } else { "" })
        })
        .collect();
    format!("{} {}: {}", report.config.name, report.protocol(), verdicts.join(", "))
}

/// Unique-state counts (DFS, symmetry on) of scenarios, pinned: any change to the model's behaviour
/// shows up here first. Update them deliberately, with the reason in the commit.
const PINNED: &[(&str, Protocol, usize)] = &[
    ("happy", Protocol::Tv2, 482_235),
    ("basic", Protocol::Tv2, 4641),
    ("basic", Protocol::Tv1, 10_672),
    ("hanging-txn", Protocol::Tv1, 54),
    ("late-endtxn", Protocol::Tv1, 729),
    ("pitfall-no-idempotence", Protocol::Tv2, 12),
    ("timeout-abort", Protocol::Tv2, 107),
];

/// Every built-in scenario gives exactly the expected verdicts under tv1, tv1-verified and tv2, the
/// exploration is exhaustive, and the pinned state counts hold.
#[test]
fn every_scenario_gives_its_expected_verdict() {
    for config in scenario::all() {
        for protocol in Protocol::ALL {
            let report = check(&config.with_protocol(protocol), true);
            assert!(report.exhaustive, "{} {protocol} was not explored exhaustively", config.name);
            assert!(report.as_expected(), "unexpected verdict: {}", describe(&report));
            if let Some((_, _, pinned)) = PINNED.iter().find(|(n, p, _)| *n == config.name && *p == protocol) {
                assert_eq!(report.unique_states, *pinned, "{} {protocol}: unique states changed", config.name);
            }
        }
    }
}

/// The expectations are not vacuous: every known-bug and pitfall scenario expects a violation under
/// tv1, and every scenario expected to hold under tv2 really runs its properties.
#[test]
fn known_bugs_are_found_under_tv1_and_fixed_under_tv2() {
    for name in ["hanging-txn", "late-produce", "late-endtxn"] {
        let config = scenario::load(name).unwrap();
        let tv1 = check(&config.with_protocol(Protocol::Tv1), true);
        assert!(!tv1.violated().is_empty(), "{name}: tv1 should violate something: {}", describe(&tv1));
        let tv2 = check(&config.with_protocol(Protocol::Tv2), true);
        assert!(tv2.all_hold(), "{name}: tv2 should hold: {}", describe(&tv2));
    }
    let hanging = check(&scenario::load("hanging-txn").unwrap().with_protocol(Protocol::Tv1Verified), true);
    assert!(hanging.all_hold(), "KIP-890 part 1 (verification) prevents the hanging transaction");
}

/// Unique-state counts of the small scenarios are pinned: any change to the model's behaviour shows
/// up here first (update the numbers deliberately, with the reason in the commit).
#[test]
fn state_counts_are_pinned() {
    let pinned: &[(&str, Protocol, bool, usize)] = &[
        ("basic", Protocol::Tv2, true, 4641),
        ("basic", Protocol::Tv2, false, 8449),
        ("basic", Protocol::Tv1, true, 10672),
        ("hanging-txn", Protocol::Tv1, true, 54),
        ("late-endtxn", Protocol::Tv1, true, 729),
        ("pitfall-no-idempotence", Protocol::Tv2, true, 12),
        ("timeout-abort", Protocol::Tv2, true, 107),
    ];
    for (name, protocol, symmetry, expected) in pinned {
        let report = check(&scenario::load(name).unwrap().with_protocol(*protocol), *symmetry);
        assert_eq!(report.unique_states, *expected, "{name} {protocol} symmetry={symmetry}: unique states changed");
    }
}

/// Symmetry reduction explores fewer states where the scenario is symmetric, and never changes a
/// verdict.
#[test]
fn symmetry_reduces_states_without_changing_verdicts() {
    for name in ["basic", "zombie-fencing", "pitfall-no-fencing", "coordinator-failover"] {
        let config = scenario::load(name).unwrap();
        let with = check(&config, true);
        let without = check(&config, false);
        assert!(
            with.unique_states < without.unique_states,
            "{name}: {} vs {}",
            with.unique_states,
            without.unique_states
        );
        let names = |r: &CheckReport| r.violated();
        assert_eq!(names(&with), names(&without), "{name}: symmetry changed the verdicts");
    }
}

/// BFS (no symmetry) agrees with DFS on the known bugs, and finds counterexamples no longer than DFS.
#[test]
fn bfs_agrees_with_dfs() {
    let config = scenario::load("late-endtxn").unwrap().with_protocol(Protocol::Tv1);
    let options = CheckOptions { strategy: Strategy::Bfs, threads: 1, symmetry: false, max_depth: None, timeout: None };
    let bfs = check::run(&config, &options, |_| {});
    let dfs = check(&config, true);
    assert_eq!(bfs.violated(), dfs.violated());
    for (b, d) in bfs.verdicts.iter().zip(&dfs.verdicts) {
        if let (Outcome::Violated(pb), Outcome::Violated(pd)) = (&b.outcome, &d.outcome) {
            assert!(pb.clone().into_actions().len() <= pd.clone().into_actions().len(), "{}", b.name);
        }
    }
}

/// A depth bound makes the run non-exhaustive and is reported as such; a simulation too.
#[test]
fn bounded_runs_say_they_are_not_exhaustive() {
    let config = scenario::load("basic").unwrap();
    let bounded = check::run(&config, &CheckOptions { max_depth: Some(5), ..CheckOptions::default() }, |_| {});
    assert!(!bounded.exhaustive);
    assert!(bounded.unique_states < 4641);
    let sim = CheckOptions {
        strategy: Strategy::Simulation { seed: 7 },
        timeout: Some(std::time::Duration::from_millis(300)),
        ..CheckOptions::default()
    };
    let report = check::run(&scenario::load("hanging-txn").unwrap().with_protocol(Protocol::Tv1), &sim, |_| {});
    assert!(!report.exhaustive);
}
