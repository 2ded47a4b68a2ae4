//! Running the checker on a scenario and collecting per-property verdicts.

use crate::config::{Config, Protocol};
use crate::discovery::FirstDiscoveries;
use crate::model::EosModel;
use crate::state::{Action, State};
use stateright::{Checker, Expectation, Model, Path, UniformChooser};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How the state space is explored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Depth-first, with symmetry reduction (exhaustive).
    Dfs,
    /// Breadth-first (exhaustive; one thread, so each counterexample is a shortest one; no symmetry
    /// reduction).
    Bfs,
    /// Random walks from the initial state with this seed (not exhaustive).
    Simulation {
        /// The random seed.
        seed: u64,
    },
}

impl Strategy {
    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Dfs => "dfs",
            Strategy::Bfs => "bfs",
            Strategy::Simulation { .. } => "sim",
        }
    }
}

/// The deepest `--max-depth` accepted, in steps. It keeps the checker's depth arithmetic far from
/// overflow and is far beyond any path of the built-in scenarios (the deepest, `happy`, has paths of
/// a few dozen steps); a deeper bound would only ever mean "unbounded".
pub const MAX_DEPTH_LIMIT: usize = 10_000;

/// Knobs of one run.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Exploration strategy.
    pub strategy: Strategy,
    /// Worker threads (BFS always uses one: the order that makes its counterexamples shortest).
    pub threads: usize,
    /// Symmetry reduction (DFS and simulation only; stateright ignores it for BFS).
    pub symmetry: bool,
    /// Partial-order reduction ([`crate::reduction`]): fewer states, the same verdicts.
    pub reduction: bool,
    /// Explore at most this many steps deep (None: unbounded); at most [`MAX_DEPTH_LIMIT`].
    pub max_depth: Option<usize>,
    /// Give up after this long (None: never; simulation defaults to 10 s).
    pub timeout: Option<Duration>,
    /// Lets another thread (a signal handler) stop the run; it then reports what it has so far.
    pub stop: StopHandle,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            strategy: Strategy::Dfs,
            threads: 1,
            symmetry: true,
            reduction: false,
            max_depth: None,
            timeout: None,
            stop: StopHandle::default(),
        }
    }
}

/// Stops a running check from outside (e.g. on SIGINT), remembering why.
#[derive(Clone, Debug, Default)]
pub struct StopHandle {
    /// Shared with the model: once set, every new state is outside the boundary.
    flag: Arc<AtomicBool>,
    /// 0: not stopped; -1: timeout; n > 0: signal n.
    reason: Arc<AtomicI32>,
}

impl StopHandle {
    /// Stops the run because signal `signal` (e.g. SIGINT = 2) arrived.
    pub fn interrupt(&self, signal: i32) {
        assert!(signal > 0, "a signal number");
        let _ = self.reason.compare_exchange(0, signal, Ordering::Relaxed, Ordering::Relaxed);
        self.flag.store(true, Ordering::Relaxed);
    }

    fn time_out(&self) {
        let _ = self.reason.compare_exchange(0, -1, Ordering::Relaxed, Ordering::Relaxed);
        self.flag.store(true, Ordering::Relaxed);
    }

    fn requested(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }

    fn reason(&self) -> i32 {
        self.reason.load(Ordering::Relaxed)
    }
}

/// Progress of a running check, for a progress line.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Unique states generated so far.
    pub unique_states: usize,
    /// States generated so far (with repeats).
    pub total_states: usize,
    /// States checked so far (their properties evaluated and successors generated).
    pub checked_states: usize,
    /// States generated but not yet explored (DFS/BFS: unique states minus states checked; None for
    /// random walks, which keep no frontier).
    pub frontier: Option<usize>,
    /// Deepest path so far, in steps.
    pub max_depth: usize,
    /// Time since the start.
    pub elapsed: Duration,
}

/// What became of one property.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// `always`: no counterexample in the explored space.
    Holds,
    /// `always`: a counterexample.
    Violated(Path<State, Action>),
    /// `sometimes`: an example.
    Reached(Path<State, Action>),
    /// `sometimes`: no example in the explored space.
    NotReached,
}

impl Outcome {
    /// The counterexample or example, if any.
    pub fn path(&self) -> Option<&Path<State, Action>> {
        match self {
            Outcome::Violated(path) | Outcome::Reached(path) => Some(path),
            Outcome::Holds | Outcome::NotReached => None,
        }
    }
}

/// One property's verdict.
#[derive(Clone, Debug)]
pub struct Verdict {
    /// The property's catalogue name.
    pub name: &'static str,
    /// `always` or `sometimes`.
    pub expectation: Expectation,
    /// What happened.
    pub outcome: Outcome,
    /// Whether the scenario expects this property to be violated under this protocol.
    pub expected_violated: bool,
}

impl Verdict {
    /// Whether the property came out as wanted by a correct system (holds / reached).
    pub fn passed(&self) -> bool {
        matches!(self.outcome, Outcome::Holds | Outcome::Reached(_))
    }

    /// Whether the property is violated.
    pub fn violated(&self) -> bool {
        matches!(self.outcome, Outcome::Violated(_))
    }

    /// Whether the outcome is what the scenario file expects (a run that was not exhaustive cannot
    /// show that a property holds, so it judges only what it found).
    pub fn as_expected(&self) -> bool {
        match &self.outcome {
            Outcome::Violated(_) => self.expected_violated,
            Outcome::Holds => !self.expected_violated,
            Outcome::Reached(_) => true,
            Outcome::NotReached => false,
        }
    }
}

/// How much of the bounded state space a run covered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coverage {
    /// Every reachable state was checked.
    Exhaustive,
    /// `--max-depth` cut paths: states deeper than `bound` steps were not checked.
    DepthBound {
        /// The bound, in steps.
        bound: usize,
    },
    /// The time limit ran out with states left to explore.
    TimedOut {
        /// The limit.
        after: Duration,
        /// States generated but not explored when it ran out.
        frontier: usize,
    },
    /// A signal (SIGINT, SIGTERM) stopped the run.
    Interrupted {
        /// The signal's number.
        signal: i32,
        /// States generated but not explored when it arrived.
        frontier: usize,
    },
    /// Random walks: never exhaustive.
    Simulation,
}

impl Coverage {
    /// Whether the whole bounded space was checked.
    pub fn is_exhaustive(self) -> bool {
        self == Coverage::Exhaustive
    }
}

/// The result of checking one scenario under one protocol.
#[derive(Clone, Debug)]
pub struct CheckReport {
    /// The scenario (with the protocol checked).
    pub config: Config,
    /// The strategy used.
    pub strategy: Strategy,
    /// Worker threads used.
    pub threads: usize,
    /// Whether symmetry reduction was on.
    pub symmetry: bool,
    /// Whether partial-order reduction was on.
    pub reduction: bool,
    /// Unique states generated (representatives, with symmetry).
    pub unique_states: usize,
    /// States checked (properties evaluated, successors generated).
    pub checked_states: usize,
    /// States generated, with repeats.
    pub total_states: usize,
    /// The longest path explored, in steps.
    pub max_depth: usize,
    /// Wall-clock time.
    pub elapsed: Duration,
    /// How much of the space was covered.
    pub coverage: Coverage,
    /// Per-property verdicts, in catalogue order.
    pub verdicts: Vec<Verdict>,
}

impl CheckReport {
    /// The protocol checked.
    pub fn protocol(&self) -> Protocol {
        self.config.protocol
    }

    /// Whether the whole bounded space was explored (no depth cut, time-out, signal, simulation).
    pub fn exhaustive(&self) -> bool {
        self.coverage.is_exhaustive()
    }

    /// An exhaustive run in which every property holds and every `sometimes` is reached: exit 0.
    pub fn all_hold(&self) -> bool {
        self.exhaustive() && self.verdicts.iter().all(Verdict::passed)
    }

    /// Every verdict is what the scenario file expects (and the run was exhaustive, so "holds" means
    /// holds).
    pub fn as_expected(&self) -> bool {
        self.exhaustive() && self.verdicts.iter().all(Verdict::as_expected)
    }

    /// The violated properties' names.
    pub fn violated(&self) -> Vec<&'static str> {
        self.verdicts.iter().filter(|v| v.violated()).map(|v| v.name).collect()
    }

    /// Violated properties the scenario does not expect.
    pub fn unexpected_violations(&self) -> Vec<&'static str> {
        self.verdicts.iter().filter(|v| v.violated() && !v.expected_violated).map(|v| v.name).collect()
    }

    /// States per second.
    pub fn states_per_second(&self) -> f64 {
        self.unique_states as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Checks `config` (under its protocol) with `options`, calling `on_progress` every 20 ms or so.
pub fn run(config: &Config, options: &CheckOptions, mut on_progress: impl FnMut(Progress)) -> CheckReport {
    let plain = EosModel::new(config.clone());
    let first = Arc::new(FirstDiscoveries::new(&plain.properties()));
    let model = EosModel {
        stop: options.stop.flag.clone(),
        first_discoveries: Some(first.clone()),
        reduction: options.reduction,
        ..plain.clone()
    };
    let start = Instant::now();
    let threads = if options.strategy == Strategy::Bfs { 1 } else { options.threads.max(1) };
    let mut builder = model.clone().checker().threads(threads);
    if options.symmetry && options.strategy != Strategy::Bfs {
        builder = builder.symmetry_fn(crate::symmetry::stand_in);
    }
    let max_depth = options.max_depth.map(|depth| depth.min(MAX_DEPTH_LIMIT));
    if let Some(depth) = max_depth {
        // stateright counts the initial state as depth 1 and skips states at `target_max_depth`: the
        // states reachable in at most `depth` steps are checked.
        builder = builder.target_max_depth(depth + 2);
    }
    let timeout = match (options.timeout, options.strategy) {
        (None, Strategy::Simulation { .. }) => Some(Duration::from_secs(10)),
        (t, _) => t,
    };
    let simulation = matches!(options.strategy, Strategy::Simulation { .. });
    if let (Some(t), true) = (timeout, simulation) {
        builder = builder.timeout(t); // a simulation never runs out of states: stateright ends it
    }
    let watch = Watch { first: &first, stop: &options.stop, start, timeout, simulation };
    let finished = match options.strategy {
        Strategy::Dfs => wait(builder.spawn_dfs(), &watch, &mut on_progress),
        Strategy::Bfs => wait(builder.spawn_bfs(), &watch, &mut on_progress),
        Strategy::Simulation { seed } => wait(builder.spawn_simulation(seed, UniformChooser), &watch, &mut on_progress),
    };
    let elapsed = start.elapsed();
    let coverage = coverage(options, &finished, max_depth, timeout);
    let expected = config.expect.violated(config.protocol);
    let verdicts = plain
        .properties()
        .into_iter()
        .map(|p| {
            let found = finished.discoveries.iter().find(|(n, _)| *n == p.name).map(|(_, path)| path.clone());
            let outcome = match (&p.expectation, found) {
                (Expectation::Sometimes, Some(path)) => Outcome::Reached(path),
                (Expectation::Sometimes, None) => Outcome::NotReached,
                (_, Some(path)) => Outcome::Violated(first_violation(&plain, p.condition, path)),
                (_, None) => Outcome::Holds,
            };
            Verdict { name: p.name, expectation: p.expectation, outcome, expected_violated: expected.contains(p.name) }
        })
        .collect();
    CheckReport {
        config: config.clone(),
        strategy: options.strategy,
        threads,
        symmetry: options.symmetry && options.strategy != Strategy::Bfs,
        reduction: options.reduction,
        unique_states: finished.unique,
        checked_states: first.checked(),
        total_states: finished.total,
        max_depth: max_depth.map_or(finished.depth, |bound| finished.depth.min(bound + 1)).saturating_sub(1),
        elapsed,
        coverage,
        verdicts,
    }
}

/// How much of the space a finished run covered.
fn coverage(
    options: &CheckOptions,
    finished: &Finished,
    max_depth: Option<usize>,
    timeout: Option<Duration>,
) -> Coverage {
    // stateright records the depth of states it then skips for the bound: a recorded depth beyond
    // the bound means some state was cut.
    let depth_cut = max_depth.is_some_and(|bound| finished.depth > bound + 1);
    let frontier = finished.frontier_at_stop;
    match (options.strategy, options.stop.reason()) {
        (_, signal) if signal > 0 => Coverage::Interrupted { signal, frontier },
        (Strategy::Simulation { .. }, _) => Coverage::Simulation,
        (_, -1) => Coverage::TimedOut { after: timeout.unwrap_or_default(), frontier },
        _ if depth_cut => Coverage::DepthBound { bound: max_depth.unwrap_or_default() },
        _ => Coverage::Exhaustive,
    }
}

type Discoveries = Vec<(&'static str, Path<State, Action>)>;

/// What a finished (or abandoned) checker left.
struct Finished {
    unique: usize,
    total: usize,
    /// stateright's depth (the initial state is 1).
    depth: usize,
    /// The frontier when a stop was requested (0 if none was).
    frontier_at_stop: usize,
    discoveries: Discoveries,
}

/// The prefix of a counterexample that ends at the first state violating the property: a checker may
/// notice a violation a few steps after it happened (DFS checks a state when it pops it, and symmetry
/// continues a path with the state it found, not the representative).
fn first_violation(
    model: &EosModel,
    condition: fn(&EosModel, &State) -> bool,
    path: Path<State, Action>,
) -> Path<State, Action> {
    let states = path.clone().into_states();
    let Some(first) = states.iter().position(|s| !condition(model, s)) else { return path };
    let actions = path.clone().into_actions();
    Path::from_actions(model, states[0].clone(), &actions[..first]).unwrap_or(path)
}

/// What the waiting loop watches.
struct Watch<'a> {
    first: &'a FirstDiscoveries,
    stop: &'a StopHandle,
    start: Instant,
    timeout: Option<Duration>,
    /// Random walks keep no frontier.
    simulation: bool,
}

/// After a stop, how long the checker may take to drain the states it already generated before the
/// report is made from its counters as they are.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

fn wait<C: Checker<EosModel>>(checker: C, watch: &Watch, on_progress: &mut impl FnMut(Progress)) -> Finished {
    let mut pause = Duration::from_millis(1);
    let mut stopped_at: Option<(Instant, usize)> = None;
    let progress = |checker: &C, elapsed| {
        // Checked first: both counts only grow and a state is counted unique before it is checked,
        // so reading unique second never finds fewer unique than checked states (the other order
        // could, while the threads run, and made the frontier a spurious 0).
        let checked = watch.first.checked();
        let unique = checker.unique_state_count();
        Progress {
            unique_states: unique,
            total_states: checker.state_count(),
            checked_states: checked,
            frontier: (!watch.simulation).then(|| unique.saturating_sub(checked)),
            max_depth: checker.max_depth().saturating_sub(1),
            elapsed,
        }
    };
    while !checker.is_done() {
        let elapsed = watch.start.elapsed();
        // The reading comes before a time-out's stop: once stopped, the checker drains its pending
        // states, and a reading taken after a descheduling of this thread could find none left.
        let now = progress(&checker, elapsed);
        if watch.timeout.is_some_and(|t| elapsed >= t) {
            watch.stop.time_out();
        }
        if watch.stop.requested() && stopped_at.is_none() {
            stopped_at = Some((Instant::now(), now.frontier.unwrap_or(0)));
        }
        let grace = if watch.simulation { Duration::ZERO } else { DRAIN_GRACE };
        if stopped_at.is_some_and(|(at, _)| at.elapsed() >= grace) {
            // Report what is known now; the checker's threads end with the process.
            return finished(&checker, stopped_at);
        }
        on_progress(now);
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
    let checker = checker.join();
    finished(&checker, stopped_at)
}

fn finished<C: Checker<EosModel>>(checker: &C, stopped_at: Option<(Instant, usize)>) -> Finished {
    let mut discoveries: Discoveries = checker.discoveries().into_iter().collect();
    discoveries.sort_by_key(|(name, _)| *name);
    Finished {
        unique: checker.unique_state_count(),
        total: checker.state_count(),
        depth: checker.max_depth(),
        frontier_at_stop: stopped_at.map_or(0, |(_, frontier)| frontier),
        discoveries,
    }
}

/// The explorer deep link to the end of `path` for a server at `addr`.
pub fn explorer_link(model: &EosModel, path: &Path<State, Action>, addr: &str) -> String {
    format!("http://{addr}/#/steps/{}", path.encode(model))
}
