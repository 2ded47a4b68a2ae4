//! One module per subcommand. Each `run` returns the exit status, or a usage/configuration error
//! message (exit status 2).

pub mod check;
pub mod check_trace;
pub mod conformance;
pub mod explore;
pub mod record;
pub mod replay;
pub mod scenarios;
pub mod wire;

use eos_model::{scenario, Config, Protocol};

/// Loads a scenario by name, or from a `.toml` path, under `protocol` (or its own).
pub fn load_scenario(name: &str, protocol: Option<Protocol>) -> Result<Config, String> {
    let config = if name.ends_with(".toml") || name.contains('/') {
        scenario::load_file(std::path::Path::new(name))
    } else {
        scenario::load(name)
    }
    .map_err(|e| e.to_string())?;
    Ok(match protocol {
        Some(p) => config.with_protocol(p),
        None => config,
    })
}

/// The scenario a command works on: a name or a `.toml` path, and the protocol.
#[derive(clap::Args)]
pub struct ScenarioArgs {
    /// A scenario name (see `eos scenarios`) or a path to a scenario .toml file.
    #[arg(default_value = eos_model::scenario::DEFAULT)]
    pub scenario: String,
    /// The transaction protocol: tv1, tv1-verified or tv2 (default: the scenario's).
    #[arg(long)]
    pub protocol: Option<Protocol>,
}

impl ScenarioArgs {
    /// The scenario under the chosen protocol.
    pub fn load(&self) -> Result<Config, String> {
        load_scenario(&self.scenario, self.protocol)
    }
}
