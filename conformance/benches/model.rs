//! Model-checking speed and size, per scenario and protocol: unique states with and without symmetry
//! reduction (the reduction factor), states per second, wall time and peak memory of the `eos check`
//! process. Run with `cargo bench -p eos-conformance --bench model` (add scenario names to restrict it;
//! EOS_BENCH_THREADS sets --threads, default 1 for comparable figures).
//!
//! Peak memory is the child's maximum resident set size from `/usr/bin/time -f %M` when that tool
//! exists (GNU time), else reported as `-`.

use std::process::Command;

struct Run {
    unique: u64,
    seconds: f64,
    rate: f64,
    peak_kib: Option<u64>,
}

fn check(scenario: &str, protocol: &str, symmetry: bool, threads: &str) -> Run {
    let eos = env!("CARGO_BIN_EXE_eos");
    let mut args = vec!["check", scenario, "--protocol", protocol, "--json", "--threads", threads];
    if !symmetry {
        args.push("--no-symmetry");
    }
    let gnu_time = std::path::Path::new("/usr/bin/time").exists();
    let output = if gnu_time {
        Command::new("/usr/bin/time").arg("-f").arg("%M").arg(eos).args(&args).output()
    } else {
        Command::new(eos).args(&args).output()
    }
    .expect("eos runs");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("eos check --json prints JSON");
    let peak_kib = gnu_time
        .then(|| String::from_utf8_lossy(&output.stderr).lines().last().and_then(|l| l.trim().parse().ok()))
        .flatten();
    Run {
        unique: report["unique_states"].as_u64().expect("unique_states"),
        seconds: report["seconds"].as_f64().expect("seconds"),
        rate: report["states_per_second"].as_f64().expect("states_per_second"),
        peak_kib,
    }
}

fn main() {
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let threads = std::env::var("EOS_BENCH_THREADS").unwrap_or_else(|_| "1".to_string());
    println!(
        "{:<28} {:<13} {:>10} {:>10} {:>7} {:>10} {:>8} {:>9}",
        "scenario", "protocol", "unique", "no-sym", "reduce", "states/s", "seconds", "peak MiB"
    );
    for config in eos_model::scenario::all() {
        if !filter.is_empty() && !filter.contains(&config.name) {
            continue;
        }
        for protocol in eos_model::Protocol::ALL {
            let with = check(&config.name, protocol.name(), true, &threads);
            let without = check(&config.name, protocol.name(), false, &threads);
            let peak = with.peak_kib.map_or("-".to_string(), |k| format!("{:.1}", k as f64 / 1024.0));
            println!(
                "{:<28} {:<13} {:>10} {:>10} {:>6.2}x {:>10.0} {:>8.2} {:>9}",
                config.name,
                protocol.name(),
                with.unique,
                without.unique,
                without.unique as f64 / with.unique as f64,
                with.rate,
                with.seconds,
                peak
            );
        }
    }
}
