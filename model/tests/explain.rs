//! Every property has an explainer, and on every discovery of every scenario it names the culprit
//! (never the fallback); the texts of the two examples are pinned.

use eos_model::check::{self, CheckOptions, Outcome};
use eos_model::explain::{self, Step};
use eos_model::{properties, scenario, EosModel, Protocol};

/// Every property of the catalogue has exactly one explainer, and every explainer a property.
#[test]
fn every_property_has_an_explainer() {
    for name in properties::ALL_NAMES {
        assert!(explain::explainer(name).is_some(), "property {name} has no explainer in explain::EXPLAINERS");
    }
    for (name, _) in explain::EXPLAINERS {
        assert!(properties::ALL_NAMES.contains(name), "explainer for unknown property {name}");
    }
    assert_eq!(explain::EXPLAINERS.len(), properties::ALL_NAMES.len());
}

/// On every counterexample and example the checker finds, under every protocol, the explainer finds
/// the culprit in the last state.
#[test]
fn every_discovery_is_explained() {
    let mut explained = std::collections::BTreeSet::new();
    for config in scenario::all() {
        for protocol in Protocol::ALL {
            let config = config.with_protocol(protocol);
            let model = EosModel::new(config.clone());
            let report = check::run(&config, &CheckOptions::default(), |_| {});
            for v in &report.verdicts {
                let Some(path) = v.outcome.path() else { continue };
                let steps = path.clone().into_vec();
                let n = steps.len();
                let step = Step {
                    model: &model,
                    before: (n > 1).then(|| &steps[n - 2].0),
                    action: (n > 1).then(|| steps[n - 2].1.as_ref()).flatten(),
                    after: &steps[n - 1].0,
                };
                let text = explain::explainer(v.name).unwrap()(&step);
                assert!(text.is_some(), "{} {protocol} {}: no explanation found", config.name, v.name);
                if std::env::var("EOS_PRINT_EXPLANATIONS").is_ok() {
                    println!("{} {protocol} {}: {}", config.name, v.name, text.unwrap());
                }
                explained.insert(v.name);
                if matches!(v.outcome, Outcome::Violated(_)) {
                    assert!(!explain::why(&model, v.name, path).contains("no finer explanation"));
                }
            }
        }
    }
}

fn why(name: &str, protocol: Protocol, property: &str) -> String {
    let config = scenario::load(name).unwrap().with_protocol(protocol);
    let report = check::run(&config, &CheckOptions::default(), |_| {});
    let verdict = report.verdicts.iter().find(|v| v.name == property).unwrap();
    let Outcome::Violated(path) = &verdict.outcome else { panic!("{name} {protocol}: {property} not violated") };
    explain::why(&EosModel::new(config), property, path)
}

/// The two examples: a late EndTxn ending the next attempt's transaction, and a liveness
/// counterexample that says the state is terminal and what is stuck.
#[test]
fn explanations_name_the_culprit() {
    assert_eq!(
        why("late-endtxn", Protocol::Tv1, "transaction_identity"),
        "txn-0: the EndTxn(commit) sent in attempt p0-t0 ended the transaction of attempt p0-t1"
    );
    assert_eq!(
        why("hanging-txn", Protocol::Tv1, "lso_advances"),
        "the state is terminal (nothing can happen any more but retry loops) and out-0's LSO stays at 1: the transaction of \
         pid 1000 at offset 1 is never ended"
    );
    assert!(why("pitfall-no-idempotence", Protocol::Tv2, "idempotence").contains("twice"));
}

/// The states of an example path of `scenario` (tv2) that reaches `property`.
fn example_states(name: &str, property: &str) -> Vec<eos_model::State> {
    let config = scenario::load(name).unwrap().with_protocol(Protocol::Tv2);
    let report = check::run(&config, &CheckOptions::default(), |_| {});
    let verdict = report.verdicts.into_iter().find(|v| v.name == property).unwrap();
    verdict.outcome.path().expect("an example").clone().into_states()
}

fn explained(model: &EosModel, property: &str, before: Option<&eos_model::State>, after: &eos_model::State) -> String {
    let step = Step { model, before, action: None, after };
    explain::explainer(property).unwrap()(&step).unwrap_or_else(|| panic!("{property}: no explanation"))
}

/// Properties no built-in scenario violates still get a specific reason: states broken by hand.
#[test]
fn explainers_of_properties_no_scenario_violates() {
    use eos_model::coordinator::TxnState;
    let model = EosModel::new(scenario::load("basic").unwrap().with_protocol(Protocol::Tv2));
    let states = example_states("basic", "commit_reached");
    let with = |state: TxnState| {
        states.iter().find(|s| s.coordinator.log[0].is_some_and(|r| r.state == state)).expect("a state").clone()
    };
    let ongoing = with(TxnState::Ongoing);
    let mut jumped = ongoing.clone();
    jumped.coordinator.log[0].as_mut().unwrap().state = TxnState::CompleteCommit;
    let text = explained(&model, "valid_coordinator_transitions", Some(&ongoing), &jumped);
    assert!(text.starts_with("txn-0 moved Ongoing → CompleteCommit"), "{text}");

    let mut older = ongoing.clone();
    older.coordinator.log[0].as_mut().unwrap().producer_epoch -= 1;
    let text = explained(&model, "epoch_monotonic", Some(&ongoing), &older);
    assert!(text.contains("went back from (1000, "), "{text}");

    let text = explained(&model, "ongoing_ends", None, &ongoing);
    assert!(text.starts_with("txn-0 stays Ongoing (pid 1000"), "{text}");
    let text = explained(&model, "prepare_completes", None, &with(TxnState::PrepareCommit));
    assert!(text.starts_with("txn-0 stays in PrepareCommit: its markers to [out-"), "{text}");

    let open = states.iter().find(|s| s.partitions[0].last_stable_offset() < s.partitions[0].high_watermark()).unwrap();
    let closed = states.last().unwrap();
    let mut regressed = open.clone();
    regressed.history.violate(eos_model::history::Violation::LsoRegressed);
    let text = explained(&model, "lso_bounded_and_monotone", Some(closed), &regressed);
    assert!(text.starts_with("out-0's last stable offset went back from"), "{text}");

    let copier = EosModel::new(scenario::load("copier").unwrap().with_protocol(Protocol::Tv2));
    let mut done = example_states("copier", "copier_completed").pop().unwrap();
    let by = done.group.group(0).committed_by.expect("committed in a transaction");
    done.history.decisions = Default::default();
    done.history.decisions.record(by, false);
    let text = explained(&copier, "offsets_visible_iff_committed", None, &done);
    assert!(text.contains(&format!("comes from attempt {by}, whose transaction was aborted")), "{text}");
}
