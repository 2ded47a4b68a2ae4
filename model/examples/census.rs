//! Where a scenario's states come from: a census of the full model's reachable states (no symmetry).
//! `cargo run --release -p eos-model --example census -- NAME [--reduction]`
use eos_model::message::Message;
use eos_model::state::{Action, State};
use eos_model::{scenario, EosModel};
use stateright::Model;
use std::collections::{BTreeMap, HashSet};
use std::hash::{BuildHasher, Hash, Hasher};

fn main() {
    let name = std::env::args().nth(1).expect("a scenario name");
    let config = if name.ends_with(".toml") {
        scenario::load_file(std::path::Path::new(&name)).unwrap()
    } else {
        scenario::load(&name).unwrap()
    };
    let mut model = EosModel::new(config);
    // `--reduction`: the reduced model's states (what `eos check --reduction` explores, without symmetry).
    model.reduction = std::env::args().any(|a| a == "--reduction");
    let hasher = std::collections::hash_map::RandomState::new();
    let fp = |s: &State| {
        let mut h = hasher.build_hasher();
        s.clients.hash(&mut h);
        s.coordinator.hash(&mut h);
        s.partitions.hash(&mut h);
        s.group.hash(&mut h);
        s.network.hash(&mut h);
        s.budget.hash(&mut h);
        s.history.hash(&mut h);
        h.finish()
    };
    let mut seen = HashSet::new();
    let mut stack = Vec::new();
    for s in model.init_states() {
        seen.insert(fp(&s));
        stack.push(s);
    }
    let mut by_losses: BTreeMap<u8, usize> = BTreeMap::new();
    let mut by_busy: BTreeMap<usize, usize> = BTreeMap::new();
    let mut by_inflight: BTreeMap<usize, usize> = BTreeMap::new();
    let mut enabled_kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut edges = 0usize;
    while let Some(s) = stack.pop() {
        *by_losses.entry(s.budget.losses).or_default() += 1;
        *by_inflight.entry(s.network.len()).or_default() += 1;
        // Which receivers have a delivery pending: each client, the coordinator, each partition.
        let mut busy: HashSet<String> = HashSet::new();
        for m in s.network.keys() {
            let who = match m {
                Message::Request(r) => match r.body {
                    eos_model::message::RequestBody::Produce { partition, .. } => format!("p{partition}"),
                    _ => "coordinator".into(),
                },
                Message::Response { request, .. } => format!("c{}", request.from),
                Message::Marker(mk) => format!("{:?}", mk.target),
                Message::MarkerResponse { .. } | Message::Verify { .. } => "coordinator".into(),
                Message::VerifyResponse { request, .. } => format!("{:?}", request.body.kind()),
            };
            busy.insert(who);
        }
        *by_busy.entry(busy.len()).or_default() += 1;
        let mut actions = Vec::new();
        model.actions(&s, &mut actions);
        for a in actions {
            let kind = match &a {
                Action::Deliver { message } | Action::Lose { message } => {
                    format!("{} {}", a.kind(), message_kind(message))
                }
                _ => a.kind().to_string(),
            };
            *enabled_kinds.entry(kind).or_default() += 1;
            if let Some(n) = model.next_state(&s, a) {
                edges += 1;
                if seen.insert(fp(&n)) {
                    stack.push(n);
                }
            }
        }
    }
    println!("states {} edges {edges}", seen.len());
    println!("by losses left: {by_losses:?}");
    println!("by messages in flight: {by_inflight:?}");
    println!("by receivers with a delivery pending: {by_busy:?}");
    for (k, n) in enabled_kinds {
        println!("  enabled {k}: {n}");
    }
}

fn message_kind(m: &Message) -> &'static str {
    match m {
        Message::Request(r) => r.body.kind(),
        Message::Response { request, .. } => match request.body.kind() {
            "Produce" => "ProduceResponse",
            "EndTxn" => "EndTxnResponse",
            "InitProducerId" => "InitProducerIdResponse",
            _ => "OtherResponse",
        },
        Message::Marker(_) => "Marker",
        Message::MarkerResponse { .. } => "MarkerResponse",
        Message::Verify { .. } => "Verify",
        Message::VerifyResponse { .. } => "VerifyResponse",
    }
}
