//! Every scenario gives the verdict its file expects, under every protocol; state counts are pinned;
//! symmetry reduction changes the count but not the verdicts.

use eos_model::check::{self, CheckOptions, CheckReport, Coverage, Outcome, Strategy};
use eos_model::{scenario, Config, Protocol};

fn check(config: &Config, symmetry: bool) -> CheckReport {
    let options = CheckOptions { strategy: Strategy::Dfs, symmetry, ..CheckOptions::default() };
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
    ("happy", Protocol::Tv2, 241_119),
    ("basic", Protocol::Tv2, 4932),
    ("basic", Protocol::Tv1, 11_255),
    ("hanging-txn", Protocol::Tv1, 84),
    ("late-endtxn", Protocol::Tv1, 785),
    ("pitfall-no-idempotence", Protocol::Tv2, 17),
    ("timeout-abort", Protocol::Tv2, 89),
    ("completion-append-failure", Protocol::Tv2, 150),
    ("completion-append-failure", Protocol::Tv1, 159),
    ("completion-append-failover", Protocol::Tv2, 90),
];

/// Every built-in scenario gives exactly the expected verdicts under tv1, tv1-verified and tv2, the
/// exploration is exhaustive, and the pinned state counts hold.
#[test]
fn every_scenario_gives_its_expected_verdict() {
    for config in scenario::all() {
        for protocol in Protocol::ALL {
            let report = check(&config.with_protocol(protocol), true);
            assert!(report.exhaustive(), "{} {protocol} was not explored exhaustively", config.name);
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
        ("basic", Protocol::Tv2, true, 4932),
        ("basic", Protocol::Tv2, false, 8886),
        ("basic", Protocol::Tv1, true, 11255),
        ("hanging-txn", Protocol::Tv1, true, 84),
        ("late-endtxn", Protocol::Tv1, true, 785),
        ("pitfall-no-idempotence", Protocol::Tv2, true, 17),
        ("timeout-abort", Protocol::Tv2, true, 89),
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
    let bfs = check::run(&config, &CheckOptions { strategy: Strategy::Bfs, ..CheckOptions::default() }, |_| {});
    let dfs = check(&config, true);
    assert_eq!(bfs.violated(), dfs.violated());
    for (b, d) in bfs.verdicts.iter().zip(&dfs.verdicts) {
        if let (Outcome::Violated(pb), Outcome::Violated(pd)) = (&b.outcome, &d.outcome) {
            assert!(pb.clone().into_actions().len() <= pd.clone().into_actions().len(), "{}", b.name);
        }
    }
}

fn steps(report: &CheckReport, property: &str) -> usize {
    let verdict = report.verdicts.iter().find(|v| v.name == property).unwrap();
    verdict.outcome.path().map(|p| p.clone().into_actions().len()).expect("a counterexample")
}

/// `--strategy bfs` gives a shortest counterexample: on pitfall-no-fencing (tv1) DFS finds a
/// 23-step counterexample of fenced_epochs_never_append, BFS one of 10 steps, and a depth-bounded
/// check proves that no counterexample of 9 steps or fewer exists. (stateright alone keeps the
/// last counterexample a BFS meets, not the first.)
#[test]
fn bfs_counterexamples_are_shortest() {
    let config = scenario::load("pitfall-no-fencing").unwrap().with_protocol(Protocol::Tv1);
    let property = "fenced_epochs_never_append";
    let bfs = check::run(&config, &CheckOptions { strategy: Strategy::Bfs, ..CheckOptions::default() }, |_| {});
    let dfs = check(&config, true);
    assert_eq!(steps(&bfs, property), 10, "BFS's counterexample length");
    assert_eq!(steps(&dfs, property), 23, "DFS's counterexample length (update if the DFS order changes)");
    let shallower = CheckOptions { max_depth: Some(9), ..CheckOptions::default() };
    let bounded = check::run(&config, &shallower, |_| {});
    assert!(matches!(bounded.coverage, Coverage::DepthBound { bound: 9 }), "{:?}", bounded.coverage);
    let verdict = bounded.verdicts.iter().find(|v| v.name == property).unwrap();
    assert!(matches!(verdict.outcome, Outcome::Holds), "no counterexample within 9 steps");
    for (b, d) in bfs.verdicts.iter().zip(&dfs.verdicts) {
        if let (Some(pb), Some(pd)) = (b.outcome.path(), d.outcome.path()) {
            assert!(pb.clone().into_actions().len() <= pd.clone().into_actions().len(), "{}", b.name);
        }
    }
}

/// A depth bound that cuts paths makes the run non-exhaustive; one that is never reached does not;
/// a simulation never is.
#[test]
fn bounded_runs_say_whether_they_are_exhaustive() {
    let config = scenario::load("basic").unwrap();
    let bounded = check::run(&config, &CheckOptions { max_depth: Some(5), ..CheckOptions::default() }, |_| {});
    assert_eq!(bounded.coverage, Coverage::DepthBound { bound: 5 });
    assert!(!bounded.all_hold() && !bounded.as_expected(), "a bounded run proves nothing");
    assert!(bounded.unique_states < 4932);
    assert_eq!(bounded.max_depth, 5);

    let full = check(&config, true);
    let roomy = CheckOptions { max_depth: Some(full.max_depth), ..CheckOptions::default() };
    let unreached = check::run(&config, &roomy, |_| {});
    assert_eq!(
        unreached.coverage,
        Coverage::Exhaustive,
        "a bound of the deepest path ({}) cuts nothing",
        full.max_depth
    );
    assert_eq!(unreached.unique_states, full.unique_states);
    let tighter = CheckOptions { max_depth: Some(full.max_depth - 1), ..CheckOptions::default() };
    assert!(!check::run(&config, &tighter, |_| {}).exhaustive(), "one step less cuts the deepest path");

    let sim = CheckOptions {
        strategy: Strategy::Simulation { seed: 7 },
        timeout: Some(std::time::Duration::from_millis(300)),
        ..CheckOptions::default()
    };
    let report = check::run(&scenario::load("hanging-txn").unwrap().with_protocol(Protocol::Tv1), &sim, |_| {});
    assert_eq!(report.coverage, Coverage::Simulation);
}

/// A time-out or a stop request (what SIGINT does) ends the run early with what it found so far,
/// reported as not exhaustive with the states left unexplored.
#[test]
fn stopped_runs_are_not_exhaustive() {
    let happy = scenario::load("happy").unwrap();
    let quick = CheckOptions { timeout: Some(std::time::Duration::from_millis(200)), ..CheckOptions::default() };
    let report = check::run(&happy, &quick, |_| {});
    let Coverage::TimedOut { frontier, .. } = report.coverage else { panic!("{:?}", report.coverage) };
    assert!(frontier > 0, "states were left to explore");
    assert!(report.unique_states < 482_235 && !report.all_hold());

    let options = CheckOptions::default();
    let stop = options.stop.clone();
    let mut polls = 0;
    let report = check::run(&happy, &options, |_| {
        polls += 1;
        if polls == 5 {
            stop.interrupt(2);
        }
    });
    assert!(matches!(report.coverage, Coverage::Interrupted { signal: 2, .. }), "{:?}", report.coverage);
    assert!(report.unique_states < 482_235);
}

/// The bug museum: every entry's bug is found with its fix off (exactly the properties the entry
/// names are violated, exhaustively) and gone with the fix on (every property holds).
#[test]
fn museum_bugs_are_found_with_their_fix_off_and_gone_with_it_on() {
    let museum = scenario::museum();
    assert!(museum.len() >= 10, "the museum has its entries");
    for fixed in museum {
        let report = check(&fixed, true);
        assert!(report.exhaustive() && report.all_hold(), "fix on: {}", describe(&report));
        let unfixed = fixed.without_fix().expect("a museum entry can switch its fix off");
        let report = check(&unfixed, true);
        let mut violated = report.violated();
        violated.sort_unstable();
        let expected: Vec<&str> = fixed.bug.as_ref().unwrap().violates.iter().map(String::as_str).collect();
        assert!(report.exhaustive(), "{}: not exhaustive", unfixed.name);
        assert_eq!(violated, expected, "fix off: {}", describe(&report));
    }
}

/// The large scenarios are `happy` one size up, each in exactly the field its name says; they load by
/// name but stay out of [`scenario::all`], which the default suites run under every protocol.
#[test]
fn large_scenarios_are_happy_one_size_up() {
    let happy = scenario::load("happy").unwrap();
    let mut two_transactions = scenario::load("happy-2txn").unwrap();
    assert_eq!(two_transactions.producers.transactions, 2);
    two_transactions.producers.transactions = happy.producers.transactions;
    let mut three_producers = scenario::load("happy-3p").unwrap();
    assert_eq!(three_producers.producers.transactional_ids, 3);
    three_producers.producers.transactional_ids = happy.producers.transactional_ids;
    for mut config in [two_transactions, three_producers] {
        assert!(!scenario::names().contains(&config.name.as_str()), "{} is in the default set", config.name);
        (config.name, config.summary) = (happy.name.clone(), happy.summary.clone());
        assert_eq!(config, happy, "a large scenario differs from happy beyond its size");
    }
    assert_eq!(scenario::large().len(), scenario::LARGE.len());
}
