//! The ghost behind `no_spurious_fence`: which instances a coordinator step legitimately fences.
//! Metadata that a failed first InitProducerId left behind has no epoch and no holder, so the
//! InitProducerId that gives it its first epoch fences nobody; the one after it fences the first.

use eos_model::message::{Message, RequestBody};
use eos_model::{scenario, Action, EosModel, Protocol, State};
use stateright::Model;

fn init_in_flight(state: &State, producer: u8) -> eos_model::message::Request {
    *state
        .network
        .keys()
        .find_map(|m| match m {
            Message::Request(r) if r.from == producer && matches!(r.body, RequestBody::InitProducerId { .. }) => {
                Some(r)
            }
            _ => None,
        })
        .expect("the InitProducerId is in flight")
}

fn apply(model: &EosModel, state: &State, action: Action) -> State {
    model.next_state(state, action.clone()).unwrap_or_else(|| panic!("{action:?} applies"))
}

#[test]
fn a_first_epoch_after_a_failed_append_fences_nobody() {
    let mut config = scenario::load("coordinator-append-failure").unwrap().with_protocol(Protocol::Tv2);
    config.producers.instances = 2;
    let model = EosModel::new(config);
    let mut state = model.init_states().remove(0);
    state = apply(&model, &state, Action::ProducerStart { producer: 0 });
    let first = init_in_flight(&state, 0);
    state = apply(&model, &state, Action::CoordinatorAppendFails { request: first });
    state = apply(&model, &state, Action::ProducerStart { producer: 1 });
    let second = init_in_flight(&state, 1);
    state = apply(&model, &state, Action::Deliver { message: Message::Request(second) });
    assert!(
        state.history.fenced_instances.is_empty(),
        "producer 0 never held an epoch, yet counts as fenced: {:?}",
        state.history.fenced_instances
    );
    // Producer 0's answer (COORDINATOR_NOT_AVAILABLE) makes it re-send at once; the re-send bumps the epoch
    // producer 1 holds, and fences producer 1.
    let answer = *state
        .network
        .keys()
        .find(|m| matches!(m, Message::Response { request, .. } if *request == first))
        .expect("producer 0's answer is in flight");
    state = apply(&model, &state, Action::Deliver { message: answer });
    let again = init_in_flight(&state, 0);
    state = apply(&model, &state, Action::Deliver { message: Message::Request(again) });
    assert_eq!(state.history.fenced_instances.iter().collect::<Vec<_>>(), vec![1]);
}
