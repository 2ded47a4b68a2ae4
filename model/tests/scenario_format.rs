//! specs/scenario-format.md documents every field of the scenario format, and its examples parse.

use eos_model::{scenario, Config};

const DOC: &str = include_str!("../../specs/scenario-format.md");

fn toml_blocks() -> Vec<&'static str> {
    DOC.split("```toml\n").skip(1).map(|rest| rest.split("```").next().unwrap()).collect()
}

/// Every example parses: the complete file as it is, each section's example with the required rest.
#[test]
fn examples_parse() {
    let blocks = toml_blocks();
    assert!(blocks.len() >= 9, "an example per section and a complete file");
    for block in blocks {
        let mut text = String::new();
        if !block.contains("name =") {
            text.push_str("name = \"t\"\nsummary = \"s\"\nprotocol = \"tv2\"\n");
        }
        text.push_str(block);
        for required in ["[producers]", "[partitions]"] {
            if !text.contains(required) {
                text.push_str(&format!("\n{required}\n"));
            }
        }
        Config::from_toml("doc", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    }
}

fn keys(value: &toml::Value, out: &mut Vec<String>) {
    if let toml::Value::Table(table) = value {
        for (key, inner) in table {
            out.push(key.clone());
            keys(inner, out);
        }
    }
}

/// Every field a scenario can have (as the parser serialises a full one) is documented by name.
#[test]
fn every_field_is_documented() {
    let mut config = scenario::load("copier").unwrap();
    config.copier.get_or_insert(eos_model::config::CopierConfig { input_records: 1, groups: 1 });
    let value = toml::Value::try_from(&config).unwrap();
    let mut names = Vec::new();
    keys(&value, &mut names);
    assert!(names.len() > 25, "{names:?}");
    for name in names {
        assert!(DOC.contains(&format!("`{name}`")) || DOC.contains(&format!("`[{name}]`")), "{name} is not documented");
    }
}
