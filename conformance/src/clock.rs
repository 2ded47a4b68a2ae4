//! Time in conformance (specs/eos.md §10, "time", and §11, "timers"): the harness's clock and the
//! spec's timing rules, kept by the harness from the model's observations alone.
//!
//! The model has no clock: a timer action (ProducerRetry, ProducerRequestTimeout,
//! CoordinatorRetryMarkers, CoordinatorTimeout) may happen whenever it is enabled. The harness gives
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
//! - `txn-t transaction timeout`: while the id is Ongoing; due its timeout after the step that moved it
//!   from another state to Ongoing. The timeout is that of the instance whose InitProducerId last
//!   reached the coordinator when the id last entered Empty with a new producer id or epoch.
//! - `txn-t marker retry`: while a marker of the id is failed; due `MARKER_RETRY_BACKOFF_MS` after the
//!   earliest failure.
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

/// The `transaction.timeout.ms` instance `producer` asks for (distinct per instance).
pub fn transaction_timeout_ms(producer: u8) -> i32 {
    60_000 + 1_000 * i32::from(producer)
}

/// Armed timers, by name, with their deadlines (a name may be armed more than once).
pub type TimerTable = BTreeMap<String, Vec<i64>>;

/// The name of an instance's retry timer.
pub fn retry_timer(producer: usize) -> String {
    format!("producer-{producer} retry")
}

/// The name of the request-timeout timer of a request (rendered as the model renders its body).
pub fn request_timeout_timer(producer: usize, request: &str) -> String {
    format!("producer-{producer} request timeout: {request}")
}

/// The name of a transactional id's transaction-timeout timer.
pub fn transaction_timeout_timer(transactional_id: &str) -> String {
    format!("{transactional_id} transaction timeout")
}

/// The name of a transactional id's marker-retry timer.
pub fn marker_retry_timer(transactional_id: &str) -> String {
    format!("{transactional_id} marker retry")
}

const FAILED: &str = " (failed)";

/// One outstanding request of an observed client: (rendered body, failed).
fn outstanding(client: &ClientView) -> impl Iterator<Item = (&str, bool)> {
    client.outstanding.iter().map(|r| match r.strip_suffix(FAILED) {
        Some(body) => (body, true),
        None => (r.as_str(), false),
    })
}

fn has_timers(client: &ClientView) -> bool {
    !matches!(client.phase.as_str(), "Crashed" | "FatalError")
}

/// The harness's clock and what the rules need to remember: when each request was sent and failed,
/// when each transaction started and with which timeout, when each marker failed.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    now_ms: i64,
    /// (instance, request) → when it was last sent.
    sent_at: BTreeMap<(usize, String), i64>,
    /// (instance, request) → when it failed.
    failed_at: BTreeMap<(usize, String), i64>,
    /// transactional id → when its transaction became Ongoing.
    started_at: BTreeMap<String, i64>,
    /// transactional id → its transaction timeout.
    timeout_ms: BTreeMap<String, i64>,
    /// transactional id → the instance whose InitProducerId reached the coordinator last.
    last_init_from: BTreeMap<String, u8>,
    /// (transactional id, target) → when its marker failed.
    marker_failed_at: BTreeMap<(String, String), i64>,
}

impl Clock {
    /// The clock at 0 with nothing sent.
    pub fn new() -> Self {
        Self::default()
    }

    /// The time now.
    pub fn now(&self) -> i64 {
        self.now_ms
    }

    /// The deadline the rules give the timer `action` fires, if `action` is a timer.
    fn deadline_of(&self, action: &Action) -> Option<Option<i64>> {
        let earliest = |times: Vec<i64>| times.into_iter().min();
        Some(match action {
            Action::ProducerRetry { producer } => {
                let p = usize::from(*producer);
                earliest(self.failed_at.iter().filter(|((i, _), _)| *i == p).map(|(_, t)| *t).collect())
                    .map(|t| t + RETRY_BACKOFF_MS)
            }
            Action::ProducerRequestTimeout { producer, request } => {
                self.sent_at.get(&(usize::from(*producer), request.body.to_string())).map(|t| t + REQUEST_TIMEOUT_MS)
            }
            Action::CoordinatorRetryMarkers { txn } => {
                let id = format!("txn-{txn}");
                earliest(self.marker_failed_at.iter().filter(|((t, _), _)| *t == id).map(|(_, t)| *t).collect())
                    .map(|t| t + MARKER_RETRY_BACKOFF_MS)
            }
            Action::CoordinatorTimeout { txn } => {
                let id = format!("txn-{txn}");
                self.started_at.get(&id).map(|start| start + self.timeout_of(&id))
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

    fn timeout_of(&self, transactional_id: &str) -> i64 {
        self.timeout_ms.get(transactional_id).copied().unwrap_or(i64::from(transaction_timeout_ms(0)))
    }

    /// Records that `action` took the observed state from `before` to `after` at `now_ms`.
    pub fn record(&mut self, now_ms: i64, before: &Observation, action: &Action, after: &Observation) {
        assert!(now_ms >= self.now_ms, "the harness's clock never goes back");
        self.now_ms = now_ms;
        if let Action::Deliver { message: Message::Request(r) } = action {
            if let RequestBody::InitProducerId { txn: Some(t), .. } = r.body {
                self.last_init_from.insert(format!("txn-{t}"), r.from);
            }
        }
        let taken = match action {
            Action::Deliver { message } | Action::Lose { message } => Some(message.to_string()),
            _ => None,
        };
        for (i, (b, a)) in before.clients.iter().zip(&after.clients).enumerate() {
            self.record_client(i, b, a, before, after, taken.as_deref());
        }
        for (b, a) in before.transactions.iter().zip(&after.transactions) {
            self.record_transaction(b, a);
        }
    }

    fn record_client(
        &mut self,
        i: usize,
        before: &ClientView,
        after: &ClientView,
        before_all: &Observation,
        after_all: &Observation,
        taken: Option<&str>,
    ) {
        let was: BTreeMap<&str, bool> = outstanding(before).collect();
        let copies = |observation: &Observation, line: &str| {
            observation.network.iter().find(|m| m.message == line).map_or(0, |m| i64::from(m.copies))
        };
        let now = self.now_ms;
        let mut still = Vec::new();
        for (body, failed) in outstanding(after) {
            let key = (i, body.to_owned());
            still.push(key.clone());
            if failed {
                if was.get(body) != Some(&true) {
                    self.failed_at.insert(key, now);
                }
                continue;
            }
            self.failed_at.remove(&key);
            let line = format!("producer-{i} → {body}");
            let taken_here = i64::from(taken == Some(line.as_str()));
            let put_in_flight = copies(after_all, &line) > copies(before_all, &line) - taken_here;
            if was.get(body) != Some(&false) || put_in_flight {
                self.sent_at.insert(key, now);
            }
        }
        self.sent_at.retain(|(j, body), _| *j != i || still.iter().any(|(_, b)| b == body));
        self.failed_at.retain(|(j, body), _| *j != i || still.iter().any(|(_, b)| b == body));
    }

    fn record_transaction(&mut self, before: &TransactionView, after: &TransactionView) {
        let id = &after.transactional_id;
        let now = self.now_ms;
        if after.state.as_deref() == Some("Ongoing") && before.state.as_deref() != Some("Ongoing") {
            self.started_at.insert(id.clone(), now);
        }
        let new_producer = (after.producer_id, after.producer_epoch) != (before.producer_id, before.producer_epoch);
        if after.state.as_deref() == Some("Empty") && new_producer {
            let from = self.last_init_from.get(id).copied().unwrap_or(0);
            self.timeout_ms.insert(id.clone(), i64::from(transaction_timeout_ms(from)));
        }
        for target in &after.failed_markers {
            if !before.failed_markers.contains(target) {
                self.marker_failed_at.insert((id.clone(), target.clone()), now);
            }
        }
        self.marker_failed_at.retain(|(t, target), _| t != id || after.failed_markers.contains(target));
    }

    /// The timers the rules arm in the observed state, with their deadlines.
    pub fn expected(&self, observation: &Observation) -> TimerTable {
        let mut table = TimerTable::new();
        let mut arm = |name: String, deadline: i64| table.entry(name).or_default().push(deadline);
        for (i, client) in observation.clients.iter().enumerate().filter(|(_, c)| has_timers(c)) {
            let mut earliest_failure: Option<i64> = None;
            for (body, failed) in outstanding(client) {
                let key = (i, body.to_owned());
                if failed {
                    let at = self.failed_at.get(&key).copied().unwrap_or(self.now_ms);
                    earliest_failure = Some(earliest_failure.map_or(at, |e| e.min(at)));
                } else {
                    let sent = self.sent_at.get(&key).copied().unwrap_or(self.now_ms);
                    arm(request_timeout_timer(i, body), sent + REQUEST_TIMEOUT_MS);
                }
            }
            if let Some(at) = earliest_failure {
                arm(retry_timer(i), at + RETRY_BACKOFF_MS);
            }
        }
        for txn in &observation.transactions {
            let id = &txn.transactional_id;
            if txn.state.as_deref() == Some("Ongoing") {
                let start = self.started_at.get(id).copied().unwrap_or(self.now_ms);
                arm(transaction_timeout_timer(id), start + self.timeout_of(id));
            }
            let failures = self.marker_failed_at.iter().filter(|((t, _), _)| t == id).map(|(_, at)| *at);
            if let Some(at) = failures.min() {
                arm(marker_retry_timer(id), at + MARKER_RETRY_BACKOFF_MS);
            }
        }
        for deadlines in table.values_mut() {
            deadlines.sort_unstable();
        }
        table
    }
}
