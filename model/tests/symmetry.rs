//! Symmetry reduction checked by brute force on every reachable state of small scenarios: every
//! renaming the classes allow is an automorphism of the model (same actions, same next states, same
//! property values, renamed), the fingerprint of a state under a renaming is the fingerprint of the
//! renamed state, and two states share a canonical fingerprint exactly when one is a renaming of the
//! other. A state field that is not renamed, not encoded, or renamed wrongly fails one of these.

use eos_model::symmetry::encode::fingerprint;
use eos_model::symmetry::rename::Rename;
use eos_model::symmetry::{canonical_fingerprint, Renaming};
use eos_model::{scenario, Action, Config, EosModel, Protocol, State};
use stateright::Model;
use std::collections::{HashMap, HashSet, VecDeque};

/// The states reachable from the initial state, breadth-first, at most `limit` of them.
fn reachable(model: &EosModel, limit: usize) -> Vec<State> {
    let init = model.init_states().remove(0);
    let mut seen: HashSet<State> = HashSet::from([init.clone()]);
    let mut order = vec![init];
    let mut queue = VecDeque::from([0usize]);
    let mut actions = Vec::new();
    while let Some(i) = queue.pop_front() {
        actions.clear();
        model.actions(&order[i], &mut actions);
        for action in actions.drain(..) {
            let Some(next) = model.next_state(&order[i], action) else { continue };
            if order.len() < limit && seen.insert(next.clone()) {
                queue.push_back(order.len());
                order.push(next);
            }
        }
    }
    order
}

fn sorted_actions(model: &EosModel, state: &State) -> Vec<Action> {
    let mut actions = Vec::new();
    model.actions(state, &mut actions);
    actions.sort();
    actions
}

/// Every renaming is an automorphism, and fingerprints under a renaming are fingerprints of renamed
/// states; returns the states checked.
fn check_renamings(config: &Config, limit: usize) -> Vec<State> {
    let model = EosModel::new(config.clone());
    let states = reachable(&model, limit);
    let renamings = states[0].symmetry.classes().all_renamings();
    let properties = model.properties();
    let name = format!("{} {}", config.name, config.protocol);
    for s in &states {
        let canonical = canonical_fingerprint(s);
        let actions = sorted_actions(&model, s);
        for r in &renamings {
            let renamed = s.rename(r);
            assert_eq!(fingerprint(s, r), fingerprint(&renamed, &Renaming::IDENTITY), "{name}: encoding under {r:?}");
            assert_eq!(canonical_fingerprint(&renamed), canonical, "{name}: canonical form not invariant under {r:?}");
            let mut expected: Vec<Action> = actions.iter().map(|a| a.rename(r)).collect();
            expected.sort();
            assert_eq!(sorted_actions(&model, &renamed), expected, "{name}: actions under {r:?} of {s:#?}");
            for a in &actions {
                let next = model.next_state(s, a.clone()).map(|n| n.rename(r));
                assert_eq!(model.next_state(&renamed, a.rename(r)), next, "{name}: {a:?} under {r:?}");
            }
            for p in &properties {
                assert_eq!((p.condition)(&model, &renamed), (p.condition)(&model, s), "{name}: {} under {r:?}", p.name);
            }
        }
    }
    states
}

/// Two states share a canonical fingerprint only when one is a renaming of the other.
fn check_exact(states: &[State]) {
    let renamings = states[0].symmetry.classes().all_renamings();
    let mut by_fingerprint: HashMap<u64, &State> = HashMap::new();
    for s in states {
        let first = *by_fingerprint.entry(canonical_fingerprint(s)).or_insert(s);
        assert!(
            renamings.iter().any(|r| first.rename(r) == *s),
            "different orbits share a fingerprint:\n{first:#?}\n{s:#?}"
        );
    }
}

/// Scenarios with partition, instance and no symmetry, under every protocol, exhaustively.
#[test]
fn renamings_are_automorphisms_and_fingerprints_exact() {
    for name in
        ["basic", "zombie-fencing", "pitfall-no-fencing", "coordinator-failover", "timeout-abort", "late-endtxn"]
    {
        for protocol in Protocol::ALL {
            let config = scenario::load(name).unwrap().with_protocol(protocol);
            let states = check_renamings(&config, usize::MAX);
            check_exact(&states);
        }
    }
}

/// The default scenario (two transactional ids), on its first 20,000 states.
#[test]
fn happy_renamings_are_automorphisms() {
    for protocol in Protocol::ALL {
        let config = scenario::load("happy").unwrap().with_protocol(protocol);
        let states = check_renamings(&config, 20_000);
        check_exact(&states);
    }
}

/// Two transactional ids (their blocks of instances move together): one instance each, two with
/// restarts after a crash, and two that may run at once (both symmetries combined).
#[test]
fn transactional_id_renamings_are_automorphisms() {
    let two_ids = r#"
        name = "two-ids"
        summary = "two transactional ids"
        protocol = "tv2"
        [producers]
        transactional_ids = 2
        client_aborts = true
        [partitions]
        count = 2
    "#;
    let restarts = two_ids.replace("client_aborts = true", "instances = 2\nrestart = \"after-crash\"")
        + "[faults]\nproducer_crashes = 1\n";
    let zombies = two_ids.replace("client_aborts = true", "instances = 2\nrestart = \"any-time\"");
    for (text, limit) in [(two_ids.to_string(), usize::MAX), (restarts, 10_000), (zombies, 10_000)] {
        for protocol in Protocol::ALL {
            let config = Config::from_toml("two-ids", &text).unwrap().with_protocol(protocol);
            let states = check_renamings(&config, limit);
            check_exact(&states);
        }
    }
}

/// The check above can fail: a fingerprint that ignores a field conflates states of different orbits.
#[test]
fn a_forgotten_field_is_caught() {
    let model = EosModel::new(scenario::load("basic").unwrap());
    let states = reachable(&model, usize::MAX);
    let blind_to_budget = |s: &State| {
        let mut t = s.clone();
        t.budget = Default::default();
        canonical_fingerprint(&t)
    };
    let mut by_fingerprint: HashMap<u64, &State> = HashMap::new();
    let renamings = states[0].symmetry.classes().all_renamings();
    let conflated = states.iter().any(|s| {
        let first = *by_fingerprint.entry(blind_to_budget(s)).or_insert(s);
        !renamings.iter().any(|r| first.rename(r) == *s)
    });
    assert!(conflated, "ignoring the fault budget must conflate states");
}
