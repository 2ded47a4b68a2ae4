//! Partial-order reduction (opt-in: `eos check --reduction`, [`crate::check::CheckOptions::reduction`]).
//!
//! At a state where the network holds an *acknowledgement that changes nothing the properties read*,
//! the checker explores only its delivery (and its loss, while one loss is left) instead of every
//! enabled action: the other actions happen in the same order after it, so interleaving the
//! acknowledgement with them only multiplies states. Such an acknowledgement is a Response that is
//!
//! * a successful Produce answer to a live client that awaits the request in flight (its only
//!   effect: the request leaves `awaiting`), or
//! * any answer to a crashed or fatally failed client (its only effect: it leaves the network).
//!
//! Call it `D` (deliver) and `L` (lose). Why exploring `{D}` (or `{D, L}`) alone keeps every verdict,
//! under the conditions [`ample`] checks (no duplicates left to inject, at most one loss left and,
//! with one, no failed request of the client; not a Java 4.x client under tv1, whose abort reads
//! which batches are outstanding; no pipelined batches, whose acknowledgements the client reads: its
//! last acknowledged sequence decides whether an OUT_OF_ORDER_SEQUENCE_NUMBER is retried, and an
//! unanswered earlier batch holds back a retry):
//!
//! 1. *Independence.* `D` touches one key of one client's `awaiting` and one message of the network.
//!    No other action reads that key's presence except through `awaiting.clear()` (commutes with its
//!    removal), monotone "nothing outstanding blocks commit" guards (removing a key only enables
//!    them), and the retry tick and request timeouts, which read *failed* or in-flight statuses:
//!    with no duplicates left and the request in flight, no such action can touch it. So `D`
//!    commutes with every other action and no other action disables it (only `L` does).
//!    `L` marks the request failed: with one loss left no other loss can come before it, so no other
//!    request of the client fails first and its retry tick is not enabled; `L` commutes with the rest.
//! 2. *Invisibility.* No property reads `awaiting` or the network, except the liveness properties
//!    through [`EosModel::is_terminal`], and a state with such a Response in flight is never terminal
//!    (a non-CONCURRENT_TRANSACTIONS answer is never a retry-loop step).
//! 3. *No ignoring.* Every reduced step removes a message and adds none, so no cycle consists of
//!    reduced steps only.
//!
//! Then for any path from a state `s` to a state `t` the full model reaches, the reduced model
//! reaches `t` or a state with `t`'s property values: if `D` or `L` occurs on the path, move its
//! first occurrence to the front (same `t`, one step fewer to go); if neither does, take `D` first
//! and reach `t` after `D`, which has `t`'s values (invisibility) and one message fewer. Either
//! measure decreases, so every violation, every `sometimes` example and every terminal state of the
//! full model has its match in the reduced one. Counterexamples are paths of the full model (every
//! reduced step is a step of it), so they replay unchanged; `eos conformance` enumerates the full
//! model ([`EosModel::new`] leaves the reduction off).
//!
//! `model/tests/reduction.rs` checks that every scenario × protocol and every museum bug (fixed and
//! not) gives the same verdicts with and without it, and pins the reduced state counts.

use crate::client::{Phase, RequestStatus};
use crate::message::{Message, RequestBody};
use crate::model::EosModel;
use crate::state::{Action, State};
use crate::types::ErrorCode;

/// The actions to explore at `state` instead of every enabled one, if an acknowledgement that
/// changes nothing the properties read is in flight (see the module documentation).
pub fn ample(model: &EosModel, state: &State) -> Option<Vec<Action>> {
    let budget = &state.budget;
    let pipelined = model.config.producers.batches_per_partition > 1 || model.config.producers.max_in_flight > 1;
    if budget.duplicates > 0
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
