//! The named scenarios of `specs/scenarios/`, compiled in so `eos` works from any directory.

use crate::config::{Config, ConfigError};

/// (name, TOML) of every built-in scenario, in the order `eos scenarios` lists them.
pub const BUILTIN: &[(&str, &str)] = &[
    ("happy", include_str!("../../specs/scenarios/happy.toml")),
    ("basic", include_str!("../../specs/scenarios/basic.toml")),
    ("zombie-fencing", include_str!("../../specs/scenarios/zombie-fencing.toml")),
    ("timeout-abort", include_str!("../../specs/scenarios/timeout-abort.toml")),
    ("coordinator-failover", include_str!("../../specs/scenarios/coordinator-failover.toml")),
    ("copier", include_str!("../../specs/scenarios/copier.toml")),
    ("copier-abort", include_str!("../../specs/scenarios/copier-abort.toml")),
    ("hanging-txn", include_str!("../../specs/scenarios/hanging-txn.toml")),
    ("late-produce", include_str!("../../specs/scenarios/late-produce.toml")),
    ("late-endtxn", include_str!("../../specs/scenarios/late-endtxn.toml")),
    ("pitfall-no-idempotence", include_str!("../../specs/scenarios/pitfall-no-idempotence.toml")),
    ("pitfall-offsets-outside-txn", include_str!("../../specs/scenarios/pitfall-offsets-outside-txn.toml")),
    ("pitfall-read-uncommitted", include_str!("../../specs/scenarios/pitfall-read-uncommitted.toml")),
    ("pitfall-no-fencing", include_str!("../../specs/scenarios/pitfall-no-fencing.toml")),
    ("idempotent", include_str!("../../specs/scenarios/idempotent.toml")),
    ("two-transactions", include_str!("../../specs/scenarios/two-transactions.toml")),
    ("kip360", include_str!("../../specs/scenarios/kip360.toml")),
    ("copier-zombie", include_str!("../../specs/scenarios/copier-zombie.toml")),
    ("copier-zombie-plain-offsets", include_str!("../../specs/scenarios/copier-zombie-plain-offsets.toml")),
    ("verification-round-trip", include_str!("../../specs/scenarios/verification-round-trip.toml")),
    ("producer-expiry", include_str!("../../specs/scenarios/producer-expiry.toml")),
    ("producer-expiry-txn", include_str!("../../specs/scenarios/producer-expiry-txn.toml")),
    ("transactional-id-expiry", include_str!("../../specs/scenarios/transactional-id-expiry.toml")),
    ("coordinator-append-failure", include_str!("../../specs/scenarios/coordinator-append-failure.toml")),
    ("completion-append-failure", include_str!("../../specs/scenarios/completion-append-failure.toml")),
    ("completion-append-failover", include_str!("../../specs/scenarios/completion-append-failover.toml")),
    ("coordinator-async-window", include_str!("../../specs/scenarios/coordinator-async-window.toml")),
    ("append-durable-failover", include_str!("../../specs/scenarios/append-durable-failover.toml")),
    ("rotation-retries", include_str!("../../specs/scenarios/rotation-retries.toml")),
    ("zombie-rotation", include_str!("../../specs/scenarios/zombie-rotation.toml")),
    ("kip360-rotation", include_str!("../../specs/scenarios/kip360-rotation.toml")),
    ("six-transactions", include_str!("../../specs/scenarios/six-transactions.toml")),
    ("pipelined", include_str!("../../specs/scenarios/pipelined.toml")),
    ("pipelined-verification", include_str!("../../specs/scenarios/pipelined-verification.toml")),
    ("verification-expiry", include_str!("../../specs/scenarios/verification-expiry.toml")),
    ("copier-marker-duplicates", include_str!("../../specs/scenarios/copier-marker-duplicates.toml")),
    ("copier-rebalance", include_str!("../../specs/scenarios/copier-rebalance.toml")),
    ("copier-id-expiry", include_str!("../../specs/scenarios/copier-id-expiry.toml")),
    ("legacy-id-expiry", include_str!("../../specs/scenarios/legacy-id-expiry.toml")),
    ("legacy-copier-id-expiry", include_str!("../../specs/scenarios/legacy-copier-id-expiry.toml")),
    ("rotation-marker-duplicates", include_str!("../../specs/scenarios/rotation-marker-duplicates.toml")),
    ("rotation-append-failure", include_str!("../../specs/scenarios/rotation-append-failure.toml")),
    ("pipelined-verification-2txn", include_str!("../../specs/scenarios/pipelined-verification-2txn.toml")),
    ("batch-expiry", include_str!("../../specs/scenarios/batch-expiry.toml")),
    ("batch-expiry-txn", include_str!("../../specs/scenarios/batch-expiry-txn.toml")),
    ("copier-two-groups", include_str!("../../specs/scenarios/copier-two-groups.toml")),
];

/// (name, TOML) of every scenario of the bug museum (`specs/scenarios/bugs/`): one real bug each, the
/// scenario being the fixed system and its `[bug]` section how to switch the fix off.
pub const MUSEUM: &[(&str, &str)] = &[
    ("KAFKA-17754", include_str!("../../specs/scenarios/bugs/KAFKA-17754.toml")),
    ("KAFKA-14402", include_str!("../../specs/scenarios/bugs/KAFKA-14402.toml")),
    ("KAFKA-14562", include_str!("../../specs/scenarios/bugs/KAFKA-14562.toml")),
    ("KAFKA-19446", include_str!("../../specs/scenarios/bugs/KAFKA-19446.toml")),
    ("KAFKA-19999", include_str!("../../specs/scenarios/bugs/KAFKA-19999.toml")),
    ("KAFKA-18464", include_str!("../../specs/scenarios/bugs/KAFKA-18464.toml")),
    ("KAFKA-18660", include_str!("../../specs/scenarios/bugs/KAFKA-18660.toml")),
    ("KAFKA-19367", include_str!("../../specs/scenarios/bugs/KAFKA-19367.toml")),
    ("KAFKA-20090", include_str!("../../specs/scenarios/bugs/KAFKA-20090.toml")),
    ("KAFKA-20785", include_str!("../../specs/scenarios/bugs/KAFKA-20785.toml")),
    ("KAFKA-17507", include_str!("../../specs/scenarios/bugs/KAFKA-17507.toml")),
    ("KAFKA-14884", include_str!("../../specs/scenarios/bugs/KAFKA-14884.toml")),
    ("KAFKA-19690", include_str!("../../specs/scenarios/bugs/KAFKA-19690.toml")),
    ("REDPANDA-3039", include_str!("../../specs/scenarios/bugs/REDPANDA-3039.toml")),
    ("KAFKA-5351", include_str!("../../specs/scenarios/bugs/KAFKA-5351.toml")),
    ("KAFKA-14034", include_str!("../../specs/scenarios/bugs/KAFKA-14034.toml")),
];

/// (name, TOML) of the large scenarios (`specs/scenarios/large/`): one size up from `happy`, exhaustive
/// in minutes rather than seconds. `eos check NAME` takes them by name, but [`all`] (and so the
/// default test and conformance suites, which run every scenario under every protocol) leaves them
/// out.
pub const LARGE: &[(&str, &str)] = &[
    ("happy-2txn", include_str!("../../specs/scenarios/large/happy-2txn.toml")),
    ("happy-3p", include_str!("../../specs/scenarios/large/happy-3p.toml")),
];

/// The default scenario of `eos check`.
pub const DEFAULT: &str = "happy";

/// The names of the built-in scenarios.
pub fn names() -> Vec<&'static str> {
    BUILTIN.iter().map(|(name, _)| *name).collect()
}

/// Loads a built-in scenario (or one of the museum, or a large one) by name.
pub fn load(name: &str) -> Result<Config, ScenarioError> {
    let (_, text) = BUILTIN.iter().chain(MUSEUM).chain(LARGE).find(|(n, _)| *n == name).ok_or_else(|| {
        let listed = |set: &[(&str, &str)]| set.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ");
        ScenarioError::Unknown {
            name: name.to_string(),
            known: format!("{}; bugs: {}; large: {}", names().join(", "), listed(MUSEUM), listed(LARGE)),
        }
    })?;
    Ok(Config::from_toml(name, text)?)
}

/// Every scenario of the bug museum, parsed (each the fixed system; `Config::without_fix` the buggy).
pub fn museum() -> Vec<Config> {
    MUSEUM.iter().map(|(name, _)| load(name).expect("museum scenarios are valid")).collect()
}

/// Every large scenario, parsed.
pub fn large() -> Vec<Config> {
    LARGE.iter().map(|(name, _)| load(name).expect("large scenarios are valid")).collect()
}

/// Loads a scenario from a TOML file.
pub fn load_file(path: &std::path::Path) -> Result<Config, ScenarioError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ScenarioError::Io { path: path.display().to_string(), message: e.to_string() })?;
    Ok(Config::from_toml(&path.display().to_string(), &text)?)
}

/// Every built-in scenario, parsed.
pub fn all() -> Vec<Config> {
    BUILTIN.iter().map(|(name, _)| load(name).expect("built-in scenarios are valid")).collect()
}

/// A scenario that cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// No built-in scenario has this name.
    #[error("unknown scenario `{name}`; known scenarios: {known}")]
    Unknown {
        /// The name asked for.
        name: String,
        /// The known names.
        known: String,
    },
    /// The file cannot be read.
    #[error("cannot read scenario file {path}: {message}")]
    Io {
        /// The path.
        path: String,
        /// The OS error.
        message: String,
    },
    /// The scenario is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
}
