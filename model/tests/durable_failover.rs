//! `broker.appends_durable_at_failover` (specs/eos.md §4.5): an append in flight when the coordinator
//! fails over had become durable, so the new coordinator loads its record, while the late callback
//! answers NOT_COORDINATOR. Without the setting the same append never lands.

use eos_model::message::{Message, Reply, RequestBody};
use eos_model::types::ErrorCode;
use eos_model::{scenario, Action, EosModel, Protocol, State};
use stateright::Model;

fn apply(model: &EosModel, state: &State, action: Action) -> State {
    model.next_state(state, action.clone()).unwrap_or_else(|| panic!("{action:?} applies"))
}

/// A first InitProducerId delivered (its append in flight), then a failover.
fn init_then_failover(durable: bool) -> (EosModel, State, eos_model::message::Request) {
    let mut config = scenario::load("append-durable-failover").unwrap().with_protocol(Protocol::Tv2);
    config.broker.appends_durable_at_failover = durable;
    let model = EosModel::new(config);
    let mut state = apply(&model, &model.init_states().remove(0), Action::ProducerStart { producer: 0 });
    let init = *state
        .network
        .keys()
        .find_map(|m| match m {
            Message::Request(r) if matches!(r.body, RequestBody::InitProducerId { .. }) => Some(r),
            _ => None,
        })
        .expect("the InitProducerId is in flight");
    state = apply(&model, &state, Action::Deliver { message: Message::Request(init) });
    assert_eq!(state.coordinator.appends.len(), 1, "its append is in flight");
    state = apply(&model, &state, Action::CoordinatorFailover);
    (model, state, init)
}

#[test]
fn a_durable_append_is_loaded_and_its_late_callback_answers_not_coordinator() {
    let (model, state, init) = init_then_failover(true);
    let record = state.coordinator.record(0).expect("the new coordinator loaded the durable record");
    assert_eq!((record.producer_id, record.producer_epoch), (1000, 0));
    assert_eq!(state.coordinator.pending_states[0], None, "nothing pending at the new coordinator");
    assert_eq!(state.coordinator.appends.len(), 1, "the callback is still to come");
    let state = apply(&model, &state, Action::CoordinatorAppendCompletes { request: init });
    let answered = state.network.keys().any(|m| {
        matches!(m, Message::Response { request, reply: Reply { error: ErrorCode::NotCoordinator, .. } } if *request == init)
    });
    assert!(answered, "the late callback answers NOT_COORDINATOR");
    assert_eq!(state.coordinator.record(0).map(|r| r.producer_epoch), Some(0), "and changes nothing");
}

#[test]
fn without_the_setting_the_append_never_lands() {
    let (_, state, _) = init_then_failover(false);
    assert_eq!(state.coordinator.record(0), None, "the fresh metadata lived in memory only");
}
