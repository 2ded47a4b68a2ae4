use eos_model::*;
use stateright::{Checker, Model};
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let name = &args[1];
    let protocol: Protocol = args[2].parse().unwrap();
    let sym = args.get(3).map(|s| s == "sym").unwrap_or(false);
    let config = if name.ends_with(".toml") {
        scenario::load_file(std::path::Path::new(name)).unwrap()
    } else {
        scenario::load(name).unwrap()
    }
    .with_protocol(protocol);
    let model = EosModel::new(config);
    let start = std::time::Instant::now();
    let b = model.clone().checker().threads(1);
    let b = if sym { b.symmetry() } else { b };
    let checker = b.spawn_dfs().join();
    println!(
        "unique {} total {} depth {} in {:?}",
        checker.unique_state_count(),
        checker.state_count(),
        checker.max_depth(),
        start.elapsed()
    );
    let mut d: Vec<_> = checker.discoveries().into_iter().collect();
    d.sort_by_key(|(n, _)| *n);
    for (name, path) in d {
        let prop = model
            .properties()
            .into_iter()
            .find(|p| p.name == name)
            .unwrap();
        println!(
            "{:?} {} (len {})",
            prop.expectation,
            name,
            path.clone().into_actions().len()
        );
        if !matches!(prop.expectation, stateright::Expectation::Sometimes) {
            let v = path.into_vec();
            for w in v.windows(2) {
                let (s0, a) = &w[0];
                let (s1, _) = &w[1];
                let a = a.as_ref().unwrap();
                println!("   {:12} {}", describe::actor(a), describe::action(a));
                for c in describe::changes(s0, s1) {
                    println!("        {c}");
                }
            }
        }
    }
}
