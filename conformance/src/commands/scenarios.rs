//! `eos scenarios`: the named scenarios and what each is expected to show.

use eos_model::{scenario, Protocol};

/// Arguments of `eos scenarios`.
#[derive(clap::Args)]
pub struct Args {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Lists the scenarios.
pub fn run(args: Args) -> Result<u8, String> {
    let scenarios = scenario::all();
    if args.json {
        let list: Vec<serde_json::Value> = scenarios
            .iter()
            .map(|c| {
                let expect: serde_json::Map<String, serde_json::Value> = Protocol::ALL
                    .iter()
                    .map(|p| (p.name().to_string(), serde_json::json!(c.expect.violated(*p))))
                    .collect();
                serde_json::json!({
                    "name": c.name, "summary": c.summary, "protocol": c.protocol.name(), "expected_violations": expect,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list).expect("JSON"));
        return Ok(crate::EXIT_OK);
    }
    let width = scenarios.iter().map(|c| c.name.len()).max().unwrap_or(0);
    for c in &scenarios {
        let verdicts: Vec<String> = Protocol::ALL
            .iter()
            .map(|p| {
                let violated = c.expect.violated(*p);
                if violated.is_empty() {
                    format!("{p}: holds")
                } else {
                    format!("{p}: violates {}", violated.iter().cloned().collect::<Vec<_>>().join(", "))
                }
            })
            .collect();
        println!("{:<width$}  {}", c.name, c.summary);
        println!("{:<width$}  expected: {}", "", verdicts.join("; "));
    }
    println!(
        "\n{} scenarios; the default is `{}`. Check one with `eos check NAME [--protocol tv1|tv1-verified|tv2]`.",
        scenarios.len(),
        scenario::DEFAULT
    );
    let large: Vec<&str> = scenario::LARGE.iter().map(|(name, _)| *name).collect();
    println!(
        "Large (exhaustive with `eos check NAME --reduction` in minutes, too long for the default suites): {}.",
        large.join(", ")
    );
    Ok(crate::EXIT_OK)
}
