//! Replay speed in-process: steps and traces per second when replaying the edge-covering enumeration of
//! scenarios against eos-broker's in-process cluster (generation timed separately), one thread. Run
//! with `cargo bench -p eos-conformance --bench replay` (add scenario names to choose; default: basic
//! and copier under tv1 and tv2).

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
        "{:<14} {:<13} {:>8} {:>10} {:>10} {:>12} {:>12} {:>10}",
        "scenario", "protocol", "traces", "steps", "gen s", "replay s", "steps/s", "traces/s"
    );
    for name in &names {
        for protocol in [Protocol::Tv1, Protocol::Tv2] {
            let config = scenario::load(name).expect("a scenario").with_protocol(protocol);
            let start = Instant::now();
            let graph = Graph::explore(&config, 500_000).expect("small enough");
            let traces = graph.covering_traces();
            let generation = start.elapsed().as_secs_f64();
            let steps: usize = traces.iter().map(|t| t.steps.len()).sum();
            let mut coverage = Coverage::default();
            let start = Instant::now();
            let conforming =
                traces.iter().filter(|t| replay_covering(t, Faults::none(), &mut coverage).conforms()).count();
            let replay = start.elapsed().as_secs_f64();
            assert_eq!(conforming, traces.len(), "{name} {protocol}: every trace conforms");
            println!(
                "{:<14} {:<13} {:>8} {:>10} {:>10.2} {:>12.2} {:>12.0} {:>10.0}",
                name,
                protocol.name(),
                traces.len(),
                steps,
                generation,
                replay,
                steps as f64 / replay,
                traces.len() as f64 / replay
            );
        }
    }
}
