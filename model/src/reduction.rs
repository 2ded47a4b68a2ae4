//! Partial-order reduction (opt-in: `eos check --reduction`, [`crate::check::CheckOptions::reduction`]).
//!
//! At some states the checker explores an *ample set* of the enabled actions instead of all of them:
//! the other actions happen in the same order after the ample ones, so interleaving them only
//! multiplies states. Two kinds of ample set are used ([`ample`] tries them in this order):
//!
//! * A **client turn**: a client none of whose requests is on its way to or held by a broker (only
//!   answers to it are in flight, if anything) takes its next step first. The ample set is every
//!   enabled action *of the client*: its own calls and ticks, and the delivery `D` and loss `L` of
//!   each answer to it. Only in scenarios without copier, crashes, timeouts of live transactions,
//!   failovers, duplicates, batch expiries and with one instance per transactional id
//!   ([`client_turns_apply`]), not
//!   while one of the answers is CONCURRENT_TRANSACTIONS, and not while the coordinator could time
//!   the client's transaction out as abandoned. A client in turn with nothing to do lends its turn
//!   to its transactional id's coordinator side (a **transaction turn**): while no marker of the id
//!   is in flight, the ample set is the delivery and loss of each answer to its markers and its
//!   marker-retry tick (only without marker duplicates and transactional-id expiry). Of several
//!   turns, the one with fewest actions goes.
//! * A **silent acknowledgement**: a successful Produce answer to a live client that awaits the
//!   request in flight (its only effect: the request leaves `awaiting`), or any answer to a crashed
//!   or fatally failed client (its only effect: it leaves the network); the ample set is its `D`
//!   (and `L`, while one loss is left). Only with no duplicates or batch expiries left to inject (an
//!   expiry reads whether the batch is still awaited), at most one loss left
//!   and, with one, no failed request of the client; not for a Java 4.x client under tv1, whose
//!   abort reads which batches are outstanding; not with pipelined batches, whose acknowledgements
//!   the client reads (its last acknowledged sequence decides whether an
//!   OUT_OF_ORDER_SEQUENCE_NUMBER is retried, and an unanswered earlier batch holds back a retry).
//!
//! Why every verdict is kept. Call the ample set `A` at a state `s`, and a path of the full model
//! from `s` that takes no action of `A` an *outside path*.
//!
//! 1. *Independence.* Every action of `A` commutes with every action of an outside path, and
//!    neither enables nor disables the other, except that a loss disables every other loss when one
//!    is left.
//!    - Client turn: nothing but the client's own actions reads or writes the client, apart from
//!      the coordinator's timeout of an abandoned transaction (which reads whether the client is
//!      still in it: excluded while enabled, and it cannot become enabled on an outside path, since
//!      with one instance per id and no failover only the client's own requests move its record into
//!      or out of Ongoing), the start of a later instance after a crash, the InitProducerId fence
//!      check of an awaited request and the pipelined-batch order of a Produce's delivery (none of
//!      these reads the client while none of its requests is in flight). No outside action can send
//!      the client anything, since only its requests, none of which a broker holds, would be
//!      answered; so no outside path has an action of the client at all. The client's actions write
//!      only the client, the network (messages of their own) and the ghost `acknowledged` (keyed by
//!      the client's own attempts).
//!    - Transaction turn: the id's record and pending markers are touched only by its client's
//!      requests (none in flight, and the client's own actions are in `A` or it has none), by the
//!      answers to its markers (a marker in flight is excluded, and only the coordinator's side of
//!      the id sends new ones), and by faults these scenarios do not have. Marker answers read the
//!      coordinator epoch (only a failover moves it) and write the id's record, its pending markers
//!      and ghost milestones (a set).
//!    - Silent acknowledgement: `D` touches one key of one client's `awaiting` and one message of
//!      the network. No other action reads that key's presence except through `awaiting.clear()`
//!      (commutes with its removal), monotone "nothing outstanding blocks commit" guards (removing a
//!      key only enables them), and the retry tick and request timeouts, which read *failed* or
//!      in-flight statuses: with no duplicates left and the request in flight, no such action can
//!      touch it. `L` marks the request failed: with one loss left no other loss can come before it,
//!      so no other request of the client fails first and its retry tick is not enabled.
//! 2. *No healing.* No action of `A` turns a violated safety property into a holding one, or a
//!    reached `sometimes` into an unreached one. A silent acknowledgement changes nothing a property
//!    reads. A client step changes, of what properties read, only the client's phase, whether it was
//!    told it is fenced (only ever set), whether it failed fatally by a fence (set once, on entering
//!    FatalError, after which the client ignores every answer and takes no step) and the ghost
//!    `acknowledged` (only grows, first outcome wins): `no_spurious_fence`, `no_lost_committed_write`
//!    and `producer_fenced_reached` are monotone in these. A marker answer takes its partition off
//!    the pending markers and, with the last, moves the record from Prepare* to Complete*: that
//!    only ends an open transaction (`no_hanging_transaction` can only fail more), reaches
//!    `commit_reached`/`abort_reached`, and adds ghost violations or milestones; a marker loss or
//!    the retry tick changes nothing a property reads. The liveness properties read more, but only
//!    at terminal states, and a state where an action of `A` is enabled is not terminal: `A` always
//!    holds an action that is neither a stutter nor a retry-loop step (a client's call, the
//!    delivery of an answer that is not CONCURRENT_TRANSACTIONS, or a marker answer or retry tick),
//!    and an outside path leaves it so.
//! 3. *No ignoring.* A sequence of steps that each take an ample action an outside path does not
//!    take is finite: a silent acknowledgement removes an answer and adds nothing, a loss spends the
//!    budget; a client in turn either sends a request (then it is out of turn until a broker answers,
//!    which no ample step does) or advances its script or its retries (finitely often); a marker
//!    answer removes a message and adds none, the marker-retry tick sends markers (then the id is
//!    out of turn until a leader answers, which no ample step does); and no ample step creates an
//!    answer.
//!
//! Then, for a path of the full model from `s` to a state `t` where a safety property is violated or
//! a `sometimes` reached, the reduced model reaches a state where it is too: if the path takes an
//! action of `A`, its first one moves to the front (1), one step fewer to go; if not, take an action
//! `a` of `A` that is not a loss: the same path then runs from `s·a` (1) and ends in `t·a`, which
//! keeps `t`'s violation or `sometimes` (2), and (3) bounds how often this happens before the path
//! shrinks. A liveness violation at a terminal `t` is the first case only, since `t` is terminal
//! (2). Every counterexample of the reduced model is a path of the full model (every reduced step is
//! a step of it), so it replays unchanged; `eos conformance` enumerates the full model
//! ([`EosModel::new`] leaves the reduction off).
//!
//! `model/tests/reduction.rs` checks that every scenario × protocol and every museum bug (fixed and
//! not) gives the same verdicts with and without it, that its counterexamples replay on the full
//! model, and pins the reduced state counts.

use crate::client::{Phase, RequestStatus};
use crate::coordinator::TxnState;
use crate::message::{Message, RequestBody};
use crate::model::EosModel;
use crate::state::{Action, State};
use crate::types::ErrorCode;
use crate::types::{ProducerIndex, TxnId};

/// The actions to explore at `state` instead of every enabled one, if a client is in turn or a
/// silent acknowledgement is in flight (see the module documentation).
pub fn ample(model: &EosModel, state: &State) -> Option<Vec<Action>> {
    client_turn(model, state).or_else(|| silent_acknowledgement(model, state))
}

/// Whether `config` lets a client's own steps commute with every step of the rest of the system:
/// nothing outside a client reads it except the abandoned-transaction timeout (checked per state),
/// a later instance's start after a crash, and the coordinator's check whether an InitProducerId is
/// still awaited, none of which a scenario without these faults and with one instance per
/// transactional id can take.
fn client_turns_apply(config: &crate::config::Config) -> bool {
    let f = &config.faults;
    !config.is_copier()
        && config.producers.instances == 1
        && f.producer_crashes == 0
        && f.timeouts == 0
        && f.coordinator_failovers == 0
        && f.duplicates == 0
        && f.batch_expirations == 0
}

/// Whether the coordinator's side of a transactional id (its marker answers and marker-retry tick)
/// may join its client's turn: nothing else can then touch that transactional id's record, since
/// the coordinator neither resends markers on a timeout nor expires ids.
fn transaction_turns_apply(config: &crate::config::Config) -> bool {
    let f = &config.faults;
    client_turns_apply(config)
        && config.producers.transactional
        && f.marker_duplicates == 0
        && f.transactional_id_expirations == 0
        && f.completion_append_failures == 0
}

/// A *client turn*: a live or dead client none of whose requests is on its way to or held by a
/// broker (only answers to it are in flight), so nothing but the client itself can change it or
/// send it anything. Its own enabled steps, and the deliveries and losses of the answers to it, are
/// then independent of every other step the system can take before them, and none of them heals a
/// violation: an ample set (see the module documentation). If the client has no step to take, the
/// *transaction turn* adds its transactional id's marker answers and marker-retry tick, when no
/// marker of the id is in flight. The smallest such set is taken.
fn client_turn(model: &EosModel, state: &State) -> Option<Vec<Action>> {
    if !client_turns_apply(&model.config) {
        return None;
    }
    (0..model.config.producer_count()).filter_map(|producer| turn_of(model, state, producer)).min_by_key(Vec::len)
}

fn turn_of(model: &EosModel, state: &State, producer: ProducerIndex) -> Option<Vec<Action>> {
    let mut ample = client_steps(model, state, producer)?;
    if ample.is_empty() && transaction_turns_apply(&model.config) {
        ample = marker_steps(state, model.config.txn_id_of(producer))?;
    }
    (!ample.is_empty()).then_some(ample)
}

/// The actions of `producer` if it is in turn (possibly none), `None` if it is not.
fn client_steps(model: &EosModel, state: &State, producer: ProducerIndex) -> Option<Vec<Action>> {
    let mut answers = Vec::new();
    for message in state.network.keys() {
        match message {
            Message::Response { request, reply } if request.from == producer => {
                // An answer the client re-sends at once may be a retry-loop step (a terminal state).
                if reply.error == ErrorCode::ConcurrentTransactions {
                    return None;
                }
                answers.push(*message);
            }
            Message::Request(request) | Message::Verify { request, .. } | Message::VerifyResponse { request, .. }
                if request.from == producer =>
            {
                return None
            }
            _ => {}
        }
    }
    let config = &model.config;
    if config.producers.transactional {
        // The coordinator's timeout of an abandoned transaction reads whether its client is still in it.
        let txn = config.txn_id_of(producer);
        let ongoing = state.coordinator.record(txn).is_some_and(|r| r.state == TxnState::Ongoing);
        if ongoing && model.is_abandoned(state, txn) {
            return None;
        }
    }
    let mut ample = Vec::new();
    model.client_actions(state, producer, &mut ample);
    push_deliveries(state, answers, &mut ample);
    Some(ample)
}

/// The coordinator's marker steps for `txn` (the answers to its markers, their losses, its
/// marker-retry tick), `None` while a marker of `txn` is in flight: a leader could answer it.
fn marker_steps(state: &State, txn: TxnId) -> Option<Vec<Action>> {
    let mut answers = Vec::new();
    for message in state.network.keys() {
        match message {
            Message::Marker(marker) if marker.txn == txn => return None,
            Message::MarkerResponse { marker, .. } if marker.txn == txn => answers.push(*message),
            _ => {}
        }
    }
    let mut ample = Vec::new();
    if state.coordinator.retry_tick_due(txn) {
        ample.push(Action::CoordinatorRetryMarkers { txn });
    }
    push_deliveries(state, answers, &mut ample);
    Some(ample)
}

/// The delivery of each of `messages` and, while a loss is left, its loss.
fn push_deliveries(state: &State, messages: Vec<Message>, ample: &mut Vec<Action>) {
    for message in messages {
        ample.push(Action::Deliver { message });
        if state.budget.losses > 0 {
            ample.push(Action::Lose { message });
        }
    }
}

/// The silent-acknowledgement reduction: a successful Produce answer, or an answer to a dead client.
fn silent_acknowledgement(model: &EosModel, state: &State) -> Option<Vec<Action>> {
    let budget = &state.budget;
    let pipelined = model.config.producers.batches_per_partition > 1 || model.config.producers.max_in_flight > 1;
    if budget.duplicates > 0
        || budget.batch_expirations > 0
        || budget.losses > 1
        || pipelined
        || crate::client::bumps_after_any_failed_batch(&model.config)
    {
        return None;
    }
    let message = state.network.keys().find(|m| is_silent_acknowledgement(state, m))?;
    let mut ample = vec![Action::Deliver { message: *message }];
    if budget.losses == 1 {
        ample.push(Action::Lose { message: *message });
    }
    Some(ample)
}

/// A Response whose delivery only takes it out of the network and its request out of `awaiting`,
/// and (while a loss is left) whose loss only marks its request failed.
fn is_silent_acknowledgement(state: &State, message: &Message) -> bool {
    let Message::Response { request, reply } = message else { return false };
    let client = &state.clients[usize::from(request.from)];
    if state.budget.losses == 1 && client.has_failed_requests() {
        return false;
    }
    match client.phase {
        // Permanent: the client ignores every answer from now on.
        Phase::Crashed | Phase::FatalError => true,
        _ => {
            client.phase.is_alive()
                && matches!(request.body, RequestBody::Produce { .. })
                && reply.error == ErrorCode::None
                && client.awaiting.get(request) == Some(&RequestStatus::InFlight)
        }
    }
}
