//! `eos explore`: serve stateright's web explorer for a scenario.

use eos_model::EosModel;
use stateright::Model;

/// Arguments of `eos explore`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    scenario: super::ScenarioArgs,
    /// Address to serve on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    addr: String,
}

/// Serves until interrupted.
pub fn run(args: Args) -> Result<u8, String> {
    let config = args.scenario.load()?;
    // stateright's server panics if it cannot bind: find out first and say so plainly.
    let listener =
        std::net::TcpListener::bind(&args.addr).map_err(|e| format!("cannot serve on {}: {e}", args.addr))?;
    drop(listener);
    eprintln!(
        "Serving the stateright explorer for {} ({}) at http://{}/ — press Ctrl-C to stop.",
        config.name, config.protocol, args.addr
    );
    eprintln!(
        "Each step shows what it changed, then the state; above it the path as a sequence diagram. \
         Properties are listed with their status."
    );
    EosModel::new(config).checker().serve(args.addr.as_str());
    Ok(crate::EXIT_OK)
}
