//! The README's scenario table lists, per protocol, exactly what each scenario's `[expect]` says is
//! violated (and the model's scenario tests hold every scenario to its `[expect]`), so the table says
//! what the checker really finds.

use eos_model::{scenario, Protocol};
use std::collections::BTreeSet;

#[test]
fn scenario_table_matches_the_expectations() {
    let readme = include_str!("../../README.md");
    let table = readme.split("| scenario | shows | violated under tv1 |").nth(1).expect("the scenario table");
    let table = table.split("\n\n").next().unwrap();
    let mut seen = 0;
    for line in table.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let name = cells[0].split('`').nth(1).unwrap();
        let config = scenario::load(name).unwrap_or_else(|e| panic!("README lists {name}: {e}"));
        assert_eq!(cells.len(), 5, "{line}");
        for (i, protocol) in Protocol::ALL.iter().enumerate() {
            let listed: BTreeSet<String> = cells[2 + i]
                .split(',')
                .map(|c| c.trim().trim_matches('`').to_string())
                .filter(|c| !c.is_empty() && c != "—")
                .collect();
            assert_eq!(&listed, config.expect.violated(*protocol), "README row of {name} under {protocol}");
        }
        seen += 1;
    }
    assert_eq!(seen, scenario::names().len(), "every scenario has a row");
}
