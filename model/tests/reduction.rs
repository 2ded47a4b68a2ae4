//! Partial-order reduction (`CheckOptions::reduction`, `eos check --reduction`) keeps every verdict:
//! the same properties violated and the same `sometimes` reached, on every scenario under every
//! protocol and on every museum bug with its fix on and off; and the reduced state counts are pinned.

use eos_model::check::{self, CheckOptions, CheckReport, Outcome};
use eos_model::{scenario, Config, Protocol};

fn check(config: &Config, reduction: bool) -> CheckReport {
    check::run(config, &CheckOptions { reduction, ..CheckOptions::default() }, |_| {})
}

/// Each property's verdict, as a word: what must not change under the reduction.
fn verdicts(report: &CheckReport) -> Vec<(&'static str, &'static str)> {
    let word = |outcome: &Outcome| match outcome {
        Outcome::Holds => "holds",
        Outcome::Violated(_) => "violated",
        Outcome::Reached(_) => "reached",
        Outcome::NotReached => "not reached",
    };
    report.verdicts.iter().map(|v| (v.name, word(&v.outcome))).collect()
}

/// Every configuration the suites check: each scenario under each protocol, each museum bug fixed
/// and unfixed.
fn every_configuration() -> Vec<Config> {
    let mut configs: Vec<Config> =
        scenario::all().iter().flat_map(|c| Protocol::ALL.map(|protocol| c.with_protocol(protocol))).collect();
    for fixed in scenario::museum() {
        let unfixed = fixed.without_fix().expect("a museum entry can switch its fix off");
        configs.extend([fixed, unfixed]);
    }
    configs
}

#[test]
fn reduction_keeps_every_verdict() {
    let mut reduced_somewhere = false;
    for config in every_configuration() {
        let full = check(&config, false);
        let reduced = check(&config, true);
        let what = format!("{} {}", config.name, config.protocol);
        assert!(full.exhaustive() && reduced.exhaustive(), "{what}: not exhaustive");
        assert_eq!(verdicts(&reduced), verdicts(&full), "{what}: the reduction changed a verdict");
        assert!(reduced.unique_states <= full.unique_states, "{what}: the reduction added states");
        reduced_somewhere |= reduced.unique_states < full.unique_states;
        // A counterexample of the reduced model is a path of the full model (it replays).
        let model = eos_model::EosModel::new(config.clone());
        for path in reduced.verdicts.iter().filter_map(|v| v.outcome.path()) {
            let actions = path.clone().into_actions();
            let start = path.clone().into_states()[0].clone();
            assert!(
                stateright::Path::from_actions(&model, start, &actions).is_some(),
                "{what}: a path does not replay"
            );
        }
    }
    assert!(reduced_somewhere, "the reduction never applies: this test would pass vacuously");
}

/// The comparison above can fail: the verdicts of a known bug and of its fix differ.
#[test]
fn verdict_comparison_tells_a_bug_from_its_fix() {
    let config = scenario::load("hanging-txn").unwrap();
    let buggy = check(&config.with_protocol(Protocol::Tv1), true);
    let fixed = check(&config.with_protocol(Protocol::Tv2), true);
    assert_ne!(verdicts(&buggy), verdicts(&fixed));
}

/// Unique-state counts with the reduction (DFS, symmetry on), against the full model's pinned in
/// `scenarios.rs`. Update them deliberately, with the reason in the commit.
#[test]
fn reduced_state_counts_are_pinned() {
    let pinned: &[(&str, Protocol, usize, usize)] = &[
        ("happy", Protocol::Tv2, 241_119, 54_372),
        ("happy", Protocol::Tv1, 264_244, 69_962),
        ("basic", Protocol::Tv2, 4932, 4552),
        ("two-transactions", Protocol::Tv2, 57_070, 53_470),
    ];
    for (name, protocol, full, reduced) in pinned {
        let config = scenario::load(name).unwrap().with_protocol(*protocol);
        assert_eq!(check(&config, false).unique_states, *full, "{name} {protocol}: full state count changed");
        assert_eq!(check(&config, true).unique_states, *reduced, "{name} {protocol}: reduced state count changed");
    }
}
