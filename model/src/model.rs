//! The stateright `Model`: which actions are enabled (guards) and what they do (effects).

use crate::client::{ClientContext, Phase, RequestStatus};
use crate::config::{ClientVersion, Config, Protocol, Restart};
use crate::coordinator::{Effects, InFlightAppend, TxnState};
use crate::history::Violation;
use crate::message::{Message, Reply, Request, RequestBody};
use crate::partition::ProduceRequest;
use crate::properties;
use crate::state::{Action, State};
use crate::types::*;
use stateright::{Model, Property};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Kafka's exactly-once semantics under one scenario.
#[derive(Clone, Debug)]
pub struct EosModel {
    /// The scenario.
    pub config: Config,
    /// Set to stop a running check: every new state is then outside the boundary, so the checker
    /// drains its pending states and finishes (stateright's own timeout does not stop a
    /// single-threaded DFS).
    pub stop: Arc<AtomicBool>,
    /// Set while a check runs: keeps each property's first discovery (see [`crate::discovery`]).
    /// Unset in the explorer, whose property statuses must be the plain ones.
    pub first_discoveries: Option<Arc<crate::discovery::FirstDiscoveries>>,
    /// Explore only an ample set of actions where [`crate::reduction`] finds one (a partial-order
    /// reduction that keeps every verdict). Off in [`EosModel::new`]: conformance, replay and the
    /// explorer see every edge of the model.
    pub reduction: bool,
}

impl EosModel {
    /// The model of `config`.
    pub fn new(config: Config) -> EosModel {
        EosModel { config, stop: Arc::new(AtomicBool::new(false)), first_discoveries: None, reduction: false }
    }

    fn may_start(&self, state: &State, producer: ProducerIndex) -> bool {
        match self.config.producers.restart {
            Restart::AnyTime => true,
            Restart::AfterCrash => {
                self.config.instance_of(producer) == 0
                    || matches!(state.clients[usize::from(producer) - 1].phase, Phase::Crashed | Phase::FatalError)
            }
        }
    }

    /// No live producer can still end `txn`'s Ongoing transaction, so its timeout costs no budget.
    pub fn is_abandoned(&self, state: &State, txn: TxnId) -> bool {
        let Some(record) = state.coordinator.record(txn) else {
            return true;
        };
        !state.clients.iter().enumerate().any(|(i, c)| {
            self.config.txn_id_of(i as ProducerIndex) == txn
                && c.phase.in_transaction()
                && c.producer_id == Some(record.producer_id)
                && c.epoch == record.producer_epoch
        })
    }

    /// The enabled actions of producer instance `producer` itself (its calls, retry tick, timeouts and
    /// crash), without the network's deliveries to it.
    pub(crate) fn client_actions(&self, state: &State, producer: ProducerIndex, actions: &mut Vec<Action>) {
        let c = &state.clients[usize::from(producer)];
        let config = &self.config;
        if c.phase == Phase::Uninitialized && self.may_start(state, producer) {
            actions.push(Action::ProducerStart { producer });
        }
        for partition in 0..config.partitions.count {
            if c.can_send(config, partition) {
                actions.push(Action::ProducerSend { producer, partition });
            }
        }
        if c.can_send_offsets(config) {
            actions.push(Action::ProducerSendOffsets { producer });
        }
        if c.phase == Phase::FetchingOffsets {
            actions.push(Action::ProducerFetchOffsets { producer });
        }
        if c.can_commit(config) {
            actions.push(Action::ProducerCommit { producer });
        }
        if c.can_abort(config) {
            actions.push(Action::ProducerAbort { producer });
        }
        if c.phase.is_alive() && c.has_failed_requests() {
            actions.push(Action::ProducerRetry { producer });
        }
        if state.budget.duplicates > 0 && c.phase.is_alive() {
            for (request, status) in c.awaiting.iter() {
                if *status == RequestStatus::InFlight {
                    actions.push(Action::ProducerRequestTimeout { producer, request: *request });
                }
            }
        }
        if state.budget.batch_expirations > 0 && c.phase.is_alive() {
            for request in c.awaiting.keys().filter(|r| r.produce_partition().is_some()) {
                actions.push(Action::ProducerBatchExpires { producer, request: *request });
            }
        }
        let idle = c.phase == Phase::Ready && c.script_done(config);
        if state.budget.producer_crashes > 0 && c.phase.is_alive() && !idle {
            actions.push(Action::ProducerCrash { producer });
        }
    }

    /// Whether `action` changes nothing (an OffsetFetch answered UNSTABLE_OFFSET_COMMIT): such
    /// actions do not keep a state from being terminal.
    pub fn is_stutter(&self, state: &State, action: &Action) -> bool {
        matches!(action, Action::ProducerFetchOffsets { .. }) && state.group.group(0).offset_fetch().is_err()
    }

    /// Whether `action` only turns a retry loop: a CONCURRENT_TRANSACTIONS answer the client will
    /// re-send at once, or the delivery of a request the receiver answers CONCURRENT_TRANSACTIONS
    /// without changing anything else. A state whose every action is such a step (or a stutter) can
    /// only spin: liveness is judged there as at a terminal state.
    fn is_retry_loop_step(&self, state: &State, action: &Action) -> bool {
        let Action::Deliver { message } = action else { return false };
        match message {
            Message::Response { request, reply } => {
                // The client re-sends the request at once: a loop step if that request, delivered,
                // is answered CONCURRENT_TRANSACTIONS again without anything else changing.
                reply.error == ErrorCode::ConcurrentTransactions
                    && state.clients[usize::from(request.from)].awaiting.contains_key(request)
                    && self.next_state(state, action.clone()).is_some_and(|next| {
                        let again = Action::Deliver { message: Message::Request(*request) };
                        self.is_retry_loop_step(&next, &again)
                    })
            }
            Message::Request(request) => {
                let awaited = state.clients[usize::from(request.from)].awaiting.contains_key(request);
                awaited
                    && self.next_state(state, action.clone()).is_some_and(|next| {
                        let answered = Message::Response {
                            request: *request,
                            reply: Reply::error(ErrorCode::ConcurrentTransactions),
                        };
                        next.network.contains_key(&answered)
                            && next.clients == state.clients
                            && next.coordinator == state.coordinator
                            && next.partitions == state.partitions
                            && next.group == state.group
                            && next.history == state.history
                    })
            }
            _ => false,
        }
    }

    /// A state with nothing left to do but stutter or spin in a retry loop: where liveness is judged
    /// (stateright's `eventually` is unsound on cycles).
    pub fn is_terminal(&self, state: &State) -> bool {
        // Delivering a message is never a stutter, and a retry loop has only requests and
        // CONCURRENT_TRANSACTIONS answers in flight: most states answer here.
        let may_loop = |m: &Message| match m {
            Message::Request(_) => true,
            Message::Response { reply, .. } => reply.error == ErrorCode::ConcurrentTransactions,
            Message::Marker(_) | Message::MarkerResponse { .. } => false,
            Message::Verify { .. } | Message::VerifyResponse { .. } => false,
        };
        if !state.network.keys().all(may_loop) {
            return false;
        }
        let mut actions = Vec::new();
        self.enabled_actions(state, &mut actions);
        let (deliveries, others): (Vec<&Action>, Vec<&Action>) =
            actions.iter().partition(|a| matches!(a, Action::Deliver { message: Message::Request(_) }));
        others.iter().all(|a| self.is_stutter(state, a) || self.is_retry_loop_step(state, a))
            && deliveries.iter().all(|a| self.is_retry_loop_step(state, a))
    }

    /// Whether producer instance `producer` still runs and has work left (a live producer that must
    /// make progress).
    pub fn has_work_left(&self, state: &State, producer: ProducerIndex) -> bool {
        let c = &state.clients[usize::from(producer)];
        c.phase.is_alive() && !(c.phase == Phase::Ready && c.script_done(&self.config))
    }

    /// Whether delivering `message` would let a pipelined batch overtake an earlier batch of its
    /// partition that its producer still awaits and that is still on its way to the leader, or let
    /// a batch's answer overtake the answer to such an earlier batch on its way back. Kafka's
    /// leader takes a connection's requests in the order they were sent, one at a time
    /// (`SocketServer`'s processor mutes a channel until its response is sent), so it answers them
    /// in that order, and Java's client answers a request timeout by closing the connection, which
    /// fails every request in flight on it (`NetworkClient.handleTimedOutRequests`,
    /// `cancelInFlightRequests`): a batch or its answer overtakes an earlier one only when that one
    /// was lost (specs/eos.md §9). A copy the client no longer awaits (the original of a
    /// request-timeout re-send, or its answer) holds nothing back: it stands for a request the broker
    /// processes late. Only pipelined scenarios (`max_in_flight` > 1) have two batches of a partition
    /// in flight at once.
    fn overtakes_earlier_batch(&self, state: &State, message: &Message) -> bool {
        let (Message::Request(request) | Message::Response { request, .. }) = message else { return false };
        if self.config.producers.max_in_flight <= 1 || request.produce_partition().is_none() {
            return false;
        }
        let client = &state.clients[usize::from(request.from)];
        state.network.keys().any(|earlier| {
            earlier.precedes_on_connection(message)
                && matches!(earlier, Message::Request(e) | Message::Response { request: e, .. }
                    if client.awaiting.get(e) == Some(&RequestStatus::InFlight))
        })
    }

    /// Every enabled action (the model's full transition relation; [`Model::actions`] may explore an
    /// ample subset of these, see [`crate::reduction`]).
    pub fn enabled_actions(&self, state: &State, actions: &mut Vec<Action>) {
        for producer in 0..self.config.producer_count() {
            self.client_actions(state, producer, actions);
        }
        for message in state.network.keys() {
            if !self.overtakes_earlier_batch(state, message) {
                actions.push(Action::Deliver { message: *message });
            }
        }
        for append in state.coordinator.appends.iter() {
            actions.push(Action::CoordinatorAppendCompletes { request: append.request });
        }
        if state.budget.txn_log_append_failures > 0 {
            if self.appends_by_round_trip() {
                // The failure hits an append in flight.
                for append in state.coordinator.appends.iter() {
                    actions.push(Action::CoordinatorAppendFails { request: append.request });
                }
            } else {
                for message in state.network.keys() {
                    if let Message::Request(request) = message {
                        if state.coordinator.prepared_transition(request, &self.config).is_some() {
                            actions.push(Action::CoordinatorAppendFails { request: *request });
                        }
                    }
                }
            }
        }
        if state.budget.completion_append_failures > 0 {
            for message in state.network.keys() {
                if let Message::MarkerResponse { marker, error: ErrorCode::None } = message {
                    if state.coordinator.completes_with(marker) {
                        actions.push(Action::CompletionAppendFails { marker: *marker });
                    }
                }
            }
        }
        if state.budget.losses > 0 {
            for message in state.network.keys() {
                if !matches!(message, Message::Verify { .. } | Message::VerifyResponse { .. }) {
                    actions.push(Action::Lose { message: *message });
                }
            }
        }
        if state.budget.marker_duplicates > 0 {
            for message in state.network.keys() {
                if let Message::Marker(marker) = message {
                    if state.coordinator.awaits_marker(marker) {
                        actions.push(Action::CoordinatorResendMarker { marker: *marker });
                    }
                }
            }
        }
        for txn in 0..self.config.producers.transactional_ids {
            if state.coordinator.retry_tick_due(txn) {
                actions.push(Action::CoordinatorRetryMarkers { txn });
            }
            // Kafka's `timedOutTransactions` skips an id with a pending transition.
            let ongoing = state.coordinator.record(txn).is_some_and(|r| r.state == TxnState::Ongoing)
                && !state.coordinator.pending(txn);
            if ongoing && (state.budget.timeouts > 0 || self.is_abandoned(state, txn)) {
                actions.push(Action::CoordinatorTimeout { txn });
            }
            if state.budget.transactional_id_expirations > 0 && state.coordinator.may_expire(txn, self.config.protocol)
            {
                actions.push(Action::CoordinatorExpireTransactionalId { txn });
            }
        }
        if state.budget.coordinator_failovers > 0 {
            actions.push(Action::CoordinatorFailover);
        }
        for producer_id in state.group.deferred.keys() {
            actions.push(Action::GroupCompleteTransaction { producer_id: *producer_id });
        }
        if state.budget.group_rebalances > 0 {
            if let Some(member) = state.group.group(0).member {
                if state.clients[usize::from(member)].phase.is_alive() {
                    actions.push(Action::GroupRebalance { producer: member });
                }
            }
        }
        if state.budget.producer_expirations > 0 {
            for (partition, p) in state.partitions.iter().enumerate() {
                for (producer_id, entry) in p.producers.iter() {
                    if entry.open_transaction.is_none() {
                        let (partition, producer_id) = (partition as PartitionIndex, *producer_id);
                        actions.push(Action::PartitionExpireProducer { partition, producer_id });
                    }
                }
            }
        }
    }
}

impl Model for EosModel {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        vec![State::initial(&self.config)]
    }

    fn actions(&self, state: &State, actions: &mut Vec<Action>) {
        match self.reduction.then(|| crate::reduction::ample(self, state)).flatten() {
            Some(ample) => actions.extend(ample),
            None => self.enabled_actions(state, actions),
        }
    }

    fn next_state(&self, last: &State, action: Action) -> Option<State> {
        let mut state = last.clone();
        let mut outbox = Vec::new();
        self.apply(&mut state, action, &mut outbox)?;
        for message in outbox {
            state.send(message);
        }
        for (before, after) in last.partitions.iter().zip(&state.partitions) {
            if after.last_stable_offset() < before.last_stable_offset() {
                state.history.violate(Violation::LsoRegressed);
            }
        }
        Some(state)
    }

    fn within_boundary(&self, _: &State) -> bool {
        !self.stop.load(Ordering::Relaxed)
    }
    fn properties(&self) -> Vec<Property<Self>> {
        let properties = properties::applicable(&self.config);
        match self.first_discoveries {
            Some(_) => crate::discovery::FirstDiscoveries::wrap(properties),
            None => properties,
        }
    }

    fn format_action(&self, action: &Action) -> String {
        format!("{}: {}", crate::describe::actor(action), crate::describe::action(action))
    }

    /// What the step changed (the lines of the CLI's step table), then the state.
    fn format_step(&self, last: &State, action: Action) -> Option<String> {
        let heading = self.format_action(&action);
        let next = self.next_state(last, action)?;
        let mut text = heading;
        for change in crate::describe::changes(last, &next) {
            text.push_str("\n  · ");
            text.push_str(&change);
        }
        Some(format!("{text}\n\n{next:#?}"))
    }

    /// The path as a sequence diagram ([`crate::diagram`]).
    fn as_svg(&self, path: stateright::Path<State, Action>) -> Option<String> {
        Some(crate::diagram::sequence_diagram(self, &path))
    }
}

impl EosModel {
    /// Applies `action` to `state`; `None` if it is not enabled (e.g. a message not in flight).
    fn apply(&self, state: &mut State, action: Action, outbox: &mut Vec<Message>) -> Option<()> {
        let config = &self.config;
        match action {
            Action::ProducerStart { producer } => {
                if config.is_copier() {
                    // KIP-447: joining the group fences the older instances' offset commits.
                    self.fence_other_instances(&mut state.history, config.txn_id_of(producer), producer);
                }
                let State { clients, group, history, .. } = state;
                let cx = &mut ClientContext { config, me: producer, history, outbox };
                clients[usize::from(producer)].start(cx, group);
            }
            Action::ProducerSend { producer, partition } => {
                self.with_client(state, producer, outbox, |c, cx| c.send(cx, partition))
            }
            Action::ProducerSendOffsets { producer } => {
                self.with_client(state, producer, outbox, |c, cx| c.send_offsets(cx))
            }
            Action::ProducerFetchOffsets { producer } => {
                state.clients[usize::from(producer)].fetch_offsets(&state.group)
            }
            Action::ProducerCommit { producer } => self.with_client(state, producer, outbox, |c, cx| c.commit(cx)),
            Action::ProducerAbort { producer } => self.with_client(state, producer, outbox, |c, cx| c.abort(cx)),
            Action::ProducerRetry { producer } => state.clients[usize::from(producer)].retry(outbox),
            Action::ProducerRequestTimeout { producer, request } => {
                state.budget.duplicates = state.budget.duplicates.checked_sub(1)?;
                state.clients[usize::from(producer)].request_timeout(&request, outbox)?;
            }
            Action::ProducerBatchExpires { producer, request } => {
                state.budget.batch_expirations = state.budget.batch_expirations.checked_sub(1)?;
                if !state.clients[usize::from(producer)].awaiting.contains_key(&request) {
                    return None;
                }
                self.with_client(state, producer, outbox, |c, cx| c.expire_batch(cx, &request));
            }
            Action::ProducerCrash { producer } => {
                state.budget.producer_crashes = state.budget.producer_crashes.checked_sub(1)?;
                state.clients[usize::from(producer)].crash();
            }
            Action::CompletionAppendFails { marker } => {
                state.budget.completion_append_failures = state.budget.completion_append_failures.checked_sub(1)?;
                if !state.take(&Message::MarkerResponse { marker, error: ErrorCode::None }) {
                    return None;
                }
                state.coordinator.completion_append_failed(&marker)?;
            }
            Action::CoordinatorRetryMarkers { txn } => {
                if !state.coordinator.retry_tick_due(txn) {
                    return None;
                }
                let fx = &mut Effects { config, history: &mut state.history, outbox };
                state.coordinator.retry_markers(txn, fx);
            }
            Action::CoordinatorResendMarker { marker } => {
                state.budget.marker_duplicates = state.budget.marker_duplicates.checked_sub(1)?;
                if !state.coordinator.awaits_marker(&marker) || !state.network.contains_key(&Message::Marker(marker)) {
                    return None;
                }
                outbox.push(Message::Marker(marker));
            }
            Action::CoordinatorTimeout { txn } => {
                if !self.is_abandoned(state, txn) {
                    state.budget.timeouts = state.budget.timeouts.checked_sub(1)?;
                }
                self.fence_other_instances(&mut state.history, txn, None);
                let fx = &mut Effects { config, history: &mut state.history, outbox };
                state.coordinator.timeout(txn, fx);
            }
            Action::GroupCompleteTransaction { producer_id } => {
                state.group.complete_deferred(producer_id, &mut state.history)?;
            }
            Action::PartitionExpireProducer { partition, producer_id } => {
                state.budget.producer_expirations = state.budget.producer_expirations.checked_sub(1)?;
                state.partitions.get_mut(usize::from(partition))?.expire_producer(producer_id)?;
            }
            Action::CoordinatorExpireTransactionalId { txn } => {
                state.budget.transactional_id_expirations = state.budget.transactional_id_expirations.checked_sub(1)?;
                let fx = &mut Effects { config, history: &mut state.history, outbox };
                state.coordinator.expire(txn, fx)?;
            }
            Action::GroupRebalance { producer } => {
                state.budget.group_rebalances = state.budget.group_rebalances.checked_sub(1)?;
                let client = &mut state.clients[usize::from(producer)];
                let group = state.group.group_mut(0);
                if group.member != Some(producer) || !client.phase.is_alive() {
                    return None;
                }
                group.join(producer);
                client.generations[0] = group.generation;
            }
            Action::CoordinatorFailover => {
                state.budget.coordinator_failovers = state.budget.coordinator_failovers.checked_sub(1)?;
                if config.broker.appends_durable_at_failover {
                    self.land_appends_in_flight(state);
                }
                let fx = &mut Effects { config, history: &mut state.history, outbox };
                state.coordinator.failover(fx);
            }
            Action::Deliver { message } => {
                if self.overtakes_earlier_batch(state, &message) || !state.take(&message) {
                    return None;
                }
                self.deliver(state, message, outbox);
            }
            Action::CoordinatorAppendFails { request } => {
                state.budget.txn_log_append_failures = state.budget.txn_log_append_failures.checked_sub(1)?;
                let reply = if self.appends_by_round_trip() {
                    let append = state.coordinator.take_append(&request)?;
                    let fx = &mut Effects { config, history: &mut state.history, outbox };
                    // After a failover the callback leaves the new coordinator's metadata alone.
                    match state.coordinator.prepared_here(&append) {
                        true => state.coordinator.append_failed(append.txn, fx),
                        false => Reply::error(ErrorCode::CoordinatorNotAvailable),
                    }
                } else {
                    // Prepared in the request's step, then the append fails: the preparation (its
                    // fresh metadata, its producer ids) stays, as in Kafka, where
                    // `ProducerIdManager.generateProducerId` ran before the append.
                    let prepared = state.coordinator.prepared_transition(&request, config)?;
                    if !state.take(&Message::Request(request)) {
                        return None;
                    }
                    state.coordinator.prepare_transition(&prepared);
                    let fx = &mut Effects { config, history: &mut state.history, outbox };
                    state.coordinator.append_failed(prepared.txn, fx)
                };
                outbox.push(Message::Response { request, reply });
            }
            Action::CoordinatorAppendCompletes { request } => {
                let reply = self.complete_append(state, &request, outbox)?;
                outbox.push(Message::Response { request, reply });
            }
            Action::Lose { message } => {
                state.budget.losses = state.budget.losses.checked_sub(1)?;
                if matches!(message, Message::Verify { .. } | Message::VerifyResponse { .. }) || !state.take(&message) {
                    return None;
                }
                self.lose(state, &message);
            }
        }
        Some(())
    }

    fn with_client(
        &self,
        state: &mut State,
        producer: ProducerIndex,
        outbox: &mut Vec<Message>,
        f: impl FnOnce(&mut crate::client::Client, &mut ClientContext),
    ) {
        let cx = &mut ClientContext { config: &self.config, me: producer, history: &mut state.history, outbox };
        f(&mut state.clients[usize::from(producer)], cx);
    }

    fn lose(&self, state: &mut State, message: &Message) {
        match message {
            Message::Request(request) | Message::Response { request, .. } => {
                state.clients[usize::from(request.from)].on_lost(request)
            }
            Message::Marker(marker) | Message::MarkerResponse { marker, .. } => {
                state.coordinator.on_marker_lost(marker)
            }
            Message::Verify { .. } | Message::VerifyResponse { .. } => {
                unreachable!("verification messages are not lost (specs/eos.md §9)")
            }
        }
    }

    fn deliver(&self, state: &mut State, message: Message, outbox: &mut Vec<Message>) {
        let config = &self.config;
        match message {
            Message::Request(request) => {
                if self.appends_by_round_trip() {
                    if let Some(prepared) = state.coordinator.prepared_transition(&request, config) {
                        // Prepared: answered when its append completes.
                        state.coordinator.prepare_append(&prepared, request);
                        return;
                    }
                }
                if let Some(reply) = self.handle_request(state, &request, outbox) {
                    outbox.push(Message::Response { request, reply });
                }
            }
            Message::Verify { request, guard } => {
                let error = self.answer_verification(state, &request, outbox);
                outbox.push(Message::VerifyResponse { request, guard, error });
            }
            Message::VerifyResponse { request, guard, error } => {
                // The leader answers the Produce it held: the coordinator's error, or the append.
                let reply = match error {
                    ErrorCode::None => self.append_produce(state, &request, Some(guard)),
                    error => Reply::error(error),
                };
                outbox.push(Message::Response { request, reply });
            }
            Message::Response { request, reply } => {
                let client = &mut state.clients[usize::from(request.from)];
                let cx = &mut ClientContext { config, me: request.from, history: &mut state.history, outbox };
                client.on_response(cx, request, reply);
            }
            Message::Marker(marker) => {
                let error = match marker.target {
                    TxnPartition::Data(p) => state.partitions[usize::from(p)].write_marker(config, &marker),
                    TxnPartition::Offsets => state.group.write_marker(config, &marker, &mut state.history),
                };
                outbox.push(Message::MarkerResponse { marker, error });
            }
            Message::MarkerResponse { marker, error } => {
                let fx = &mut Effects { config, history: &mut state.history, outbox };
                state.coordinator.on_marker_response(&marker, error, fx);
            }
        }
    }

    /// Whether the coordinator's transaction-log append is a step of its own.
    fn appends_by_round_trip(&self) -> bool {
        self.config.broker.coordinator_append_round_trip
    }

    /// The append of the transition `request` prepared completes (specs/eos.md §4.5): Kafka's
    /// `appendTransactionToLog` callback. Under the coordinator epoch it was prepared in, the
    /// transition is applied ([`EosModel::apply_append`]) and answered; after a failover it is
    /// answered NOT_COORDINATOR and changes nothing. `None` if no such append is in flight.
    fn complete_append(&self, state: &mut State, request: &Request, outbox: &mut Vec<Message>) -> Option<Reply> {
        let append = state.coordinator.take_append(request)?;
        if !state.coordinator.prepared_here(&append) {
            return Some(Reply::error(ErrorCode::NotCoordinator));
        }
        Some(self.apply_append(state, &append, outbox))
    }

    /// Applies the transition `append` prepared, now durable: the request is handled now (nothing it
    /// reads changed meanwhile, since every other request of the id met the pending transition, and
    /// the producer ids it allocates are the ones reserved when it was prepared); its answer.
    fn apply_append(&self, state: &mut State, append: &InFlightAppend, outbox: &mut Vec<Message>) -> Reply {
        state.coordinator.pending_states[usize::from(append.txn)] = None;
        let reserved_to = std::mem::replace(&mut state.coordinator.next_producer_id, append.producer_ids_from);
        let reply = self.handle_coordinator_request(state, &append.request, outbox);
        debug_assert!(state.coordinator.next_producer_id <= reserved_to, "only the reserved producer ids");
        state.coordinator.next_producer_id = reserved_to;
        reply
    }

    /// `broker.appends_durable_at_failover`, as the coordinator fails over: every append in flight
    /// of the failing coordinator had become durable, so the new one loads its record. The transition
    /// is applied as its completion would, but the old coordinator's answer and markers never go out:
    /// the append stays in flight under its old coordinator epoch, and its late callback answers
    /// NOT_COORDINATOR (`appendTransactionToLog`'s callback compares the cached coordinator epoch).
    fn land_appends_in_flight(&self, state: &mut State) {
        let landed: Vec<InFlightAppend> =
            state.coordinator.appends.iter().filter(|a| state.coordinator.prepared_here(a)).copied().collect();
        for append in &landed {
            self.apply_append(state, append, &mut Vec::new());
        }
    }

    /// Whether the leader's verification (tv1-verified) or implicit add (tv2) is a round trip.
    fn verifies_by_round_trip(&self) -> bool {
        self.config.broker.verification_round_trip && self.config.protocol != Protocol::Tv1
    }

    /// Specs/eos.md §5.1 steps 1 and 3–7 for the Produce `request`, presenting `guard` if it was held
    /// for a verification round trip.
    fn append_produce(&self, state: &mut State, request: &Request, guard: Option<u8>) -> Reply {
        let RequestBody::Produce { partition, txn, producer_id, epoch, sequence, value } = request.body else {
            unreachable!("only a Produce appends");
        };
        let attempt = Attempt { producer: request.from, index: request.attempt };
        let transactional = txn.is_some();
        let request = ProduceRequest { producer_id, epoch, sequence, transactional, value, attempt, guard };
        let (error, offset) = state.partitions[usize::from(partition)].produce(&self.config, request);
        Reply { error, producer_id: None, epoch: None, offset }
    }

    /// The coordinator's side of a [`Message::Verify`]: its answer, as the leader passes it on.
    fn answer_verification(&self, state: &mut State, request: &Request, outbox: &mut Vec<Message>) -> ErrorCode {
        let RequestBody::Produce { partition, txn: Some(txn), producer_id: Some(pid), epoch, .. } = request.body else {
            unreachable!("only a transactional Produce is verified");
        };
        let attempt = Attempt { producer: request.from, index: request.attempt };
        let target = TxnPartition::Data(partition);
        self.join_transaction(state, txn, pid, epoch, target, attempt, outbox).unwrap_or(ErrorCode::None)
    }

    /// A request reaches its broker: the answer, or `None` while the leader holds a Produce for a
    /// verification round trip.
    fn handle_request(&self, state: &mut State, request: &Request, outbox: &mut Vec<Message>) -> Option<Reply> {
        match request.body {
            RequestBody::Produce { .. } => self.handle_produce(state, request, outbox),
            _ => Some(self.handle_coordinator_request(state, request, outbox)),
        }
    }

    /// Produce at the leader (specs/eos.md §5.1).
    fn handle_produce(&self, state: &mut State, request: &Request, outbox: &mut Vec<Message>) -> Option<Reply> {
        let attempt = Attempt { producer: request.from, index: request.attempt };
        let RequestBody::Produce { partition, txn, producer_id, epoch, sequence, .. } = request.body else {
            unreachable!("handle_produce takes a Produce");
        };
        let partition_state = &state.partitions[usize::from(partition)];
        let open = producer_id.is_some_and(|pid| partition_state.has_open_transaction(pid, epoch));
        if let (Some(txn), Some(pid), false) = (txn, producer_id, open) {
            if self.verifies_by_round_trip() {
                // The leader holds the Produce and asks the coordinator (specs/eos.md §5.1 step 2).
                let guard = state.partitions[usize::from(partition)].start_verification(pid, sequence, epoch);
                outbox.push(Message::Verify { request: *request, guard });
                return None;
            }
            let target = TxnPartition::Data(partition);
            if let Some(error) = self.join_transaction(state, txn, pid, epoch, target, attempt, outbox) {
                return Some(Reply::error(error));
            }
        }
        Some(self.append_produce(state, request, None))
    }

    /// Requests to the coordinator and the group coordinator.
    fn handle_coordinator_request(&self, state: &mut State, request: &Request, outbox: &mut Vec<Message>) -> Reply {
        let config = &self.config;
        let attempt = Attempt { producer: request.from, index: request.attempt };
        let fx = &mut Effects { config, history: &mut state.history, outbox };
        let coordinator = &mut state.coordinator;
        match request.body {
            RequestBody::InitProducerId { txn, .. } => {
                // Metadata without an epoch (a first InitProducerId whose append failed left it) is
                // held by no instance: giving it its first epoch fences nobody.
                let before = txn.and_then(|t| {
                    coordinator
                        .record(t)
                        .filter(|r| r.producer_epoch != NO_EPOCH)
                        .map(|r| (r.producer_id, r.producer_epoch))
                });
                let reply = coordinator.handle_client_request(request, fx).expect("a coordinator request");
                let after = txn.and_then(|t| coordinator.record(t).map(|r| (r.producer_id, r.producer_epoch)));
                if let (Some(txn), true) = (txn, before.is_some() && before != after) {
                    // A copy of InitProducerId the client no longer awaits (a late duplicate, or one
                    // from an earlier attempt) starts a session of its own: it fences its sender too.
                    let current = state.clients[usize::from(request.from)].awaiting.contains_key(request);
                    let by = current.then_some(request.from);
                    self.fence_other_instances(&mut state.history, txn, by);
                }
                reply
            }
            RequestBody::AddPartitionsToTxn { .. }
            | RequestBody::AddOffsetsToTxn { .. }
            | RequestBody::EndTxn { .. } => {
                coordinator.handle_client_request(request, fx).expect("a coordinator request")
            }
            RequestBody::OffsetCommit { generation, offset } => {
                Reply::error(state.group.offset_commit(request.from, generation, offset))
            }
            RequestBody::Produce { .. } => unreachable!("a Produce is handled by handle_produce"),
            RequestBody::TxnOffsetCommit { txn, producer_id, epoch, group, generation, offset } => {
                // Verification (or the tv2 implicit add) first, then the group's own checks: Kafka's
                // group coordinator verifies before it runs the commit (scheduleTransactionalWriteOperation).
                if !state.group.has_open_transaction(producer_id, epoch) {
                    let target = TxnPartition::Offsets;
                    if let Some(error) = self.join_transaction(state, txn, producer_id, epoch, target, attempt, outbox)
                    {
                        return Reply::error(error);
                    }
                }
                let groups = &state.group;
                if let Some(error) =
                    groups.check_txn_offset_commit(config, group, request.from, generation, producer_id, epoch)
                {
                    return Reply::error(error);
                }
                state.group.write_pending(group, producer_id, epoch, offset, attempt);
                Reply::error(ErrorCode::None)
            }
        }
    }

    /// Ghost: the instances of `txn` other than `by` are now legitimately fenced (`by` moved the epoch
    /// on; `by = None`: the coordinator's timeout did).
    fn fence_other_instances(
        &self,
        history: &mut crate::history::History,
        txn: TxnId,
        by: impl Into<Option<ProducerIndex>>,
    ) {
        let by = by.into();
        for producer in 0..self.config.producer_count() {
            if self.config.txn_id_of(producer) == txn && Some(producer) != by {
                history.fenced_instances.insert(producer);
            }
        }
    }

    /// The first transactional write of a producer to `target`: verification (tv1-verified) or the
    /// implicit add (tv2), synchronous with the coordinator. `Some(error)` refuses the write.
    #[allow(clippy::too_many_arguments)]
    fn join_transaction(
        &self,
        state: &mut State,
        txn: TxnId,
        pid: ProducerId,
        epoch: Epoch,
        target: TxnPartition,
        attempt: Attempt,
        outbox: &mut Vec<Message>,
    ) -> Option<ErrorCode> {
        let fx = &mut Effects { config: &self.config, history: &mut state.history, outbox };
        let error = match self.config.protocol {
            Protocol::Tv1 => ErrorCode::None,
            Protocol::Tv1Verified => state.coordinator.verify(txn, pid, epoch, target, fx),
            Protocol::Tv2 => state.coordinator.add_partition(txn, pid, epoch, target, attempt, fx),
        };
        // As Kafka's leaders translate the coordinator's answer (`AddPartitionsToTxnManager`): producers
        // expect INVALID_PRODUCER_EPOCH, and a client that predates KIP-1050 INVALID_TXN_STATE.
        let error = match error {
            ErrorCode::ProducerFenced => ErrorCode::InvalidProducerEpoch,
            ErrorCode::TransactionAbortable if self.config.producers.client == ClientVersion::Legacy => {
                ErrorCode::InvalidTxnState
            }
            other => other,
        };
        (error != ErrorCode::None).then_some(error)
    }
}
