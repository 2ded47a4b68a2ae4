//! One module per subcommand. Each `run` returns the exit status, or a usage/configuration error
//! message (exit status 2).

pub mod bugs;
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
    /// A scenario of the bug museum with its fix switched off (see `eos bugs`).
    #[arg(long)]
    pub without_fix: bool,
}

impl ScenarioArgs {
    /// The scenario under the chosen protocol (and, with --without-fix, its bug's fix off).
    pub fn load(&self) -> Result<Config, String> {
        let config = load_scenario(&self.scenario, self.protocol)?;
        if !self.without_fix {
            return Ok(config);
        }
        config.without_fix().ok_or_else(|| {
            format!("--without-fix needs a scenario of the bug museum (see `eos bugs`); `{}` is not one", config.name)
        })
    }
}
