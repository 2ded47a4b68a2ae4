//! Running the checker on a scenario and collecting per-property verdicts.

use crate::config::{Config, Protocol};
use crate::model::EosModel;
use crate::state::{Action, State};
use stateright::{Checker, Expectation, Model, Path, UniformChooser};
use std::time::{Duration, Instant};

/// How the state space is explored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Depth-first, with symmetry reduction (exhaustive).
    Dfs,
    /// Breadth-first (exhaustive; shortest counterexamples with one thread; no symmetry reduction).
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

/// Knobs of one run.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Exploration strategy.
    pub strategy: Strategy,
    /// Worker threads.
    pub threads: usize,
    /// Symmetry reduction (DFS and simulation only; stateright ignores it for BFS).
    pub symmetry: bool,
    /// Explore at most this many steps deep (None: unbounded).
    pub max_depth: Option<usize>,
    /// Give up after this long (None: never; simulation defaults to 10 s).
    pub timeout: Option<Duration>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions { strategy: Strategy::Dfs, threads: 1, symmetry: true, max_depth: None, timeout: None }
    }
}

/// Progress of a running check, for a progress bar.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Unique states so far.
    pub unique_states: usize,
    /// States generated so far (with repeats).
    pub total_states: usize,
    /// Deepest path so far.
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

    /// Whether the outcome is what the scenario file expects.
    pub fn as_expected(&self) -> bool {
        match &self.outcome {
            Outcome::Violated(_) => self.expected_violated,
            Outcome::Holds => !self.expected_violated,
            Outcome::Reached(_) => true,
            Outcome::NotReached => false,
        }
    }
}

/// The result of checking one scenario under one protocol.
#[derive(Clone, Debug)]
pub struct CheckReport {
    /// The scenario (with the protocol checked).
    pub config: Config,
    /// The strategy used.
    pub strategy: Strategy,
    /// Whether symmetry reduction was on.
    pub symmetry: bool,
    /// Unique states explored (representatives, with symmetry).
    pub unique_states: usize,
    /// States generated, with repeats.
    pub total_states: usize,
    /// The longest path explored, in steps.
    pub max_depth: usize,
    /// Wall-clock time.
    pub elapsed: Duration,
    /// Whether the whole bounded space was explored (no timeout, no depth cut, not a simulation).
    pub exhaustive: bool,
    /// Per-property verdicts, in catalogue order.
    pub verdicts: Vec<Verdict>,
}

impl CheckReport {
    /// The protocol checked.
    pub fn protocol(&self) -> Protocol {
        self.config.protocol
    }

    /// Every property holds (and every `sometimes` is reached): exit status 0.
    pub fn all_hold(&self) -> bool {
        self.verdicts.iter().all(Verdict::passed)
    }

    /// Every verdict is what the scenario file expects.
    pub fn as_expected(&self) -> bool {
        self.verdicts.iter().all(Verdict::as_expected)
    }

    /// The violated properties' names.
    pub fn violated(&self) -> Vec<&'static str> {
        self.verdicts.iter().filter(|v| matches!(v.outcome, Outcome::Violated(_))).map(|v| v.name).collect()
    }

    /// States per second.
    pub fn states_per_second(&self) -> f64 {
        self.unique_states as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Checks `config` (under its protocol) with `options`, calling `on_progress` about twice a second.
pub fn run(config: &Config, options: &CheckOptions, mut on_progress: impl FnMut(Progress)) -> CheckReport {
    let model = EosModel::new(config.clone());
    let start = Instant::now();
    let mut builder = model.clone().checker().threads(options.threads.max(1));
    if options.symmetry && options.strategy != Strategy::Bfs {
        builder = builder.symmetry_fn(crate::symmetry::stand_in);
    }
    if let Some(depth) = options.max_depth {
        // stateright checks the states reachable in at most `target_max_depth - 2` actions.
        builder = builder.target_max_depth(depth + 2);
    }
    let timeout = match (options.timeout, options.strategy) {
        (None, Strategy::Simulation { .. }) => Some(Duration::from_secs(10)),
        (t, _) => t,
    };
    if let (Some(t), Strategy::Simulation { .. }) = (timeout, options.strategy) {
        builder = builder.timeout(t); // Simulation honours stateright's timeout; DFS/BFS use `stop`.
    }
    let stop = Stop { flag: model.stop.clone(), start, timeout };
    let (unique, total, depth, discoveries) = match options.strategy {
        Strategy::Dfs => wait(builder.spawn_dfs(), &stop, &mut on_progress),
        Strategy::Bfs => wait(builder.spawn_bfs(), &stop, &mut on_progress),
        Strategy::Simulation { seed } => wait(builder.spawn_simulation(seed, UniformChooser), &stop, &mut on_progress),
    };
    let elapsed = start.elapsed();
    let timed_out = timeout.is_some_and(|t| elapsed >= t);
    let exhaustive =
        !timed_out && options.max_depth.is_none() && !matches!(options.strategy, Strategy::Simulation { .. });
    let expected = config.expect.violated(config.protocol);
    let verdicts = model
        .properties()
        .into_iter()
        .map(|p| {
            let found = discoveries.iter().find(|(n, _)| *n == p.name).map(|(_, path)| path.clone());
            let outcome = match (&p.expectation, found) {
                (Expectation::Sometimes, Some(path)) => Outcome::Reached(path),
                (Expectation::Sometimes, None) => Outcome::NotReached,
                (_, Some(path)) => Outcome::Violated(first_violation(&model, p.condition, path)),
                (_, None) => Outcome::Holds,
            };
            Verdict { name: p.name, expectation: p.expectation, outcome, expected_violated: expected.contains(p.name) }
        })
        .collect();
    CheckReport {
        config: config.clone(),
        strategy: options.strategy,
        symmetry: options.symmetry && options.strategy != Strategy::Bfs,
        unique_states: unique,
        total_states: total,
        // stateright counts the initial state as depth 1 and records the depth of states it then
        // skips for the bound: report the longest path explored, in steps.
        max_depth: options.max_depth.map_or(depth, |bound| depth.min(bound + 1)).saturating_sub(1),
        elapsed,
        exhaustive,
        verdicts,
    }
}

type Discoveries = Vec<(&'static str, Path<State, Action>)>;

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

/// When to stop a check that runs out of time.
struct Stop {
    flag: std::sync::Arc<std::sync::atomic::AtomicBool>,
    start: Instant,
    timeout: Option<Duration>,
}

fn wait<C: Checker<EosModel>>(
    checker: C,
    stop: &Stop,
    on_progress: &mut impl FnMut(Progress),
) -> (usize, usize, usize, Discoveries) {
    let mut pause = Duration::from_millis(1);
    while !checker.is_done() {
        let elapsed = stop.start.elapsed();
        if stop.timeout.is_some_and(|t| elapsed >= t) {
            stop.flag.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        on_progress(Progress {
            unique_states: checker.unique_state_count(),
            total_states: checker.state_count(),
            max_depth: checker.max_depth(),
            elapsed,
        });
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
    let checker = checker.join();
    let mut discoveries: Discoveries = checker.discoveries().into_iter().collect();
    discoveries.sort_by_key(|(name, _)| *name);
    (checker.unique_state_count(), checker.state_count(), checker.max_depth(), discoveries)
}

/// The explorer deep link to the end of `path` for a server at `addr`.
pub fn explorer_link(model: &EosModel, path: &Path<State, Action>, addr: &str) -> String {
    format!("http://{addr}/#/steps/{}", path.encode(model))
}
