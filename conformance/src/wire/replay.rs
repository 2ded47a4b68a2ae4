//! Replaying one trace against a broker over the wire (specs/wire-target.md §3).
//!
//! The trace's clients are the harness's: each model step is realised as the spec says (a request
//! sent when the trace delivers it, a response compared when it comes back, the broker's own work
//! awaited), and after every step that touched the broker what a client can see is compared with the
//! model's state. The first difference is the divergence; a broker that does not answer properly is
//! a failure of the broker, not a divergence.

use super::client::{self, ClientContext, ReplyView};
use super::connection::Connection;
use super::error::WireError;
use super::group::{self, Membership};
use super::mapping::Identities;
use super::names::Names;
use super::observer::{Observer, Scope};
use super::probe::BrokerInfo;
use super::realise::{self, Abilities, Plan, Unrealisable};
use super::routes::{self, poll_until, Links, Routes};
use super::setup;
use super::versions::Versions;
use super::view::{self, Visibility, WireView};
use crate::trace::Trace;
use eos_model::message::{Message, Reply, Request};
use eos_model::observe::{diff_json, FieldDiff};
use eos_model::types::TxnId;
use eos_model::{Action, Config, State};
use std::time::{Duration, Instant};

/// Deadlines and timeouts of a wire replay.
#[derive(Clone, Debug)]
pub struct WireOptions {
    /// Every request's deadline (and the connect timeout).
    pub request_timeout: Duration,
    /// How long to wait for a trace's topics and coordinators.
    pub setup_timeout: Duration,
    /// How long to wait for the broker's own work (markers, completion) to show.
    pub settle_timeout: Duration,
    /// The transaction timeout of a transactional id that times out in the trace.
    pub short_transaction_timeout: Duration,
    /// The transaction timeout of every other transactional id.
    pub long_transaction_timeout: Duration,
    /// How long to wait, beyond the short transaction timeout, for the coordinator to abort.
    pub timeout_slack: Duration,
    /// A shell command that restarts the broker (`conformance/kafka/kafka.sh restart DIR`): with it,
    /// a coordinator failover is realised as a restart.
    pub restart: Option<String>,
    /// How long a restart may take, until the broker serves again.
    pub restart_timeout: Duration,
}

impl WireOptions {
    /// What the harness can do to the broker with these options.
    pub fn abilities(&self) -> Abilities {
        Abilities { restart: self.restart.is_some() }
    }
}

impl Default for WireOptions {
    fn default() -> Self {
        WireOptions {
            request_timeout: Duration::from_secs(10),
            setup_timeout: Duration::from_secs(30),
            settle_timeout: Duration::from_secs(5),
            short_transaction_timeout: Duration::from_millis(1000),
            long_transaction_timeout: Duration::from_secs(600),
            timeout_slack: Duration::from_secs(15),
            restart: None,
            restart_timeout: Duration::from_secs(120),
        }
    }
}

/// Where and how a broker first differs from the model.
#[derive(Clone, Debug, PartialEq)]
pub struct WireDivergence {
    /// The step (1-based; 0 is the initial state).
    pub step: usize,
    /// Its action.
    pub action: Option<Action>,
    /// What was compared: `the response to …`, `what a client sees`.
    pub what: String,
    /// The differing fields (model left, broker right).
    pub diffs: Vec<FieldDiff>,
}

/// How replaying one trace over the wire came out.
#[derive(Clone, Debug, PartialEq)]
pub enum WireOutcome {
    /// The broker agreed with the model at every comparison.
    Conforms {
        /// Steps replayed.
        steps: usize,
    },
    /// The broker differs.
    Diverged(Box<WireDivergence>),
    /// The trace cannot be realised over the wire (nothing was sent).
    Skipped {
        /// The step that cannot be realised (0: the scenario).
        step: usize,
        /// Why.
        reason: Unrealisable,
    },
    /// The broker did not answer properly (a timeout, garbage, a refused set-up request).
    Failed {
        /// The step (0: set-up).
        step: usize,
        /// What went wrong.
        error: WireError,
    },
    /// The broker differs in a known way: Kafka's own behaviour, explained in docs/kafka-conformance.md.
    Known {
        /// The known divergence's name.
        id: &'static str,
        /// Where and how.
        divergence: Box<WireDivergence>,
    },
    /// The trace is not a path of the model.
    InvalidTrace {
        /// The step.
        step: usize,
        /// Why.
        reason: String,
    },
}

impl WireOutcome {
    /// Whether the broker conformed.
    pub fn conforms(&self) -> bool {
        matches!(self, WireOutcome::Conforms { .. })
    }

    /// One line saying what happened.
    pub fn summary(&self) -> String {
        let action = |a: &Option<Action>| {
            a.as_ref().map_or("the initial state".to_string(), |a| {
                format!("{}: {}", eos_model::describe::actor(a), eos_model::describe::action(a))
            })
        };
        match self {
            WireOutcome::Conforms { steps } => format!("conforms ({steps} steps)"),
            WireOutcome::Diverged(d) => format!(
                "diverged at step {} ({}): {}, {} field(s) differ",
                d.step,
                action(&d.action),
                d.what,
                d.diffs.len()
            ),
            WireOutcome::Known { id, divergence } => {
                format!("known divergence `{id}` at step {} ({})", divergence.step, action(&divergence.action))
            }
            WireOutcome::Skipped { step, reason } => format!("skipped (step {step}): {}", reason.reason()),
            WireOutcome::Failed { step, error } => format!("broker failure at step {step}: {error}"),
            WireOutcome::InvalidTrace { step, reason } => format!("not a model path at step {step}: {reason}"),
        }
    }
}

/// A broker the harness holds traces to, under one protocol mode.
pub struct WireTarget {
    /// What the probe learned.
    pub info: BrokerInfo,
    /// The API versions of the protocol mode.
    pub versions: Versions,
    /// Deadlines.
    pub options: WireOptions,
    /// The run's name prefix.
    pub run: String,
}

/// What a replay saw besides its outcome, for `eos replay` to show.
#[derive(Clone, Debug, Default)]
pub struct Seen {
    /// What a client saw on the broker at the last comparison.
    pub view: Option<WireView>,
    /// The broker's answer (error name, and offset or epoch) to the request of each step that sent
    /// one, by step (1-based).
    pub responses: std::collections::BTreeMap<usize, String>,
}

/// One trace's run: its names, routes, clients, observer and identities.
struct Run<'a> {
    target: &'a WireTarget,
    config: &'a Config,
    names: Names,
    routes: Routes,
    plan: Plan,
    clients: Vec<Links>,
    /// Each instance's memberships, by group index (none before it starts).
    members: Vec<Vec<Membership>>,
    observer: Observer,
    ids: Identities,
    visible: Visibility,
    /// What the run saw.
    seen: Seen,
    /// The trace restarts the broker: coordinator epochs are not compared.
    restarts: bool,
}

/// How a step ended: fine, or the outcome of the trace.
type StepResult = Result<(), Box<WireOutcome>>;

impl WireTarget {
    /// Replays `trace` (the `index`-th of the run, which makes its names unique).
    pub fn replay(&self, trace: &Trace, index: usize) -> WireOutcome {
        self.replay_observed(trace, index).0
    }

    /// [`WireTarget::replay`], also giving what the run saw of the broker.
    pub fn replay_observed(&self, trace: &Trace, index: usize) -> (WireOutcome, Seen) {
        let mut states = match trace.validate() {
            Ok(states) => states,
            Err((step, reason)) => return (WireOutcome::InvalidTrace { step, reason }, Seen::default()),
        };
        let extended = realise::complete(trace, &mut states);
        let trace = extended.as_ref().unwrap_or(trace);
        let plan = match realise::check(trace, &states, self.options.abilities()) {
            Ok(plan) => plan,
            Err((step, reason)) => return (WireOutcome::Skipped { step, reason }, Seen::default()),
        };
        let config = trace.config.with_protocol(trace.protocol);
        let names = Names::new(&self.run, index);
        let mut bootstrap = match Connection::open(&self.info.target.addr(), self.options.request_timeout) {
            Ok(c) => c,
            Err(error) => return (WireOutcome::Failed { step: 0, error }, Seen::default()),
        };
        let topics = topics(&config, &names);
        let started = Instant::now();
        let run = self.set_up(&mut bootstrap, &config, names, plan, &topics);
        tracing::debug!(elapsed = ?started.elapsed(), "set up");
        let result = match run {
            Ok(mut run) => {
                run.restarts = realise::fails_over(trace);
                let outcome = known(run.replay(trace, &states), trace, &states);
                (outcome, run.seen)
            }
            Err(error) => (WireOutcome::Failed { step: 0, error }, Seen::default()),
        };
        let names: Vec<String> = topics.into_iter().map(|(t, _)| t).collect();
        let _ = setup::delete_topics(&mut bootstrap, &self.versions, &names);
        result
    }

    fn set_up<'a>(
        &'a self,
        bootstrap: &mut Connection,
        config: &'a Config,
        names: Names,
        plan: Plan,
        topics: &[(String, i32)],
    ) -> Result<Run<'a>, WireError> {
        let deadline = Instant::now() + self.options.setup_timeout;
        setup::create_topics(bootstrap, &self.versions, topics, self.options.setup_timeout)?;
        let transactional_ids: Vec<String> = if config.producers.transactional {
            (0..config.producers.transactional_ids).map(|t| names.txn(t)).collect()
        } else {
            Vec::new()
        };
        let groups: Vec<String> =
            config.copier.iter().flat_map(|c| c.group_indices()).map(|g| names.group(g)).collect();
        let routes = routes::look_up(bootstrap, &self.versions, topics, &transactional_ids, &groups, deadline)?;
        let timeout = self.options.request_timeout;
        let instances = usize::from(config.producer_count());
        let mut observer = Observer::new(Links::new(timeout));
        // Ready when everything a client reads answers without "not yet": leaders serve, and the
        // coordinators have loaded their partitions.
        let scope = Scope { names: &names, config, versions: &self.versions, routes: &routes };
        let mut ids = Identities::default();
        let ready = poll_until(deadline, || match observer.observe(&scope, &mut ids) {
            Ok(_) => Ok(Some(())),
            Err(WireError::NotReady(_)) => Ok(None),
            Err(e) => Err(e),
        })?;
        if ready.is_none() {
            return Err(WireError::Broker(format!(
                "the trace's topics and coordinators were not ready within {} ms",
                self.options.setup_timeout.as_millis()
            )));
        }
        Ok(Run {
            target: self,
            config,
            names,
            routes,
            plan,
            clients: (0..instances).map(|_| Links::new(timeout)).collect(),
            members: vec![Vec::new(); instances],
            observer,
            ids: Identities::default(),
            visible: Visibility {
                transactions: self.versions.describe_transactions.is_some(),
                producers: self.versions.describe_producers.is_some(),
            },
            seen: Seen::default(),
            restarts: false,
        })
    }
}

/// A divergence that matches a known one (specs/wire-target.md §8) becomes [`WireOutcome::Known`].
fn known(outcome: WireOutcome, trace: &Trace, states: &[State]) -> WireOutcome {
    let WireOutcome::Diverged(divergence) = outcome else { return outcome };
    let actions = trace.actions();
    let cx = super::known::Context { protocol: trace.protocol, actions: &actions, states, divergence: &divergence };
    match super::known::classify(&cx) {
        Some(k) => WireOutcome::Known { id: k.id, divergence },
        None => WireOutcome::Diverged(divergence),
    }
}

/// The trace's topics: `out` with the scenario's partitions, and `in` for the copier's offsets.
fn topics(config: &Config, names: &Names) -> Vec<(String, i32)> {
    let mut topics = vec![(names.out(), i32::from(config.partitions.count))];
    if config.is_copier() {
        topics.push((names.input(), 1));
    }
    topics
}

impl Run<'_> {
    fn replay(&mut self, trace: &Trace, states: &[State]) -> WireOutcome {
        match self.replay_steps(trace, states) {
            Ok(()) => WireOutcome::Conforms { steps: trace.steps.len() },
            Err(outcome) => *outcome,
        }
    }

    fn replay_steps(&mut self, trace: &Trace, states: &[State]) -> StepResult {
        let mut last_model = self.model_view(&states[0]);
        self.compare_view(0, None, &last_model, Wait::No)?;
        let mut touched = false;
        let mut wait = Wait::No;
        for (i, step) in trace.steps.iter().enumerate() {
            // The states up to the end of the broker work that follows the step: a request's answer
            // may come at its end (a Produce held for verification, an append completed).
            let work = trace.steps[i + 1..].iter().take_while(|s| realise::is_broker_work(&s.action)).count();
            self.step(i + 1, &step.action, &states[i..=i + 1 + work])?;
            let effect = wire_effect(&step.action);
            touched |= !matches!(effect, Effect::None);
            // A request may leave the broker work to finish after its answer, even where the model
            // has none (a tv2 abort of an empty transaction completes after EndTxn's response):
            // everything but a client's own bookkeeping is awaited.
            wait = match (wait, effect) {
                (Wait::Timeout, _) | (_, Effect::Timeout) => Wait::Timeout,
                (_, Effect::Work | Effect::Send) => Wait::Work,
                (wait, Effect::None) => wait,
            };
            let next_is_broker_work = trace.steps.get(i + 1).is_some_and(|s| realise::is_broker_work(&s.action));
            if next_is_broker_work {
                continue;
            }
            let model = self.model_view(&states[i + 1]);
            if !touched && model == last_model {
                continue;
            }
            self.compare_view(i + 1, Some(&step.action), &model, wait)?;
            last_model = model;
            touched = false;
            wait = Wait::No;
        }
        Ok(())
    }

    /// The model's state as a client would see it on this broker.
    fn model_view(&self, state: &State) -> WireView {
        let view = view::of_model(state, self.config, self.visible);
        if self.restarts {
            view.without_coordinator_epochs()
        } else {
            view
        }
    }

    /// Realises one step; compares the response it gets, if any. `states` are the model's before the
    /// step, after it, and after the broker work that follows it at once.
    fn step(&mut self, index: usize, action: &Action, states: &[State]) -> StepResult {
        let failed = |error: WireError| Box::new(WireOutcome::Failed { step: index, error });
        let (before, after) = (&states[0], &states[1]);
        match action {
            Action::Deliver { message: Message::Request(request) } => {
                let Some(expected) = expected_reply(states, request) else {
                    // `realise::check` skips what holds a request's answer back beyond the broker's
                    // own work; should one slip through, the trace is reported, not the replay thread panicked (which would
                    // leave the suite waiting for it).
                    let reason = format!("the model does not answer {request:?} when it is delivered");
                    return Err(Box::new(WireOutcome::InvalidTrace { step: index, reason }));
                };
                let members = &self.members[usize::from(request.from)];
                let (plan, options) = (&self.plan, &self.target.options);
                let timeouts = |t: TxnId| transaction_timeout(plan, options, t);
                let cx = ClientContext {
                    names: &self.names,
                    versions: &self.target.versions,
                    routes: &self.routes,
                    ids: &self.ids,
                    transaction_timeout: &timeouts,
                    members,
                    produce_timeout: self.target.options.request_timeout,
                    client: self.config.producers.client,
                };
                let ready_by = Instant::now() + self.target.options.setup_timeout;
                let links = &mut self.clients[usize::from(request.from)];
                let raw = client::send(links, &cx, &request.body, ready_by).map_err(failed)?;
                let model = ReplyView::of_model(&request.body, &expected, &self.target.versions);
                let broker = ReplyView::of_broker(&raw, &expected, &mut self.ids);
                self.seen.responses.insert(index, broker.brief());
                compare(index, action, format!("the response to {}", request.body), &model, &broker)
            }
            Action::ProducerStart { producer } if self.config.is_copier() => {
                self.join(index, action, *producer, after, false)
            }
            Action::GroupRebalance { producer } => self.join(index, action, *producer, after, true),
            Action::CoordinatorFailover => self.restart(index),
            Action::ProducerFetchOffsets { .. } => {
                let model = match before.group.group(0).offset_fetch() {
                    Ok(committed) => {
                        ReplyView { error: "NONE".into(), producer_id: None, epoch: None, offset: committed }
                    }
                    Err(error) => {
                        ReplyView { error: error.name().into(), producer_id: None, epoch: None, offset: None }
                    }
                };
                let scope = Scope {
                    names: &self.names,
                    config: self.config,
                    versions: &self.target.versions,
                    routes: &self.routes,
                };
                let (code, committed) = self.observer.offset_fetch(&scope, 0, true).map_err(failed)?;
                let broker =
                    ReplyView { error: client::error_name(code), producer_id: None, epoch: None, offset: committed };
                self.seen.responses.insert(index, broker.brief());
                compare(index, action, "OffsetFetch(require_stable)".to_string(), &model, &broker)
            }
            _ => Ok(()),
        }
    }

    /// A coordinator failover: the broker is restarted, and the harness waits until it serves the
    /// trace again (its clients reconnect on their next request).
    fn restart(&mut self, index: usize) -> StepResult {
        let failed = |error: WireError| Box::new(WireOutcome::Failed { step: index, error });
        let options = &self.target.options;
        let command = options.restart.as_deref().expect("failovers are realised only with a restart command");
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .stdout(std::process::Stdio::null())
            .status()
            .map_err(|e| failed(WireError::Broker(format!("cannot run the restart command `{command}`: {e}"))))?;
        if !status.success() {
            return Err(failed(WireError::Broker(format!("the restart command `{command}` failed ({status})"))));
        }
        for links in &mut self.clients {
            links.reset();
        }
        self.observer.reset();
        let scope =
            Scope { names: &self.names, config: self.config, versions: &self.target.versions, routes: &self.routes };
        let deadline = Instant::now() + options.restart_timeout;
        let (observer, ids) = (&mut self.observer, &mut self.ids);
        let serving = poll_until(deadline, || match observer.observe(&scope, ids) {
            Ok(_) => Ok(Some(())),
            Err(WireError::NotReady(_) | WireError::Connect { .. } | WireError::Closed { .. }) => Ok(None),
            Err(e) => Err(e),
        })
        .map_err(failed)?;
        serving.ok_or_else(|| {
            failed(WireError::Broker(format!(
                "the broker did not serve again within {} s of its restart",
                options.restart_timeout.as_secs()
            )))
        })
    }

    /// A copier instance joins its groups (or, `rejoining`, its member of `copier-group` joins it
    /// again: the model's rebalance is that group's); each broker generation is matched to the model's.
    fn join(&mut self, index: usize, action: &Action, producer: u8, after: &State, rejoining: bool) -> StepResult {
        let groups = match rejoining {
            true => 0..1,
            false => self.config.copier.as_ref().map_or(0..0, |c| c.group_indices()),
        };
        for group in groups {
            let links = &mut self.clients[usize::from(producer)];
            let members = &mut self.members[usize::from(producer)];
            let member = members.get(usize::from(group)).filter(|_| rejoining);
            let name = self.names.group(group);
            let membership = group::join(links, &self.routes, &self.target.versions, &name, member)
                .map_err(|error| Box::new(WireOutcome::Failed { step: index, error }))?;
            let model_generation = i64::from(after.group.group(group).generation);
            let generations = self.ids.generations.entry(group).or_default();
            if !generations.learn(model_generation, i64::from(membership.generation)) {
                let known = generations.real(model_generation);
                return Err(Box::new(WireOutcome::Diverged(Box::new(WireDivergence {
                    step: index,
                    action: Some(action.clone()),
                    what: format!("the generation of {name}'s join"),
                    diffs: vec![FieldDiff {
                        path: "generation".to_string(),
                        left: format!("{model_generation} (broker {known:?})"),
                        right: membership.generation.to_string(),
                    }],
                }))));
            }
            match members.get_mut(usize::from(group)) {
                Some(m) => *m = membership,
                None => members.push(membership),
            }
        }
        Ok(())
    }

    /// Compares what a client sees with `model`; when the steps since the last comparison included
    /// the broker's work or a timeout, polls until they agree or the deadline passes.
    fn compare_view(&mut self, index: usize, action: Option<&Action>, model: &WireView, wait: Wait) -> StepResult {
        let timeout = wait == Wait::Timeout;
        let options = &self.target.options;
        let patience = match wait {
            Wait::Timeout => options.short_transaction_timeout + options.timeout_slack,
            Wait::Work => options.settle_timeout,
            Wait::No => Duration::ZERO,
        };
        let deadline = Instant::now() + patience;
        let mut last = None;
        let scope =
            Scope { names: &self.names, config: self.config, versions: &self.target.versions, routes: &self.routes };
        let observer = &mut self.observer;
        let ids = &mut self.ids;
        let restarts = self.restarts;
        let started = Instant::now();
        let mut polls = 0;
        let mut unchanged_since = Instant::now();
        let agreed = poll_until(deadline, || {
            polls += 1;
            let seen = observer.observe(&scope, ids)?;
            let seen = if restarts { seen.without_coordinator_epochs() } else { seen };
            if last.as_ref() != Some(&seen) {
                unchanged_since = Instant::now();
            }
            let same = seen == *model;
            let settled = unchanged_since.elapsed() >= settled_after(&seen, timeout);
            last = Some(seen);
            Ok(if same { Some(true) } else { settled.then_some(false) })
        })
        .map_err(|error| Box::new(WireOutcome::Failed { step: index, error }))?;
        let agreed = agreed.filter(|same| *same);
        tracing::debug!(step = index, polls, elapsed = ?started.elapsed(), agreed = agreed.is_some(), "compared");
        self.seen.view = last.clone();
        match (agreed, last) {
            (Some(_), _) => Ok(()),
            (None, Some(seen)) => {
                let what = if patience.is_zero() {
                    "what a client sees".to_string()
                } else {
                    format!("what a client sees after waiting {} ms", patience.as_millis())
                };
                Err(Box::new(WireOutcome::Diverged(Box::new(WireDivergence {
                    step: index,
                    action: action.cloned(),
                    what,
                    diffs: diff_json(&to_json(model), &to_json(&seen)),
                }))))
            }
            (None, None) => unreachable!("poll_until observes at least once"),
        }
    }
}

/// How long a view must stay the same before the broker's work counts as done: a broker with no
/// transaction in PrepareCommit or PrepareAbort has written its markers, and (waiting for a
/// timeout) one with no Ongoing transaction has timed out what it will; a broker that does not show
/// its transactions gets longer, and its timeouts the whole deadline.
fn settled_after(seen: &WireView, timeout: bool) -> Duration {
    match &seen.transactions {
        Some(transactions) => {
            let busy =
                |state: &str| matches!(state, "PrepareCommit" | "PrepareAbort") || (timeout && state == "Ongoing");
            if transactions.iter().any(|t| t.state.as_deref().is_some_and(busy)) {
                Duration::MAX
            } else {
                Duration::from_millis(300)
            }
        }
        None if timeout => Duration::MAX,
        None => Duration::from_secs(1),
    }
}

/// The transaction timeout `txn` asks for: short if it times out in the trace.
fn transaction_timeout(plan: &Plan, options: &WireOptions, txn: TxnId) -> Duration {
    if plan.timing_out.contains(&txn) {
        options.short_transaction_timeout
    } else {
        options.long_transaction_timeout
    }
}

fn to_json(value: &impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(value).expect("views serialise")
}

/// Compares a response seen on the wire with the model's.
fn compare(index: usize, action: &Action, what: String, model: &ReplyView, broker: &ReplyView) -> StepResult {
    if model == broker {
        return Ok(());
    }
    Err(Box::new(WireOutcome::Diverged(Box::new(WireDivergence {
        step: index,
        action: Some(action.clone()),
        what,
        diffs: diff_json(&to_json(model), &to_json(broker)),
    }))))
}

/// The reply the model gave to `request` along `states` (the step that delivered it, then the broker
/// work that followed at once), if it gave one there: Kafka answers once that work is done.
fn expected_reply(states: &[State], request: &Request) -> Option<Reply> {
    let copies = |state: &State, m: &Message| state.network.get(m).copied().unwrap_or(0);
    states.windows(2).find_map(|pair| {
        let (before, after) = (&pair[0], &pair[1]);
        after.network.keys().find_map(|m| match m {
            Message::Response { request: r, reply } if r == request && copies(after, m) > copies(before, m) => {
                Some(*reply)
            }
            _ => None,
        })
    })
}

/// What a model action does on the wire.
enum Effect {
    /// Nothing (the harness's own client bookkeeping).
    None,
    /// A request to the broker.
    Send,
    /// The broker's own work: awaited.
    Work,
    /// A transaction timeout: awaited.
    Timeout,
}

/// What the next comparison waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wait {
    /// Nothing: compare once.
    No,
    /// The broker's work (markers, completion).
    Work,
    /// A transaction timeout (and the work it causes).
    Timeout,
}

fn wire_effect(action: &Action) -> Effect {
    match action {
        Action::CoordinatorFailover => Effect::Work,
        Action::Deliver { message: Message::Request(_) } => Effect::Send,
        Action::ProducerFetchOffsets { .. } | Action::ProducerStart { .. } | Action::GroupRebalance { .. } => {
            Effect::Send
        }
        a if realise::is_broker_work(a) => Effect::Work,
        Action::CoordinatorTimeout { .. } => Effect::Timeout,
        _ => Effect::None,
    }
}
