//! Which traces a black-box broker can be made to follow (specs/wire-target.md §2), and a scheduler
//! over the model that makes only those.
//!
//! The harness controls the clients: it sends a request when the trace delivers it, never sends a
//! lost one, sends a duplicated one twice, and reads or drops each response. It does not control the
//! broker's own work: markers, their acknowledgements and completion, the leader's verification
//! round trip and the coordinator's transaction-log append happen right after the step that caused
//! them, whatever a client does. So a trace is realisable when the broker's work is *eager*: no
//! client step (and no timeout) is taken while any of it is in flight, and none of that traffic is
//! lost. The marker-retry tick only follows such a loss; a coordinator failover is a broker restart,
//! which the harness can do only to a broker it was told how to restart ([`Abilities`]); switching
//! epoch fencing off is not something Kafka can be configured to do. Everything else is realisable,
//! including transaction timeouts (a short `transaction.timeout.ms` for that transactional id, and
//! waiting).

use crate::trace::Trace;
use eos_model::coordinator::TxnState;
use eos_model::message::Message;
use eos_model::types::TxnId;
use eos_model::{Action, EosModel, State};
use serde::Serialize;
use stateright::Model;
use std::collections::BTreeSet;

/// Why a trace cannot be realised over the wire. Skipped traces are counted under these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unrealisable {
    /// The scenario switches epoch fencing off (a pitfall); Kafka always checks epochs.
    FencingOff,
    /// The scenario switches a Kafka fix off (the bug museum's unfixed run): the broker has the fix.
    FixOff,
    /// The trace reaches the end of the scenario's small epoch space (`broker.max_producer_epoch`),
    /// where the model moves to a new producer id; Kafka's epoch space (32767) cannot be shrunk.
    SmallEpochSpace,
    /// A marker or its acknowledgement is lost (or re-sent by the marker-retry tick after a loss):
    /// the broker's internal traffic cannot be lost on demand.
    BrokerMessageLost,
    /// The coordinator re-sends a marker while the original is still in flight (a marker request
    /// timeout): the broker's internal traffic cannot be duplicated on demand.
    BrokerMessageDuplicated,
    /// The coordinator fails over: that needs a broker restart, and the harness was not told how.
    CoordinatorFailover,
    /// A client step or a timeout while a marker or its acknowledgement is in flight: the broker
    /// does its own work first.
    ClientStepBeforeBrokerWork,
    /// A transaction timeout is awaited while another transactional id that times out in the
    /// trace has an open transaction, which would time out during the wait too.
    OverlappingTimeouts,
    /// A leader expires a producer's state: Kafka does so only after `producer.id.expiration.ms`.
    ProducerExpiry,
    /// The coordinator expires a transactional id: Kafka does so only after
    /// `transactional.id.expiration.ms` on its hourly expiry scan.
    TransactionalIdExpiry,
    /// The coordinator's transaction-log append fails: Kafka's cannot be made to fail on demand.
    TxnLogAppendFailure,
    /// A client step, a timeout or a failover while the coordinator's transaction-log append is in
    /// flight (`coordinator_append_round_trip`): Kafka completes its append inside the broker, right
    /// after the request that prepared it, so nothing can be scheduled inside the window.
    CoordinatorAppendRoundTrip,
    /// A client step or a timeout while the leader's verification round trip is in flight
    /// (`verification_round_trip`): Kafka's leader verifies inside its Produce handling, so nothing
    /// can be scheduled between the Produce and its verification's answer.
    VerificationRoundTrip,
}

impl Unrealisable {
    /// One line saying why.
    pub fn reason(self) -> &'static str {
        match self {
            Unrealisable::FencingOff => "epoch fencing is switched off; Kafka always checks epochs",
            Unrealisable::FixOff => "a Kafka fix is switched off (the bug museum); the broker has the fix",
            Unrealisable::SmallEpochSpace => {
                "the trace exhausts the scenario's small epoch space; Kafka's (32767) cannot be shrunk"
            }
            Unrealisable::BrokerMessageDuplicated => {
                "a marker is re-sent while in flight; the broker's own traffic cannot be duplicated on demand"
            }
            Unrealisable::BrokerMessageLost => {
                "a marker or its acknowledgement is lost; the broker's own traffic cannot be lost on demand"
            }
            Unrealisable::CoordinatorFailover => {
                "a coordinator failover needs a broker restart, which this run does not do"
            }
            Unrealisable::ClientStepBeforeBrokerWork => {
                "a client step while markers are in flight; the broker writes its markers first"
            }
            Unrealisable::OverlappingTimeouts => {
                "a transaction that times out in the trace would time out during another wait (a timeout or a restart)"
            }
            Unrealisable::ProducerExpiry => {
                "a leader expires a producer's state, which Kafka does only after producer.id.expiration.ms"
            }
            Unrealisable::CoordinatorAppendRoundTrip => {
                "a step inside the coordinator's transaction-log append window, which Kafka completes inside the broker first"
            }
            Unrealisable::TxnLogAppendFailure => {
                "the coordinator's transaction-log append fails, which the harness cannot make Kafka's do on demand"
            }
            Unrealisable::TransactionalIdExpiry => {
                "the coordinator expires a transactional id, which Kafka does only after transactional.id.expiration.ms"
            }
            Unrealisable::VerificationRoundTrip => {
                "a step inside the leader's verification round trip, which Kafka completes inside its Produce handling first"
            }
        }
    }

    /// Every reason, in report order.
    pub const ALL: [Unrealisable; 13] = [
        Unrealisable::FencingOff,
        Unrealisable::FixOff,
        Unrealisable::SmallEpochSpace,
        Unrealisable::BrokerMessageLost,
        Unrealisable::BrokerMessageDuplicated,
        Unrealisable::CoordinatorFailover,
        Unrealisable::ClientStepBeforeBrokerWork,
        Unrealisable::OverlappingTimeouts,
        Unrealisable::ProducerExpiry,
        Unrealisable::TransactionalIdExpiry,
        Unrealisable::TxnLogAppendFailure,
        Unrealisable::CoordinatorAppendRoundTrip,
        Unrealisable::VerificationRoundTrip,
    ];
}

/// Whether `action` is the broker's own work that follows a client step at once (a marker, a
/// verification or their answers delivered, a transaction-log append completed).
pub fn is_broker_work(action: &Action) -> bool {
    match action {
        Action::Deliver { message } => is_between_brokers(message),
        Action::CoordinatorAppendCompletes { .. } => true,
        _ => false,
    }
}

/// Whether `state` has broker work in flight.
pub fn broker_work_pending(state: &State) -> bool {
    pending_work(state).is_some()
}

/// Why a step that is not broker work cannot be taken in `state`, if broker work is in flight: the
/// window it would fall into.
fn pending_work(state: &State) -> Option<Unrealisable> {
    let verifying = |m: &Message| matches!(m, Message::Verify { .. } | Message::VerifyResponse { .. });
    if state.network.keys().any(verifying) {
        Some(Unrealisable::VerificationRoundTrip)
    } else if !state.coordinator.appends.is_empty() {
        Some(Unrealisable::CoordinatorAppendRoundTrip)
    } else if state.network.keys().any(is_between_brokers) {
        Some(Unrealisable::ClientStepBeforeBrokerWork)
    } else {
        None
    }
}

fn is_between_brokers(message: &Message) -> bool {
    matches!(
        message,
        Message::Marker(_) | Message::MarkerResponse { .. } | Message::Verify { .. } | Message::VerifyResponse { .. }
    )
}

/// What the harness can do to the broker besides being its clients.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Abilities {
    /// It can restart the broker: a coordinator failover is realised as a restart.
    pub restart: bool,
}

/// Why `action` can never be realised with `abilities`, if it cannot.
fn never(action: &Action, abilities: Abilities) -> Option<Unrealisable> {
    match action {
        Action::Lose { message: Message::Marker(_) | Message::MarkerResponse { .. } }
        | Action::CoordinatorRetryMarkers { .. } => Some(Unrealisable::BrokerMessageLost),
        Action::CoordinatorResendMarker { .. } => Some(Unrealisable::BrokerMessageDuplicated),
        Action::CoordinatorFailover if !abilities.restart => Some(Unrealisable::CoordinatorFailover),
        Action::PartitionExpireProducer { .. } => Some(Unrealisable::ProducerExpiry),
        Action::CoordinatorExpireTransactionalId { .. } => Some(Unrealisable::TransactionalIdExpiry),
        Action::CoordinatorAppendFails { .. } | Action::CompletionAppendFails { .. } => {
            Some(Unrealisable::TxnLogAppendFailure)
        }
        _ => None,
    }
}

/// Whether the trace fails the coordinator over (a broker restart: such traces run alone).
pub fn fails_over(trace: &Trace) -> bool {
    trace.steps.iter().any(|s| s.action == Action::CoordinatorFailover)
}

/// Whether a producer epoch in `state` has reached the exhaustion point (`max - 1`) of a scenario's
/// epoch space smaller than Kafka's: from there on the model's next bump moves to a new producer id
/// (and the bugs of epoch overflow live there), which Kafka does only at epoch 32766.
fn exhausts_small_epoch_space(state: &State, max_producer_epoch: i16) -> bool {
    max_producer_epoch < i16::MAX
        && state.coordinator.log.iter().flatten().any(|r| r.producer_epoch >= max_producer_epoch - 1)
}

/// The transactional ids with an Ongoing transaction in `state`.
fn ongoing(state: &State) -> BTreeSet<TxnId> {
    (0..state.coordinator.log.len())
        .filter(|t| state.coordinator.log[*t].as_ref().is_some_and(|r| r.state == TxnState::Ongoing))
        .map(|t| t as TxnId)
        .collect()
}

/// How a realisable trace is realised.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Transactional ids that time out in the trace: they ask for a short transaction timeout.
    pub timing_out: BTreeSet<TxnId>,
}

/// Whether `trace` can be realised over the wire: its plan, or the first step (1-based; 0 for the
/// scenario itself) that cannot be and why. `states` are the model's states along the trace
/// (initial first), as [`Trace::validate`] gives them.
pub fn check(trace: &Trace, states: &[State], abilities: Abilities) -> Result<Plan, (usize, Unrealisable)> {
    if !trace.config.guards.fencing {
        return Err((0, Unrealisable::FencingOff));
    }
    if !trace.config.fixes.off().is_empty() {
        return Err((0, Unrealisable::FixOff));
    }
    let timing_out: BTreeSet<TxnId> = trace
        .steps
        .iter()
        .filter_map(|s| match s.action {
            Action::CoordinatorTimeout { txn } => Some(txn),
            _ => None,
        })
        .collect();
    for (i, step) in trace.steps.iter().enumerate() {
        let before = &states[i];
        if exhausts_small_epoch_space(before, trace.config.broker.max_producer_epoch) {
            return Err((i + 1, Unrealisable::SmallEpochSpace));
        }
        if let Some(reason) = never(&step.action, abilities) {
            return Err((i + 1, reason));
        }
        if let Some(window) = pending_work(before).filter(|_| !is_broker_work(&step.action)) {
            return Err((i + 1, window));
        }
        // A wait (for a timeout, or for a restart) must not let another transaction time out.
        let waiting_for = match step.action {
            Action::CoordinatorTimeout { txn } => Some(Some(txn)),
            Action::CoordinatorFailover => Some(None),
            _ => None,
        };
        if let Some(except) = waiting_for {
            if ongoing(before).iter().any(|t| Some(*t) != except && timing_out.contains(t)) {
                return Err((i + 1, Unrealisable::OverlappingTimeouts));
            }
        }
    }
    Ok(Plan { timing_out })
}

/// `trace` with the broker's outstanding work done at its end: a trace that stops while markers are
/// in flight (a counterexample whose violating state is reached mid-way, a walk cut at its length)
/// cannot be compared there, because the broker does that work anyway; it is realised as its
/// extension by that work, in the scheduler's order. `states` (the model's, initial first) grow too.
pub fn complete(trace: &Trace, states: &mut Vec<State>) -> Option<Trace> {
    let model = trace.model();
    let mut steps = Vec::new();
    loop {
        let last = states.last().expect("at least the initial state");
        let mut enabled = Vec::new();
        model.actions(last, &mut enabled);
        let Some(work) = enabled.into_iter().find(is_broker_work) else { break };
        let next = model.next_state(last, work.clone()).expect("enabled actions apply");
        steps.push(crate::trace::Step { action: work, state: eos_model::observe::observe(&next) });
        states.push(next);
    }
    if steps.is_empty() {
        return None;
    }
    let mut extended = trace.clone();
    extended.steps.extend(steps);
    Some(extended)
}

/// The eager scheduler: the model's actions, restricted to realisable ones, with the broker's work
/// first. While a marker, a verification, their answers or a transaction-log append is in flight
/// only one such step is offered (the first in the model's order: the broker's internal order
/// cannot be chosen, and every order ends in the same state), so the harness never has to make the
/// broker wait. A state that has exhausted
/// a small epoch space (a museum scenario's) ends the graph: Kafka's epochs never get there.
pub fn eager_actions(model: &EosModel, state: &State, actions: &mut Vec<Action>, abilities: Abilities) {
    if exhausts_small_epoch_space(state, model.config.broker.max_producer_epoch) {
        return;
    }
    let mut all = Vec::new();
    model.actions(state, &mut all);
    if let Some(work) = all.iter().find(|a| is_broker_work(a)) {
        actions.push(work.clone());
        return;
    }
    actions.extend(all.into_iter().filter(|a| never(a, abilities).is_none()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use eos_model::scenario;

    /// The eager scheduler never offers an unrealisable action, and offers broker work alone.
    #[test]
    fn eager_actions_are_realisable() {
        let config = scenario::load("coordinator-failover").unwrap();
        let model = EosModel::new(config);
        let mut state = model.init_states().remove(0);
        let mut seen_work = false;
        let abilities = Abilities::default();
        for _ in 0..60 {
            let mut actions = Vec::new();
            eager_actions(&model, &state, &mut actions, abilities);
            assert!(actions.iter().all(|a| never(a, abilities).is_none()), "{actions:?}");
            assert!(!actions.contains(&Action::CoordinatorFailover), "no restart, no failover");
            if broker_work_pending(&state) {
                seen_work = true;
                assert_eq!(actions.len(), 1);
                assert!(is_broker_work(&actions[0]));
            }
            let Some(action) = actions.into_iter().next() else { break };
            state = model.next_state(&state, action).unwrap();
        }
        assert!(seen_work, "the walk should have ended a transaction");
        let initial = model.init_states().remove(0);
        let mut with_restart = Vec::new();
        eager_actions(&model, &initial, &mut with_restart, Abilities { restart: true });
        assert!(with_restart.contains(&Action::CoordinatorFailover), "a restart realises a failover");
    }

    /// A trace of `config`'s model along `actions` from its initial state.
    fn trace_of(config: &eos_model::Config, actions: &[Action]) -> Trace {
        let model = EosModel::new(config.clone());
        let path = stateright::Path::from_actions(&model, model.init_states().remove(0), actions).unwrap();
        Trace::from_path(config, crate::trace::Origin::Walk, None, &path)
    }

    /// An eager walk of `config`'s model (the scheduler's first action each time) that
    /// passes through windows of broker work `opens` starts, and the same walk with a client step
    /// (one `intrudes` picks) taken inside the first such window that has one enabled: (the eager
    /// actions, the actions of the variant).
    fn through_window(
        config: eos_model::Config,
        opens: impl Fn(&State) -> bool,
        intrudes: impl Fn(&Action) -> bool,
    ) -> (eos_model::Config, Vec<Action>, Vec<Action>) {
        let model = EosModel::new(config.clone());
        let mut state = model.init_states().remove(0);
        let mut eager = Vec::new();
        let mut variant = None;
        for _ in 0..80 {
            let mut actions = Vec::new();
            eager_actions(&model, &state, &mut actions, Abilities::default());
            if variant.is_none() && opens(&state) {
                let mut all = Vec::new();
                model.actions(&state, &mut all);
                if let Some(client_step) = all.into_iter().find(|a| !is_broker_work(a) && intrudes(a)) {
                    variant = Some([eager.clone(), vec![client_step]].concat());
                }
            }
            let Some(action) = actions.into_iter().next() else { break };
            state = model.next_state(&state, action.clone()).unwrap();
            eager.push(action);
        }
        let name = format!("{} {}", config.name, config.protocol);
        let variant = variant.unwrap_or_else(|| panic!("{name}: the walk never opens the window: {eager:?}"));
        (config, eager, variant)
    }

    /// The leader's verification round trip is realised where it is eager (the Produce's answer
    /// comes with the verification's, before any client step); a client step inside it is skipped.
    #[test]
    fn eager_verification_round_trips_are_realisable() {
        let verifying = |s: &State| s.network.keys().any(|m| matches!(m, Message::Verify { .. }));
        for protocol in [eos_model::Protocol::Tv1Verified, eos_model::Protocol::Tv2] {
            let (config, eager, variant) = through_window(
                scenario::load("pipelined-verification").unwrap().with_protocol(protocol),
                verifying,
                |_| true,
            );
            assert!(eager.iter().any(|a| matches!(a, Action::Deliver { message: Message::VerifyResponse { .. } })));
            let trace = trace_of(&config, &eager);
            assert!(check(&trace, &trace.validate().unwrap(), Abilities::default()).is_ok(), "{protocol}");
            let trace = trace_of(&config, &variant);
            let verdict = check(&trace, &trace.validate().unwrap(), Abilities::default());
            assert_eq!(verdict, Err((variant.len(), Unrealisable::VerificationRoundTrip)), "{protocol}");
        }
        let expiry = Action::PartitionExpireProducer { partition: 0, producer_id: 1000 };
        assert_eq!(never(&expiry, Abilities { restart: true }), Some(Unrealisable::ProducerExpiry));
        let expiry = Action::CoordinatorExpireTransactionalId { txn: 0 };
        assert_eq!(never(&expiry, Abilities { restart: true }), Some(Unrealisable::TransactionalIdExpiry));
    }

    /// The coordinator's append window is realised where it is eager (the append completes right
    /// after the request that prepared it); a client step (here a request-timeout re-send, or a
    /// failover with a restart at hand) inside it is skipped.
    #[test]
    fn eager_coordinator_append_windows_are_realisable() {
        let appending = |s: &State| !s.coordinator.appends.is_empty();
        for protocol in [eos_model::Protocol::Tv1, eos_model::Protocol::Tv2] {
            let (config, eager, variant) = through_window(
                scenario::load("coordinator-async-window").unwrap().with_protocol(protocol),
                appending,
                |_| true,
            );
            let completes = eager.iter().filter(|a| matches!(a, Action::CoordinatorAppendCompletes { .. })).count();
            assert!(completes >= 2, "{protocol}: InitProducerId and more are appended: {eager:?}");
            let trace = trace_of(&config, &eager);
            assert!(check(&trace, &trace.validate().unwrap(), Abilities { restart: true }).is_ok(), "{protocol}");
            let trace = trace_of(&config, &variant);
            let verdict = check(&trace, &trace.validate().unwrap(), Abilities { restart: true });
            assert_eq!(verdict, Err((variant.len(), Unrealisable::CoordinatorAppendRoundTrip)), "{protocol}");
        }
    }

    /// The copier's member rejoining is realised (the eager scheduler offers it, and a trace with it
    /// passes), but not while markers are in flight.
    #[test]
    fn group_rebalances_are_realisable() {
        let rejoins = |a: &Action| matches!(a, Action::GroupRebalance { .. });
        let marking = |s: &State| s.network.keys().any(|m| matches!(m, Message::Marker(_)));
        for protocol in [eos_model::Protocol::Tv1, eos_model::Protocol::Tv2] {
            let (config, eager, variant) =
                through_window(scenario::load("copier-rebalance").unwrap().with_protocol(protocol), marking, rejoins);
            let rebalanced = eager.iter().position(rejoins);
            let rebalanced = rebalanced.unwrap_or_else(|| panic!("{protocol}: the eager walk rebalances: {eager:?}"));
            let trace = trace_of(&config, &eager[..=rebalanced]);
            assert!(check(&trace, &trace.validate().unwrap(), Abilities::default()).is_ok(), "{protocol}");
            let trace = trace_of(&config, &variant);
            let verdict = check(&trace, &trace.validate().unwrap(), Abilities::default());
            assert_eq!(verdict, Err((variant.len(), Unrealisable::ClientStepBeforeBrokerWork)), "{protocol}");
        }
    }

    /// A copier of two groups is realised (the model's one offsets partition and Kafka's one per
    /// group cannot be told apart by what the harness compares, specs/wire-target.md §4); a loss of
    /// one of its markers still is not.
    #[test]
    fn two_groups_are_realisable() {
        let marking = |s: &State| s.network.keys().any(|m| matches!(m, Message::Marker(_)));
        let loses = |a: &Action| matches!(a, Action::Lose { message: Message::Marker(_) });
        let (config, eager, variant) = through_window(
            scenario::load("copier-two-groups").unwrap().with_protocol(eos_model::Protocol::Tv2),
            marking,
            loses,
        );
        assert_eq!(config.group_count(), 2);
        let offsets_of_group_1 = |a: &Action| {
            matches!(a, Action::Deliver { message: Message::Request(r) }
                if matches!(r.body, eos_model::message::RequestBody::TxnOffsetCommit { group: 1, .. }))
        };
        assert!(eager.iter().any(offsets_of_group_1), "the walk commits group 1's offsets: {eager:?}");
        let trace = trace_of(&config, &eager);
        assert!(check(&trace, &trace.validate().unwrap(), Abilities::default()).is_ok());
        let trace = trace_of(&config, &variant);
        let verdict = check(&trace, &trace.validate().unwrap(), Abilities::default());
        assert_eq!(verdict, Err((variant.len(), Unrealisable::BrokerMessageLost)));
    }

    /// A producer giving a batch up by its delivery timeout is realised (client bookkeeping: the
    /// harness sends the batch when the trace delivers it, if ever, and its client drops the
    /// answer), but not while broker work is in flight.
    #[test]
    fn batch_expiries_are_realisable() {
        let expires = |a: &Action| matches!(a, Action::ProducerBatchExpires { .. });
        let verifying = |s: &State| s.network.keys().any(|m| matches!(m, Message::Verify { .. }));
        let mut config = scenario::load("batch-expiry-txn").unwrap();
        config.broker.verification_round_trip = true;
        let model = EosModel::new(config.clone());
        // Two eager walks: one gives a batch up as soon as it may, the other never does, and
        // gives the variant that gives one up while its verification is in flight.
        let walk = |expire: bool| {
            let (mut state, mut eager, mut variant) = (model.init_states().remove(0), Vec::new(), None);
            for _ in 0..80 {
                let mut all = Vec::new();
                model.actions(&state, &mut all);
                if variant.is_none() && verifying(&state) {
                    variant = all.iter().find(|a| expires(a)).map(|a| [eager.clone(), vec![a.clone()]].concat());
                }
                let mut actions = Vec::new();
                eager_actions(&model, &state, &mut actions, Abilities::default());
                let Some(action) = actions.iter().find(|a| expires(a) == expire).or(actions.first()).cloned() else {
                    break;
                };
                state = model.next_state(&state, action.clone()).unwrap();
                eager.push(action);
            }
            (eager, variant)
        };
        let (eager, _) = walk(true);
        assert!(eager.iter().any(expires), "the eager walk gives a batch up: {eager:?}");
        let trace = trace_of(&config, &eager);
        assert!(check(&trace, &trace.validate().unwrap(), Abilities::default()).is_ok());
        let (_, variant) = walk(false);
        let variant = variant.expect("a batch may be given up while its verification is in flight");
        let trace = trace_of(&config, &variant);
        let verdict = check(&trace, &trace.validate().unwrap(), Abilities::default());
        assert_eq!(verdict, Err((variant.len(), Unrealisable::VerificationRoundTrip)));
    }

    /// A museum scenario with its fix off is never realised; its fixed twin is.
    #[test]
    fn fix_off_is_unrealisable() {
        let fixed = scenario::load("KAFKA-19367").unwrap();
        let unfixed = fixed.without_fix().unwrap();
        let model = EosModel::new(fixed.clone());
        let initial = model.init_states().remove(0);
        let observation = eos_model::observe::observe(&initial);
        let trace = |config| Trace::new(config, crate::trace::Origin::Walk, observation.clone(), Vec::new());
        let states = vec![initial.clone()];
        assert_eq!(check(&trace(&unfixed), &states, Abilities::default()), Err((0, Unrealisable::FixOff)));
        assert!(check(&trace(&fixed), &states, Abilities::default()).is_ok());
    }

    /// The eager graph of a scenario with a small epoch space ends where the space is exhausted
    /// (which it reaches), and a trace that takes a step from there is refused.
    #[test]
    fn small_epoch_space_ends_the_eager_graph() {
        let config = scenario::load("KAFKA-19367").unwrap();
        let max = config.broker.max_producer_epoch;
        let model = EosModel::new(config.clone());
        let mut seen = std::collections::HashSet::new();
        let mut queue = std::collections::VecDeque::from(model.init_states());
        let mut exhausted = None;
        while let Some(state) = queue.pop_front() {
            if !seen.insert(state.clone()) || seen.len() > 200_000 {
                continue;
            }
            let mut actions = Vec::new();
            eager_actions(&model, &state, &mut actions, Abilities::default());
            if exhausts_small_epoch_space(&state, max) {
                assert!(actions.is_empty(), "no step from an exhausted epoch space");
                exhausted.get_or_insert(state);
                continue;
            }
            queue.extend(actions.into_iter().filter_map(|a| model.next_state(&state, a)));
        }
        let state = exhausted.expect("the eager graph of KAFKA-19367 reaches the end of its epoch space");
        let mut all = Vec::new();
        model.actions(&state, &mut all);
        let action = all.into_iter().next().expect("the model goes on");
        let next = model.next_state(&state, action.clone()).unwrap();
        let step = crate::trace::Step { action, state: eos_model::observe::observe(&next) };
        let initial = eos_model::observe::observe(&state);
        let trace = Trace::new(&config, crate::trace::Origin::Walk, initial, vec![step]);
        assert_eq!(check(&trace, &[state, next], Abilities::default()), Err((1, Unrealisable::SmallEpochSpace)));
    }
}
