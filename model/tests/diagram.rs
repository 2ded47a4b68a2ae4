//! The sequence diagram draws a lifeline per producer instance, the coordinator, every partition and
//! the group, and marks every kind of event: each action kind of the model, found on seeded random
//! walks, leaves its mark in the SVG.

use eos_model::diagram::sequence_diagram;
use eos_model::{scenario, Action, EosModel, Protocol, State};
use stateright::{Model, Path};

/// A random walk (a small xorshift generator, so the test needs no extra crate) of `scenario` that
/// takes an action of `kind`, ending right after it.
fn walk_to(name: &str, kind: &str) -> (EosModel, Path<State, Action>) {
    let model = EosModel::new(scenario::load(name).unwrap().with_protocol(Protocol::Tv2));
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..2000 {
        let mut state = model.init_states().remove(0);
        let mut actions_taken = Vec::new();
        for _ in 0..60 {
            let mut actions = Vec::new();
            model.actions(&state, &mut actions);
            if actions.is_empty() {
                break;
            }
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let action = actions.swap_remove((seed % actions.len() as u64) as usize);
            let Some(next) = model.next_state(&state, action.clone()) else { break };
            let done = action.kind() == kind;
            actions_taken.push(action);
            state = next;
            if done {
                let path = Path::from_actions(&model, model.init_states().remove(0), &actions_taken).unwrap();
                return (model, path);
            }
        }
    }
    panic!("no walk of {name} took a {kind}");
}

/// Every action kind is drawn with its mark.
#[test]
fn every_event_is_marked() {
    let cases = [
        ("basic", "ProducerStart", "start"),
        ("basic", "ProducerSend", "send to out-"),
        ("basic", "ProducerCommit", "commitTransaction"),
        ("basic", "ProducerAbort", "abortTransaction"),
        ("basic", "Lose", "lost"),
        ("basic", "ProducerRequestTimeout", "request timeout: re-send"),
        ("basic", "ProducerRetry", "retry requests"),
        ("copier", "ProducerSendOffsets", "sendOffsets"),
        ("copier", "ProducerFetchOffsets", "fetch offsets"),
        ("copier", "ProducerCrash", "✕ crash"),
        ("timeout-abort", "CoordinatorTimeout", "timed out"),
        ("coordinator-failover", "CoordinatorFailover", "⟲ failover"),
        ("coordinator-failover", "CoordinatorRetryMarkers", "retry txn-0 markers"),
        ("basic", "Deliver", "marker-end="),
        ("KAFKA-19446", "CoordinatorResendMarker", "marker request timeout: re-send"),
        ("producer-expiry", "PartitionExpireProducer", "expired"),
        ("transactional-id-expiry", "CoordinatorExpireTransactionalId", "txn-0 expired"),
        ("coordinator-append-failure", "CoordinatorAppendFails", "log append failed"),
        ("completion-append-failure", "CompletionAppendFails", "completion append failed"),
        ("copier-rebalance", "GroupRebalance", "rebalance: producer-0 rejoins"),
        ("coordinator-async-window", "CoordinatorAppendCompletes", "log append completed"),
        ("batch-expiry", "ProducerBatchExpires", "delivery timeout: batch given up"),
    ];
    let kinds: Vec<&str> = cases.iter().map(|(_, k, _)| *k).collect();
    for kind in Action::KINDS {
        assert!(kinds.contains(&kind), "action kind {kind} has no diagram test");
    }
    for (name, kind, mark) in cases {
        let (model, path) = walk_to(name, kind);
        let svg = sequence_diagram(&model, &path);
        assert!(svg.contains(mark), "{name}: {kind} is not marked with `{mark}`");
    }
}

/// Lifelines: one per producer instance, the coordinator, every partition, and the copier's group.
#[test]
fn lifelines_cover_every_participant() {
    let (model, path) = walk_to("copier", "ProducerSendOffsets");
    let svg = sequence_diagram(&model, &path);
    for lane in ["producer-0", "producer-1", "coordinator", "out-0", "group"] {
        assert!(svg.contains(&format!(">{lane}</text>")), "no lifeline {lane}");
    }
    let (model, path) = walk_to("happy", "ProducerCommit");
    let svg = sequence_diagram(&model, &path);
    for lane in ["producer-0", "producer-1", "coordinator", "out-0", "out-1"] {
        assert!(svg.contains(&format!(">{lane}</text>")), "no lifeline {lane}");
    }
    assert!(!svg.contains(">group</text>"), "no group without the copier");
}
