//! Replay speed in-process: steps and traces per second when replaying the edge-covering enumeration of
//! scenarios against eos-broker's in-process cluster (generation timed separately), one thread. Run
//! with `cargo bench -p eos-conformance --bench replay` (add scenario names to choose; default: basic
//! and copier under tv1 and tv2). Traces are made one at a time from their paths through the graph, as the
//! suite makes them; `gen s` includes making them.

use eos_broker::Faults;
use eos_conformance::coverage::Coverage;
use eos_conformance::enumerate::Graph;
use eos_conformance::replay::replay_covering;
use eos_model::{scenario, Protocol};
use std::time::Instant;

/// mimalloc: the observations compared at every step are many small allocations, which glibc's
/// allocator serves markedly slower.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut names: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    if names.is_empty() {
        names = vec!["basic".into(), "copier".into()];
    }
    println!(
        "{:<14} {:<13} {:>8} {:>10} {:>10} {:>12} {:>12} {:>10} {:>9}",
        "scenario", "protocol", "traces", "steps", "gen s", "replay s", "steps/s", "traces/s", "peak MiB"
    );
    for name in &names {
        for protocol in [Protocol::Tv1, Protocol::Tv2] {
            let config = scenario::load(name).expect("a scenario").with_protocol(protocol);
            let start = Instant::now();
            let graph = Graph::explore(&config, 500_000).expect("small enough");
            let paths = graph.covering_paths();
            let mut generation = start.elapsed().as_secs_f64();
            // One trace at a time, as the suite replays them (`eos_conformance::suite::Corpus`): a
            // trace holds an observation per step, and all of them at once took gigabytes.
            let (mut steps, mut conforming, mut replay) = (0, 0, 0.0);
            let mut coverage = Coverage::default();
            for path in &paths {
                let start = Instant::now();
                let trace = graph.trace(path);
                generation += start.elapsed().as_secs_f64();
                let start = Instant::now();
                conforming += usize::from(replay_covering(&trace, Faults::none(), &mut coverage).conforms());
                replay += start.elapsed().as_secs_f64();
                steps += trace.steps.len();
            }
            let traces = paths;
            assert_eq!(conforming, traces.len(), "{name} {protocol}: every trace conforms");
            println!(
                "{:<14} {:<13} {:>8} {:>10} {:>10.2} {:>12.2} {:>12.0} {:>10.0} {:>9}",
                name,
                protocol.name(),
                traces.len(),
                steps,
                generation,
                replay,
                steps as f64 / replay,
                traces.len() as f64 / replay,
                peak_mib()
            );
        }
    }
}

/// The process's peak resident memory so far (`VmHWM`, Linux), in MiB; `-` where it cannot be read.
fn peak_mib() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
    kib.map_or("-".to_string(), |k| format!("{:.0}", k as f64 / 1024.0))
}
