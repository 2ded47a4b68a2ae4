//! The `eos-trace/1` format (specs/trace-format.md): a scenario, a protocol, where the trace came from,
//! and its steps as (model action, observable state after it).

use eos_model::observe::{observe, Observation};
use eos_model::{Action, Config, EosModel, Protocol, State};
use serde::{Deserialize, Serialize};
use stateright::{Model, Path};
use std::path::Path as FsPath;

/// The format tag this version reads and writes.
pub const FORMAT: &str = "eos-trace/1";

/// Where a trace came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// A checker counterexample to an `always` property.
    Counterexample,
    /// A checker example of a `sometimes` property.
    Example,
    /// A seeded random walk.
    Walk,
    /// Part of an enumeration covering every (state, action) edge.
    Enumeration,
    /// Recorded from the implementation.
    Implementation,
}

/// One step: the action taken and the observable state after it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The model action.
    pub action: Action,
    /// The observable state after the action.
    pub state: Observation,
}

/// A trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    /// Always [`FORMAT`].
    pub format: String,
    /// The scenario's name.
    pub scenario: String,
    /// The protocol the trace runs under.
    pub protocol: Protocol,
    /// The whole scenario configuration (so a trace replays without the scenario file).
    pub config: Config,
    /// Where it came from.
    pub origin: Origin,
    /// For counterexamples and examples: the property.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
    /// For walks: the seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// The observable initial state.
    pub initial: Observation,
    /// The steps.
    pub steps: Vec<Step>,
}

/// A trace that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// Unreadable file.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        message: String,
    },
    /// Not JSON, or not this schema.
    #[error("{path} is not an eos trace: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Another format version.
    #[error("{path} is in format `{found}`; this eos reads `{FORMAT}` only")]
    Version {
        /// The file.
        path: String,
        /// The version it declares.
        found: String,
    },
    /// Its configuration is invalid.
    #[error("{path}: {source}")]
    Config {
        /// The file.
        path: String,
        /// The reason.
        source: eos_model::ConfigError,
    },
}

impl Trace {
    /// A trace of `config` (under its protocol) from `initial` through `steps`.
    pub fn new(config: &Config, origin: Origin, initial: Observation, steps: Vec<Step>) -> Trace {
        Trace {
            format: FORMAT.to_string(),
            scenario: config.name.clone(),
            protocol: config.protocol,
            config: config.clone(),
            origin,
            property: None,
            seed: None,
            initial,
            steps,
        }
    }

    /// The same trace naming `property`.
    pub fn with_property(self, property: Option<&str>) -> Trace {
        Trace { property: property.map(str::to_string), ..self }
    }

    /// The same trace naming `seed`.
    pub fn with_seed(self, seed: Option<u64>) -> Trace {
        Trace { seed, ..self }
    }

    /// The trace of a model path.
    pub fn from_path(config: &Config, origin: Origin, property: Option<&str>, path: &Path<State, Action>) -> Trace {
        let steps = path.clone().into_vec();
        let initial = observe(&steps[0].0);
        let steps = steps
            .windows(2)
            .map(|w| Step {
                action: w[0].1.clone().expect("every step but the last has an action"),
                state: observe(&w[1].0),
            })
            .collect();
        Trace::new(config, origin, initial, steps).with_property(property)
    }

    /// The same actions under `protocol`, with the states that protocol's model gives them; an error
    /// names the first action that model does not allow.
    pub fn under_protocol(&self, protocol: Protocol) -> Result<Trace, String> {
        let config = self.config.with_protocol(protocol);
        let model = EosModel::new(config.clone());
        let mut state = model.init_states().remove(0);
        let initial = observe(&state);
        let mut steps = Vec::with_capacity(self.steps.len());
        for (i, step) in self.steps.iter().enumerate() {
            let mut enabled = Vec::new();
            model.actions(&state, &mut enabled);
            if !enabled.contains(&step.action) {
                return Err(format!("under {protocol} the model does not allow step {} ({:?})", i + 1, step.action));
            }
            state = model.next_state(&state, step.action.clone()).expect("enabled actions apply");
            steps.push(Step { action: step.action.clone(), state: observe(&state) });
        }
        let trace = Trace::new(&config, self.origin, initial, steps);
        Ok(Trace { property: self.property.clone(), seed: self.seed, ..trace })
    }

    /// The model of this trace (its configuration under its protocol).
    pub fn model(&self) -> EosModel {
        EosModel::new(self.config.with_protocol(self.protocol))
    }

    /// The actions, in order.
    pub fn actions(&self) -> Vec<Action> {
        self.steps.iter().map(|s| s.action.clone()).collect()
    }

    /// Checks that the trace is a path of the model and that every recorded state is the model's:
    /// `Ok(states)` (initial state first), or the first step where it is not (1-based) and why.
    ///
    /// Actions of a trace recorded from an implementation carry no ghost fields (request attempts,
    /// marker members); they are matched to the model's enabled actions without them, trying each
    /// candidate when several match.
    pub fn validate(&self) -> Result<Vec<State>, (usize, String)> {
        let model = self.model();
        let init = model.init_states().remove(0);
        if observe(&init) != self.initial {
            return Err((0, "the initial state is not the model's".to_string()));
        }
        let mut states = vec![init];
        let mut budget = 10_000;
        self.validate_from(&model, &mut states, &mut budget)?;
        Ok(states)
    }

    fn validate_from(
        &self,
        model: &EosModel,
        states: &mut Vec<State>,
        budget: &mut usize,
    ) -> Result<(), (usize, String)> {
        let index = states.len() - 1;
        let Some(step) = self.steps.get(index) else { return Ok(()) };
        let last = states.last().expect("at least the initial state").clone();
        let mut enabled = Vec::new();
        model.actions(&last, &mut enabled);
        let ghostless = self.origin == Origin::Implementation;
        let candidates: Vec<Action> = enabled
            .into_iter()
            .filter(|a| if ghostless { without_ghosts(a) == without_ghosts(&step.action) } else { *a == step.action })
            .collect();
        if candidates.is_empty() {
            return Err((index + 1, format!("the model does not allow {:?} here", step.action)));
        }
        let mut first_error = None;
        for action in candidates {
            let next = model.next_state(&last, action.clone()).expect("enabled actions apply");
            let seen = observe(&next);
            if seen != step.state {
                let diffs = eos_model::observe::diff(&seen, &step.state);
                let first = diffs.first().map_or(String::new(), |d| {
                    format!(": {} is {} in the model, {} in the trace", d.path, d.left, d.right)
                });
                first_error
                    .get_or_insert((index + 1, format!("the state after {action:?} differs from the model's{first}")));
                continue;
            }
            states.push(next);
            match self.validate_from(model, states, budget) {
                Ok(()) => return Ok(()),
                Err(e) => {
                    states.truncate(index + 1);
                    *budget = budget.saturating_sub(1);
                    first_error =
                        Some(first_error.map_or(e.clone(), |f: (usize, String)| if e.0 > f.0 { e } else { f }));
                    if *budget == 0 {
                        break;
                    }
                }
            }
        }
        Err(first_error.expect("at least one candidate was tried"))
    }

    /// Reads and checks the format of a trace file.
    pub fn read(path: &FsPath) -> Result<Trace, TraceError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| TraceError::Io { path: shown.clone(), message: e.to_string() })?;
        Trace::parse(&shown, &text)
    }

    /// Parses a trace from JSON text; `origin` names it in errors.
    pub fn parse(origin: &str, text: &str) -> Result<Trace, TraceError> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| TraceError::Parse { path: origin.to_string(), message: e.to_string() })?;
        let found = value.get("format").and_then(|f| f.as_str()).unwrap_or("(none)");
        if found != FORMAT {
            return Err(TraceError::Version { path: origin.to_string(), found: found.to_string() });
        }
        let trace: Trace = serde_json::from_value(value)
            .map_err(|e| TraceError::Parse { path: origin.to_string(), message: e.to_string() })?;
        trace.config.validate().map_err(|source| TraceError::Config { path: origin.to_string(), source })?;
        Ok(trace)
    }

    /// Writes the trace as pretty JSON.
    pub fn write(&self, path: &FsPath) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(self).expect("traces serialise");
        std::fs::write(path, text + "\n")
    }

    /// A file name for this trace: `SCENARIO.PROTOCOL.ORIGIN[.PROPERTY].json`.
    pub fn file_name(&self) -> String {
        let origin = serde_json::to_value(self.origin).expect("origins serialise");
        let origin = origin.as_str().expect("origins are strings");
        match &self.property {
            Some(p) => format!("{}.{}.{}.{}.json", self.scenario, self.protocol, origin, p),
            None => format!("{}.{}.{}.json", self.scenario, self.protocol, origin),
        }
    }
}

/// An action without the model's ghost fields, as an implementation records it.
pub fn without_ghosts(action: &Action) -> Action {
    match action {
        Action::Deliver { message } => Action::Deliver { message: crate::project::without_ghosts(message) },
        Action::Lose { message } => Action::Lose { message: crate::project::without_ghosts(message) },
        Action::CoordinatorResendMarker { marker } => Action::CoordinatorResendMarker {
            marker: eos_model::message::Marker { ends: Default::default(), ..*marker },
        },
        Action::CompletionAppendFails { marker } => {
            Action::CompletionAppendFails { marker: eos_model::message::Marker { ends: Default::default(), ..*marker } }
        }
        Action::CoordinatorAppendFails { request } => {
            Action::CoordinatorAppendFails { request: eos_model::message::Request { attempt: 0, ..*request } }
        }
        Action::CoordinatorAppendCompletes { request } => {
            Action::CoordinatorAppendCompletes { request: eos_model::message::Request { attempt: 0, ..*request } }
        }
        Action::ProducerRequestTimeout { producer, request } => Action::ProducerRequestTimeout {
            producer: *producer,
            request: eos_model::message::Request { attempt: 0, ..*request },
        },
        Action::ProducerBatchExpires { producer, request } => Action::ProducerBatchExpires {
            producer: *producer,
            request: eos_model::message::Request { attempt: 0, ..*request },
        },
        other => other.clone(),
    }
}
