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
        "the state is terminal (nothing can happen any more) and out-0's LSO stays at 1: the transaction of \
         pid 1000 at offset 1 is never ended"
    );
    assert!(why("pitfall-no-idempotence", Protocol::Tv2, "idempotence").contains("twice"));
}
