//! A connection's pipelined batches reach the leader in the order they were sent (specs/eos.md §9):
//! a batch overtakes an earlier one only when that one was lost, and the original of a request-timeout
//! re-send (a copy its client no longer awaits) holds nothing back. Their answers come back in the same
//! order: a batch's answer overtakes an earlier batch's only when that one was lost.

use eos_model::message::{Message, Request, RequestBody};
use eos_model::{scenario, Action, EosModel, Protocol, State};
use stateright::Model;

fn enabled(model: &EosModel, state: &State) -> Vec<Action> {
    let mut actions = Vec::new();
    model.enabled_actions(state, &mut actions);
    actions
}

/// Takes the one enabled action `pick` selects.
fn step(model: &EosModel, state: &State, pick: impl Fn(&Action) -> bool) -> State {
    let actions: Vec<Action> = enabled(model, state).into_iter().filter(|a| pick(a)).collect();
    assert_eq!(actions.len(), 1, "exactly one such action: {actions:?}");
    model.next_state(state, actions[0].clone()).expect("an enabled action applies")
}

fn produce_in_flight(state: &State, sequence: i32, send: u8) -> Request {
    *state
        .network
        .keys()
        .find_map(|m| match m {
            Message::Request(r @ Request { body: RequestBody::Produce { sequence: s, .. }, .. })
                if *s == sequence && r.send == send =>
            {
                Some(r)
            }
            _ => None,
        })
        .expect("the batch is in flight")
}

fn response_in_flight(state: &State, request: Request) -> Message {
    *state
        .network
        .keys()
        .find(|m| matches!(m, Message::Response { request: r, .. } if *r == request))
        .expect("the batch's answer is in flight")
}

fn may_deliver_message(model: &EosModel, state: &State, message: Message) -> bool {
    let action = Action::Deliver { message };
    let enabled = enabled(model, state).contains(&action);
    assert_eq!(enabled, model.next_state(state, action).is_some(), "guard and effect agree");
    enabled
}

fn deliver(request: Request) -> Action {
    Action::Deliver { message: Message::Request(request) }
}

fn may_deliver(model: &EosModel, state: &State, request: Request) -> bool {
    let enabled = enabled(model, state).contains(&deliver(request));
    assert_eq!(enabled, model.next_state(state, deliver(request)).is_some(), "guard and effect agree");
    enabled
}

/// `pipelined` under tv2, after the producer sent batches 0 and 1 of its partition.
fn two_batches_in_flight() -> (EosModel, State) {
    let model = EosModel::new(scenario::load("pipelined").unwrap().with_protocol(Protocol::Tv2));
    let mut state = model.init_states().remove(0);
    state = step(&model, &state, |a| matches!(a, Action::ProducerStart { .. }));
    for _ in 0..2 {
        state = step(&model, &state, |a| matches!(a, Action::Deliver { .. }));
    }
    for _ in 0..2 {
        state = step(&model, &state, |a| matches!(a, Action::ProducerSend { .. }));
    }
    (model, state)
}

#[test]
fn a_later_batch_waits_for_the_earlier_one_on_its_connection() {
    let (model, state) = two_batches_in_flight();
    let (b0, b1) = (produce_in_flight(&state, 0, 0), produce_in_flight(&state, 1, 0));
    assert!(may_deliver(&model, &state, b0));
    assert!(!may_deliver(&model, &state, b1), "batch 1 overtook batch 0");
    let after_b0 = model.next_state(&state, deliver(b0)).unwrap();
    assert!(may_deliver(&model, &after_b0, b1));
}

#[test]
fn a_lost_batch_is_overtaken() {
    let (model, state) = two_batches_in_flight();
    let (b0, b1) = (produce_in_flight(&state, 0, 0), produce_in_flight(&state, 1, 0));
    let lost = model.next_state(&state, Action::Lose { message: Message::Request(b0) }).unwrap();
    assert!(may_deliver(&model, &lost, b1));
}

#[test]
fn the_original_of_a_timed_out_request_holds_nothing_back() {
    let (model, state) = two_batches_in_flight();
    let b0 = produce_in_flight(&state, 0, 0);
    let timed_out = model.next_state(&state, Action::ProducerRequestTimeout { producer: 0, request: b0 }).unwrap();
    let (copy, b1) = (produce_in_flight(&timed_out, 0, 1), produce_in_flight(&timed_out, 1, 0));
    // The re-send is awaited and earlier: batch 1 still waits for it; the original may arrive any time.
    assert!(!may_deliver(&model, &timed_out, b1));
    assert!(may_deliver(&model, &timed_out, b0) && may_deliver(&model, &timed_out, copy));
    let after_copy = model.next_state(&timed_out, deliver(copy)).unwrap();
    assert!(may_deliver(&model, &after_copy, b1), "the late original blocks nothing");
}

/// `two_batches_in_flight`, both batches taken by the leader: both answers on their way back.
fn two_answers_in_flight() -> (EosModel, State, Message, Message) {
    let (model, mut state) = two_batches_in_flight();
    let (b0, b1) = (produce_in_flight(&state, 0, 0), produce_in_flight(&state, 1, 0));
    state = model.next_state(&state, deliver(b0)).unwrap();
    state = model.next_state(&state, deliver(b1)).unwrap();
    let (a0, a1) = (response_in_flight(&state, b0), response_in_flight(&state, b1));
    (model, state, a0, a1)
}

#[test]
fn a_later_answer_waits_for_the_earlier_one_on_its_connection() {
    let (model, state, a0, a1) = two_answers_in_flight();
    assert!(may_deliver_message(&model, &state, a0));
    assert!(!may_deliver_message(&model, &state, a1), "batch 1's answer overtook batch 0's");
    let after_a0 = model.next_state(&state, Action::Deliver { message: a0 }).unwrap();
    assert!(may_deliver_message(&model, &after_a0, a1));
}

#[test]
fn a_lost_answer_is_overtaken() {
    let (model, state, a0, a1) = two_answers_in_flight();
    let lost = model.next_state(&state, Action::Lose { message: a0 }).unwrap();
    assert!(may_deliver_message(&model, &lost, a1));
}
