//! Time in conformance (specs/eos.md §10, "time", and §11, "timers"): the harness's clock and the
//! spec's timing rules, kept by the harness from the model's observations alone.
//!
//! The model has no clock: a timer action (ProducerRetry, ProducerRequestTimeout,
//! ProducerBatchExpires, CoordinatorRetryMarkers, CoordinatorTimeout, CoordinatorResendMarker) may
//! happen whenever it is enabled. The harness gives
//! every step a time. A step that is not a timer happens [`STEP_MS`] after the one before; a timer
//! step happens at the timer's deadline as the rules below compute it (or at once, if that deadline has
//! passed: a timer may fire late, never early). The harness moves the implementation's clock there and
//! fires the timer only if the implementation finds it due, so a deadline later than the rule's is
//! refused; and after every step the implementation's table of armed timers must equal the rules' table
//! (a deadline earlier than the rule's, a timer armed that should not be, or one missing, diverges).
//!
//! The rules, per armed timer (names as both sides render them):
//! - `producer-i retry`: while a request of the instance is failed; due `RETRY_BACKOFF_MS` after the
//!   earliest failure among its failed requests.
//! - `producer-i request timeout: REQUEST`: per request in flight; due `REQUEST_TIMEOUT_MS` after it was
//!   last sent (first send, a retry, a re-send on CONCURRENT_TRANSACTIONS, or a duplicate).
//! - `producer-i delivery timeout: REQUEST`: in a scenario whose batches may expire
//!   (`faults.batch_expirations`), per outstanding Produce (in flight or failed); due
//!   `DELIVERY_TIMEOUT_MS` after the batch was made: when a Produce of that body first became
//!   outstanding (re-sends do not move it). The harness gives a batch up (ProducerBatchExpires) at
//!   that deadline, so an implementation that gives it up later refuses the step and one that would
//!   give it up earlier shows an earlier deadline.
//! - `txn-t transaction timeout`: while the id is Ongoing; due its timeout after the step that prepared
//!   its move from another state to Ongoing (Kafka's `TransactionMetadata.prepareAddPartitions` takes
//!   the start from the request's handling: with `broker.coordinator_append_round_trip` the step the
//!   request arrived, not the append's completion; otherwise the same step). The timeout is that of
//!   the instance whose InitProducerId last reached the coordinator (or, with the append window, last
//!   had its append complete) when the id last entered Empty with a new producer id or epoch.
//! - `txn-t marker retry`: while a marker of the id is failed; due `MARKER_RETRY_BACKOFF_MS` after the
//!   earliest failure. While the id's completion is stuck (every marker acknowledged, its append
//!   failed: fault `completion_append_failures`), due at once: the step it got stuck (Kafka's marker
//!   sender retries queued completions at the start of its next round, `retryLogAppends`).
//! - `txn-t marker request timeout: TARGET`: per marker in flight (pending, not failed); due
//!   `MARKER_REQUEST_TIMEOUT_MS` after it was last sent (its Prepare*, a retry, a failover's re-send,
//!   or a duplicate).
//!
//! Crashed and fatally failed instances have no timers. The settings are distinct numbers so that a
//! deadline computed from the wrong setting shows.

use eos_model::message::{Message, RequestBody};
use eos_model::observe::{ClientView, Observation, TransactionView};
use eos_model::Action;
use std::collections::BTreeMap;

/// How long a step that is not a timer takes.
pub const STEP_MS: i64 = 10;
/// The instances' `retry.backoff.ms`.
pub const RETRY_BACKOFF_MS: i64 = 100;
/// The instances' `request.timeout.ms`.
pub const REQUEST_TIMEOUT_MS: i64 = 30_000;
/// The coordinator's marker-retry backoff.
pub const MARKER_RETRY_BACKOFF_MS: i64 = 250;
/// How long the coordinator waits for a marker's answer before sending it again.
pub const MARKER_REQUEST_TIMEOUT_MS: i64 = 20_000;
/// The instances' `delivery.timeout.ms` (Java's default).
pub const DELIVERY_TIMEOUT_MS: i64 = 120_000;

/// The `transaction.timeout.ms` instance `producer` asks for (distinct per instance).
pub fn transaction_timeout_ms(producer: u8) -> i32 {
    60_000 + 1_000 * i32::from(producer)
}

/// One timer, named in the model's vocabulary (the same on both sides).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TimerName {
    /// An instance's retry timer.
    Retry {
        /// The instance.
        producer: usize,
    },
    /// The request-timeout timer of one request.
    RequestTimeout {
        /// The instance.
        producer: usize,
        /// The request, rendered as the model renders its body.
        request: String,
    },
    /// The delivery timeout of one outstanding Produce.
    DeliveryTimeout {
        /// The instance.
        producer: usize,
        /// The Produce, rendered as the model renders its body.
        request: String,
    },
    /// A transactional id's transaction timeout.
    TransactionTimeout {
        /// `txn-{txn}`.
        txn: u8,
    },
    /// A transactional id's marker retry.
    MarkerRetry {
        /// `txn-{txn}`.
        txn: u8,
    },
    /// The request timeout of a transactional id's marker to one target.
    MarkerRequestTimeout {
        /// `txn-{txn}`.
        txn: u8,
        /// The target, rendered as the model renders it (`out-0`, `__consumer_offsets`).
        target: String,
    },
}

impl std::fmt::Display for TimerName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TimerName::Retry { producer } => write!(f, "producer-{producer} retry"),
            TimerName::RequestTimeout { producer, request } => {
                write!(f, "producer-{producer} request timeout: {request}")
            }
            TimerName::DeliveryTimeout { producer, request } => {
                write!(f, "producer-{producer} delivery timeout: {request}")
            }
            TimerName::TransactionTimeout { txn } => write!(f, "txn-{txn} transaction timeout"),
            TimerName::MarkerRetry { txn } => write!(f, "txn-{txn} marker retry"),
            TimerName::MarkerRequestTimeout { txn, target } => write!(f, "txn-{txn} marker request timeout: {target}"),
        }
    }
}

/// Armed timers with their deadlines (a timer may be armed more than once: two requests that read
/// the same).
pub type TimerTable = BTreeMap<TimerName, Vec<i64>>;

const FAILED: &str = " (failed)";

/// One outstanding request of an observed client: (rendered body, failed).
fn outstanding(client: &ClientView) -> impl Iterator<Item = (&str, bool)> {
    client.outstanding.iter().map(|r| match r.strip_suffix(FAILED) {
        Some(body) => (body, true),
        None => (r.as_str(), false),
    })
}

/// The requests (instance, body) of which the step put a new copy in flight: more copies after it than
/// before (a request delivered or lost by the step is never re-sent in the same step, so its copies only
/// fall). The network is sorted by line.
fn resent_requests<'a>(before: &Observation, after: &'a Observation) -> Vec<(usize, &'a str)> {
    let copies_before = |line: &str| {
        before.network.binary_search_by(|m| m.message.as_str().cmp(line)).map_or(0, |k| before.network[k].copies)
    };
    after
        .network
        .iter()
        .filter_map(|m| {
            let (from, body) = m.message.strip_prefix("producer-")?.split_once(" → ")?;
            let from: usize = from.parse().ok()?;
            (m.copies > copies_before(&m.message)).then_some((from, body))
        })
        .collect()
}

/// Whether a rendered request body is a Produce (the model renders it `Produce(...)`).
fn is_produce(body: &str) -> bool {
    body.starts_with("Produce")
}

fn has_timers(client: &ClientView) -> bool {
    !matches!(client.phase.as_str(), "Crashed" | "FatalError")
}

/// The harness's clock and what the rules need to remember: when each request was sent and failed,
/// when each transaction started and with which timeout, when each marker failed.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    now_ms: i64,
    /// Whether the scenario's batches may expire (then Produces have delivery timeouts).
    batches_expire: bool,
    /// Per instance: request → when it was last sent.
    sent_at: Vec<BTreeMap<String, i64>>,
    /// Per instance: request → when it failed.
    failed_at: Vec<BTreeMap<String, i64>>,
    /// Per instance: outstanding Produce → when it first became outstanding (batches_expire only).
    made_at: Vec<BTreeMap<String, i64>>,
    /// transactional id (`txn-{t}`) → when its transaction became Ongoing.
    started_at: BTreeMap<u8, i64>,
    /// transactional id → when its move to Ongoing was prepared, while the append is in flight.
    ongoing_prepared_at: BTreeMap<u8, i64>,
    /// transactional id → its transaction timeout.
    timeout_ms: BTreeMap<u8, i64>,
    /// transactional id → the instance whose InitProducerId reached the coordinator last.
    last_init_from: BTreeMap<u8, u8>,
    /// (transactional id, target) → when its marker failed.
    marker_failed_at: BTreeMap<(u8, String), i64>,
    /// transactional id → when its completion's append failed, while the completion is stuck.
    completion_stuck_at: BTreeMap<u8, i64>,
    /// (transactional id, target) → when its marker, in flight, was last sent.
    marker_sent_at: BTreeMap<(u8, String), i64>,
}

impl Clock {
    /// The clock at 0 with nothing sent, for the scenario `config`.
    pub fn new(config: &eos_model::Config) -> Self {
        Self { batches_expire: config.faults.batch_expirations > 0, ..Self::default() }
    }

    /// The time now.
    pub fn now(&self) -> i64 {
        self.now_ms
    }

    /// The deadline the rules give the timer `action` fires, if `action` is a timer.
    fn deadline_of(&self, action: &Action) -> Option<Option<i64>> {
        Some(match action {
            Action::ProducerRetry { producer } => self
                .failed_at
                .get(usize::from(*producer))
                .and_then(|failed| failed.values().min())
                .map(|t| t + RETRY_BACKOFF_MS),
            Action::ProducerRequestTimeout { producer, request } => self
                .sent_at
                .get(usize::from(*producer))
                .and_then(|sent| sent.get(&request.body.to_string()))
                .map(|t| t + REQUEST_TIMEOUT_MS),
            Action::ProducerBatchExpires { producer, request } => self
                .made_at
                .get(usize::from(*producer))
                .and_then(|made| made.get(&request.body.to_string()))
                .map(|t| t + DELIVERY_TIMEOUT_MS),
            Action::CoordinatorRetryMarkers { txn } => self.marker_retry_due(*txn),
            Action::CoordinatorTimeout { txn } => self.started_at.get(txn).map(|start| start + self.timeout_of(*txn)),
            Action::CoordinatorResendMarker { marker } => {
                self.marker_sent_at.get(&(marker.txn, marker.target.to_string())).map(|t| t + MARKER_REQUEST_TIMEOUT_MS)
            }
            _ => return None,
        })
    }

    /// The time at which `action` happens: a timer at its deadline (or now, if that passed), any
    /// other step [`STEP_MS`] after the last.
    pub fn time_of(&self, action: &Action) -> i64 {
        match self.deadline_of(action) {
            Some(deadline) => self.now_ms.max(deadline.unwrap_or(self.now_ms)),
            None => self.now_ms + STEP_MS,
        }
    }

    /// The deadline of `txn`'s marker retry: `MARKER_RETRY_BACKOFF_MS` after its earliest marker
    /// failure, or at once (the step it got stuck) for a stuck completion.
    fn marker_retry_due(&self, txn: u8) -> Option<i64> {
        let failures = self.marker_failed_at.iter().filter(|((t, _), _)| *t == txn).map(|(_, at)| *at);
        failures.min().map(|t| t + MARKER_RETRY_BACKOFF_MS).or_else(|| self.completion_stuck_at.get(&txn).copied())
    }

    fn timeout_of(&self, txn: u8) -> i64 {
        self.timeout_ms.get(&txn).copied().unwrap_or(i64::from(transaction_timeout_ms(0)))
    }

    /// Records that `action` took the observed state from `before` to `after` at `now_ms`.
    pub fn record(&mut self, now_ms: i64, before: &Observation, action: &Action, after: &Observation) {
        assert!(now_ms >= self.now_ms, "the harness's clock never goes back");
        self.now_ms = now_ms;
        if let Action::Deliver { message: Message::Request(r) } | Action::CoordinatorAppendCompletes { request: r } =
            action
        {
            if let RequestBody::InitProducerId { txn: Some(t), .. } = r.body {
                self.last_init_from.insert(t, r.from);
            }
        }
        let resent = resent_requests(before, after);
        for (i, (b, a)) in before.clients.iter().zip(&after.clients).enumerate() {
            self.record_client(i, b, a, &resent);
        }
        for (t, (b, a)) in before.transactions.iter().zip(&after.transactions).enumerate() {
            let txn = u8::try_from(t).expect("few transactional ids");
            self.record_transaction(txn, b, a);
            self.record_markers_sent(txn, b, a, action);
        }
    }

    fn record_client(&mut self, i: usize, before: &ClientView, after: &ClientView, resent: &[(usize, &str)]) {
        if before.outstanding.is_empty() && after.outstanding.is_empty() {
            return;
        }
        if self.sent_at.len() <= i {
            self.sent_at.resize_with(i + 1, BTreeMap::new);
            self.failed_at.resize_with(i + 1, BTreeMap::new);
            self.made_at.resize_with(i + 1, BTreeMap::new);
        }
        let was: Vec<(&str, bool)> = outstanding(before).collect();
        let was = |body: &str| was.iter().find(|(b, _)| *b == body).map(|(_, failed)| *failed);
        let now = self.now_ms;
        let (sent_at, failed_at, made_at) = (&mut self.sent_at[i], &mut self.failed_at[i], &mut self.made_at[i]);
        for (body, failed) in outstanding(after) {
            if self.batches_expire && is_produce(body) && was(body).is_none() {
                made_at.insert(body.to_owned(), now);
            }
            if failed {
                if was(body) != Some(true) {
                    failed_at.insert(body.to_owned(), now);
                }
                continue;
            }
            failed_at.remove(body);
            if was(body) != Some(false) || resent.contains(&(i, body)) {
                sent_at.insert(body.to_owned(), now);
            }
        }
        if sent_at.len() + failed_at.len() > after.outstanding.len() || made_at.len() > after.outstanding.len() {
            let still: Vec<&str> = outstanding(after).map(|(body, _)| body).collect();
            sent_at.retain(|body, _| still.contains(&body.as_str()));
            failed_at.retain(|body, _| still.contains(&body.as_str()));
            made_at.retain(|body, _| still.contains(&body.as_str()));
        }
    }

    fn record_transaction(&mut self, txn: u8, before: &TransactionView, after: &TransactionView) {
        let now = self.now_ms;
        let ongoing = |v: &TransactionView| v.state.as_deref() == Some("Ongoing");
        if ongoing(after) && !ongoing(before) {
            self.started_at.insert(txn, self.ongoing_prepared_at.remove(&txn).unwrap_or(now));
        }
        if after.pending_state.as_deref() == Some("Ongoing") && !ongoing(after) {
            self.ongoing_prepared_at.entry(txn).or_insert(now);
        } else {
            self.ongoing_prepared_at.remove(&txn);
        }
        let new_producer = (after.producer_id, after.producer_epoch) != (before.producer_id, before.producer_epoch);
        if after.state.as_deref() == Some("Empty") && new_producer {
            let from = self.last_init_from.get(&txn).copied().unwrap_or(0);
            self.timeout_ms.insert(txn, i64::from(transaction_timeout_ms(from)));
        }
        if !after.completion_stuck {
            self.completion_stuck_at.remove(&txn);
        } else if !before.completion_stuck {
            self.completion_stuck_at.insert(txn, now);
        }
        if before.failed_markers.is_empty() && after.failed_markers.is_empty() {
            return;
        }
        for target in &after.failed_markers {
            if !before.failed_markers.contains(target) {
                self.marker_failed_at.insert((txn, target.clone()), now);
            }
        }
        self.marker_failed_at.retain(|(t, target), _| *t != txn || after.failed_markers.contains(target));
    }

    /// When each marker in flight was last sent: when it came into flight, or when a failover or a
    /// marker request timeout sent it again.
    fn record_markers_sent(&mut self, txn: u8, before: &TransactionView, after: &TransactionView, action: &Action) {
        let in_flight = |v: &TransactionView| -> Vec<String> {
            v.pending_markers.iter().filter(|t| !v.failed_markers.contains(t)).cloned().collect()
        };
        let (was, is) = (in_flight(before), in_flight(after));
        if was.is_empty() && is.is_empty() {
            return;
        }
        for target in &is {
            let resent = match action {
                Action::CoordinatorFailover => true,
                Action::CoordinatorResendMarker { marker } => marker.txn == txn && marker.target.to_string() == *target,
                _ => false,
            };
            if resent || !was.contains(target) {
                self.marker_sent_at.insert((txn, target.clone()), self.now_ms);
            }
        }
        self.marker_sent_at.retain(|(t, target), _| *t != txn || is.contains(target));
    }

    /// The timers the rules arm in the observed state, with their deadlines.
    pub fn expected(&self, observation: &Observation) -> TimerTable {
        let mut table = TimerTable::new();
        let mut arm = |name: TimerName, deadline: i64| table.entry(name).or_default().push(deadline);
        for (i, client) in observation.clients.iter().enumerate().filter(|(_, c)| has_timers(c)) {
            let mut earliest_failure: Option<i64> = None;
            let (sent_at, failed_at, made_at) = (self.sent_at.get(i), self.failed_at.get(i), self.made_at.get(i));
            for (body, failed) in outstanding(client) {
                if self.batches_expire && is_produce(body) {
                    let made = made_at.and_then(|m| m.get(body)).copied().unwrap_or(self.now_ms);
                    let name = TimerName::DeliveryTimeout { producer: i, request: body.to_owned() };
                    arm(name, made + DELIVERY_TIMEOUT_MS);
                }
                if failed {
                    let at = failed_at.and_then(|f| f.get(body)).copied().unwrap_or(self.now_ms);
                    earliest_failure = Some(earliest_failure.map_or(at, |e| e.min(at)));
                } else {
                    let sent = sent_at.and_then(|s| s.get(body)).copied().unwrap_or(self.now_ms);
                    let name = TimerName::RequestTimeout { producer: i, request: body.to_owned() };
                    arm(name, sent + REQUEST_TIMEOUT_MS);
                }
            }
            if let Some(at) = earliest_failure {
                arm(TimerName::Retry { producer: i }, at + RETRY_BACKOFF_MS);
            }
        }
        for (t, view) in observation.transactions.iter().enumerate() {
            let txn = u8::try_from(t).expect("few transactional ids");
            if view.state.as_deref() == Some("Ongoing") {
                let start = self.started_at.get(&txn).copied().unwrap_or(self.now_ms);
                arm(TimerName::TransactionTimeout { txn }, start + self.timeout_of(txn));
            }
            if let Some(at) = self.marker_retry_due(txn) {
                arm(TimerName::MarkerRetry { txn }, at);
            }
            for target in view.pending_markers.iter().filter(|t| !view.failed_markers.contains(t)) {
                let sent = self.marker_sent_at.get(&(txn, target.clone())).copied().unwrap_or(self.now_ms);
                arm(TimerName::MarkerRequestTimeout { txn, target: target.clone() }, sent + MARKER_REQUEST_TIMEOUT_MS);
            }
        }
        for deadlines in table.values_mut() {
            deadlines.sort_unstable();
        }
        table
    }
}
