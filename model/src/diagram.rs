//! A path as a sequence diagram (SVG): the explorer's `as_svg` and the HTML report's pictures.
//!
//! One lifeline per producer instance, the coordinator, every partition of `out` and, for the
//! copier, the group. Time runs down, one row per step. Requests, responses and markers are arrows
//! from the step that sent them to the step that delivered them; a lost message ends in a red cross,
//! a duplicate (a request timeout's re-send) is orange, a message still in flight at the end runs off
//! the bottom. Crashes, timeouts, failovers and marker retries are marked on their lifeline. The
//! first step at which a safety property fails is highlighted, with the reason. Every row's
//! tooltip lists everything the step changed ([`crate::describe::changes`]).

use crate::describe;
use crate::message::{Message, Request, RequestBody};
use crate::model::EosModel;
use crate::properties;
use crate::state::{Action, State};
use crate::types::{group_name, GroupIndex, TxnPartition};
use stateright::{Expectation, Model, Path};
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write;

const COLUMN: f64 = 180.0;
const ROW: f64 = 38.0;
const LEFT: f64 = 120.0;
const TOP: f64 = 70.0;
/// Narrower diagrams are widened so the reason and the legend fit.
const MIN_WIDTH: f64 = 820.0;

/// Colours, one per kind of mark.
const INK: &str = "#24292f";
const MUTED: &str = "#57606a";
const LOSS: &str = "#cf222e";
const DUPLICATE: &str = "#bc4c00";
const MARKER: &str = "#8250df";
const RESPONSE: &str = "#0969da";

/// The diagram of `path` as a standalone SVG document.
pub fn sequence_diagram(model: &EosModel, path: &Path<State, Action>) -> String {
    let steps = path.clone().into_vec();
    let lanes = Lanes::of(model);
    let rows = steps.len().saturating_sub(1);
    let width = (LEFT + COLUMN * lanes.names.len() as f64 + 40.0).max(MIN_WIDTH);
    let violation = first_violation(model, &steps);
    let reason = violation.as_ref().map_or(Vec::new(), |(_, property, why)| {
        wrap(&format!("✗ {property}: {why}"), ((width - 24.0) / 6.6) as usize)
    });
    let bottom = TOP + ROW * (rows as f64 + 1.0);
    let height = bottom + 30.0 + 16.0 * reason.len() as f64 + 40.0;
    let mut svg = Svg::new(width, height);
    if let Some((row, _, _)) = &violation {
        let y = TOP + ROW * *row as f64;
        svg.rect(4.0, y - ROW / 2.0, width - 8.0, ROW, "#ffebe9", LOSS);
    }
    for (i, (name, detail)) in lanes.names.iter().enumerate() {
        let x = lanes.x(i);
        svg.line((x, TOP - 22.0), (x, bottom + 8.0), "#d0d7de", 1.5);
        svg.rect(x - 68.0, 8.0, 136.0, 40.0, "#f6f8fa", "#d0d7de");
        svg.text(x, 26.0, "middle", 13.0, INK, "bold", name);
        svg.text(x, 41.0, "middle", 10.5, MUTED, "", detail);
    }
    let mut in_flight: BTreeMap<Message, VecDeque<(usize, bool)>> = BTreeMap::new();
    for (row, pair) in steps.windows(2).enumerate() {
        let (before, action) = &pair[0];
        let (after, _) = &pair[1];
        let action = action.as_ref().expect("every step but the last has an action");
        let row = row + 1;
        let y = TOP + ROW * row as f64;
        let changes = describe::changes(before, after).join("\n");
        svg.titled_row(
            4.0,
            y - ROW / 2.0,
            width - 8.0,
            ROW,
            &format!("{row}. {}\n{changes}", model.format_action(action)),
        );
        svg.text(16.0, y + 4.0, "start", 11.0, MUTED, "", &row.to_string());
        draw_action(&mut svg, &lanes, &mut in_flight, action, row, y);
        let duplicate = matches!(action, Action::ProducerRequestTimeout { .. });
        for message in sent(before, action, after) {
            in_flight.entry(message).or_default().push_back((row, duplicate));
        }
        for (lane, note) in notes(before, after, &lanes) {
            svg.text(lanes.x(lane) + 7.0, y - 6.0, "start", 10.0, MUTED, "", &clip(&note, 30));
        }
    }
    for (message, sends) in &in_flight {
        for (row, duplicate) in sends {
            let (from, to) = lanes.ends(message);
            let colour = if *duplicate { DUPLICATE } else { colour_of(message) };
            svg.arrow((lanes.x(from), TOP + ROW * *row as f64), (lanes.x(to), bottom), colour, true, &label(message));
        }
    }
    for (i, line) in reason.iter().enumerate() {
        svg.text(12.0, bottom + 30.0 + 16.0 * i as f64, "start", 12.0, LOSS, "bold", line);
    }
    legend(&mut svg, height - 26.0);
    svg.finish()
}

/// What the colours mean.
fn legend(svg: &mut Svg, y: f64) {
    let mut x = 12.0;
    for (colour, what) in [
        (INK, "request"),
        (RESPONSE, "response"),
        (MARKER, "marker / its answer"),
        (DUPLICATE, "duplicate (re-send), timeout"),
        (LOSS, "loss, crash, failover"),
    ] {
        svg.line((x, y - 4.0), (x + 22.0, y - 4.0), colour, 2.0);
        svg.text(x + 28.0, y, "start", 10.5, MUTED, "", what);
        x += 46.0 + 6.2 * what.len() as f64;
    }
    let _ = x;
    svg.text(
        12.0,
        y + 16.0,
        "start",
        10.5,
        MUTED,
        "",
        "dashed: still in flight at the end · hover a row for everything it changed",
    );
}

/// `text` cut into lines of at most `width` characters, at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split(' ') {
        let line = lines.last_mut().expect("one line at least");
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(word.to_string());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines
}

/// The first state of `steps` at which an `always` property fails: (row, property, reason).
fn first_violation(model: &EosModel, steps: &[(State, Option<Action>)]) -> Option<(usize, &'static str, String)> {
    let always: Vec<_> =
        properties::applicable(&model.config).into_iter().filter(|p| p.expectation == Expectation::Always).collect();
    steps.iter().enumerate().find_map(|(row, (state, _))| {
        let broken = always.iter().find(|p| !(p.condition)(model, state))?;
        let step = crate::explain::Step {
            model,
            before: row.checked_sub(1).map(|r| &steps[r].0),
            action: row.checked_sub(1).and_then(|r| steps[r].1.as_ref()),
            after: state,
        };
        Some((row, broken.name, crate::explain::explain(&step, broken.name)))
    })
}

/// The messages `action` put in flight: the network's growth, counting the copy it took.
fn sent(before: &State, action: &Action, after: &State) -> Vec<Message> {
    let taken = match action {
        Action::Deliver { message } | Action::Lose { message } => Some(*message),
        Action::CoordinatorAppendFails { request } => Some(Message::Request(*request)),
        Action::CompletionAppendFails { marker } => Some(completing_answer(marker)),
        _ => None,
    };
    let mut out = Vec::new();
    for (message, copies) in after.network.iter() {
        let had = before.network.get(message).copied().unwrap_or(0) - u8::from(taken == Some(*message));
        out.extend((had..*copies).map(|_| *message));
    }
    out
}

fn draw_action(
    svg: &mut Svg,
    lanes: &Lanes,
    in_flight: &mut BTreeMap<Message, VecDeque<(usize, bool)>>,
    action: &Action,
    row: usize,
    y: f64,
) {
    let mut take = |message: &Message| in_flight.get_mut(message).and_then(VecDeque::pop_front);
    match action {
        Action::Deliver { message } | Action::Lose { message } => {
            let lost = matches!(action, Action::Lose { .. });
            let (from, to) = lanes.ends(message);
            let (sent_row, duplicate) = take(message).unwrap_or((row, false));
            let (x1, y1) = (lanes.x(from), TOP + ROW * sent_row as f64);
            let colour = if lost {
                LOSS
            } else if duplicate {
                DUPLICATE
            } else {
                colour_of(message)
            };
            if lost {
                let x2 = (x1 + lanes.x(to)) / 2.0;
                svg.arrow((x1, y1), (x2, y), colour, true, &label(message));
                svg.text(x2, y + 5.0, "middle", 16.0, LOSS, "bold", "✕");
                svg.text(x2 + 10.0, y + 4.0, "start", 10.0, LOSS, "", "lost");
            } else {
                svg.arrow((x1, y1), (lanes.x(to), y), colour, false, &label(message));
            }
        }
        Action::ProducerCrash { producer } => svg.mark(lanes.x(usize::from(*producer)), y, LOSS, "✕ crash"),
        Action::GroupRebalance { producer } => {
            let lane = lanes.target(TxnPartition::Offsets);
            svg.mark(lanes.x(lane), y, DUPLICATE, &format!("⟳ rebalance: producer-{producer} rejoins"))
        }
        Action::ProducerRequestTimeout { producer, .. } => {
            svg.mark(lanes.x(usize::from(*producer)), y, DUPLICATE, "request timeout: re-send")
        }
        Action::ProducerBatchExpires { producer, .. } => {
            svg.mark(lanes.x(usize::from(*producer)), y, LOSS, "⏱ delivery timeout: batch given up")
        }
        Action::CoordinatorTimeout { txn } => {
            svg.mark(lanes.x(lanes.coordinator()), y, DUPLICATE, &format!("⏱ txn-{txn} timed out"))
        }
        Action::CoordinatorFailover => svg.mark(lanes.x(lanes.coordinator()), y, LOSS, "⟲ failover"),
        Action::CoordinatorAppendFails { request } => {
            // Synchronous appends fail in the request's delivery; an append in flight (its request
            // delivered earlier) fails on its own.
            let message = Message::Request(*request);
            if in_flight.get(&message).is_some_and(|sends| !sends.is_empty()) {
                draw_action(svg, lanes, in_flight, &Action::Deliver { message }, row, y);
            }
            svg.mark(lanes.x(lanes.coordinator()), y, LOSS, "✕ log append failed")
        }
        Action::CompletionAppendFails { marker } => {
            let message = completing_answer(marker);
            draw_action(svg, lanes, in_flight, &Action::Deliver { message }, row, y);
            svg.mark(lanes.x(lanes.coordinator()), y, LOSS, "✕ completion append failed")
        }
        Action::CoordinatorAppendCompletes { .. } => {
            svg.mark(lanes.x(lanes.coordinator()), y, MARKER, "✓ log append completed")
        }
        Action::CoordinatorExpireTransactionalId { txn } => {
            svg.mark(lanes.x(lanes.coordinator()), y, LOSS, &format!("⌛ txn-{txn} expired"))
        }
        Action::PartitionExpireProducer { partition, producer_id } => {
            let lane = lanes.target(TxnPartition::Data(*partition));
            svg.mark(lanes.x(lane), y, LOSS, &format!("⌛ pid {producer_id} expired"))
        }
        Action::GroupCompleteTransaction { producer_id } => {
            svg.mark(lanes.x(lanes.coordinator()), y, MARKER, &format!("group completes pid {producer_id}"))
        }
        Action::CoordinatorRetryMarkers { txn } => {
            svg.mark(lanes.x(lanes.coordinator()), y, MARKER, &format!("retry txn-{txn} markers"))
        }
        Action::CoordinatorResendMarker { marker } => svg.mark(
            lanes.x(lanes.coordinator()),
            y,
            DUPLICATE,
            &format!("marker request timeout: re-send to {}", marker.target),
        ),
        // Every action kind is listed: a new one does not compile until it has a mark.
        Action::ProducerStart { producer } => svg.mark(lanes.x(usize::from(*producer)), y, INK, "start"),
        Action::ProducerSend { producer, partition } => {
            svg.mark(lanes.x(usize::from(*producer)), y, INK, &format!("send to out-{partition}"))
        }
        Action::ProducerSendOffsets { producer } => svg.mark(lanes.x(usize::from(*producer)), y, INK, "sendOffsets"),
        Action::ProducerFetchOffsets { producer } => svg.mark(lanes.x(usize::from(*producer)), y, INK, "fetch offsets"),
        Action::ProducerCommit { producer } => svg.mark(lanes.x(usize::from(*producer)), y, INK, "commitTransaction"),
        Action::ProducerAbort { producer } => svg.mark(lanes.x(usize::from(*producer)), y, INK, "abortTransaction"),
        Action::ProducerRetry { producer } => svg.mark(lanes.x(usize::from(*producer)), y, INK, "retry requests"),
    }
}

fn colour_of(message: &Message) -> &'static str {
    match message {
        Message::Request(_) => INK,
        Message::Response { .. } => RESPONSE,
        Message::Marker(_) | Message::MarkerResponse { .. } => MARKER,
        Message::Verify { .. } | Message::VerifyResponse { .. } => MARKER,
    }
}

/// A message's arrow label: short, the details are in the row's tooltip.
fn label(message: &Message) -> String {
    let request = |r: &Request| match r.body {
        RequestBody::Produce { value, .. } => format!("Produce {value}"),
        RequestBody::EndTxn { commit, .. } => format!("EndTxn({})", if commit { "commit" } else { "abort" }),
        RequestBody::AddPartitionsToTxn { partition, .. } => format!("AddPartitions out-{partition}"),
        RequestBody::TxnOffsetCommit { offset, .. } => format!("TxnOffsetCommit {offset}"),
        RequestBody::OffsetCommit { offset, .. } => format!("OffsetCommit {offset}"),
        body => body.kind().to_string(),
    };
    match message {
        Message::Request(r) => request(r),
        Message::Response { request: r, reply } => format!("{} ← {}", reply.error, r.body.kind()),
        Message::Marker(m) => format!("{} marker", if m.commit { "COMMIT" } else { "ABORT" }),
        Message::MarkerResponse { error, .. } => format!("marker {error}"),
        Message::Verify { .. } => "verify".to_string(),
        Message::VerifyResponse { error, .. } => format!("verified {error}"),
    }
}

/// Short notes of what a step changed, per lifeline.
fn notes(before: &State, after: &State, lanes: &Lanes) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (t, (b, a)) in before.coordinator.log.iter().zip(&after.coordinator.log).enumerate() {
        if let (Some(a), true) = (a, b.map(|b| b.state) != a.map(|a| a.state)) {
            out.push((lanes.coordinator(), format!("txn-{t} → {:?}", a.state)));
        }
    }
    for (i, (b, a)) in before.partitions.iter().zip(&after.partitions).enumerate() {
        let lane = lanes.partition(i);
        for offset in b.log.len()..a.log.len() {
            let what = match &a.log[offset] {
                crate::partition::LogEntry::Data { value, .. } => value.to_string(),
                crate::partition::LogEntry::Control { commit: true, .. } => "COMMIT".to_string(),
                crate::partition::LogEntry::Control { .. } => "ABORT".to_string(),
            };
            out.push((lane, format!("@{offset} {what}")));
        }
        let (lb, la) = (b.last_stable_offset(), a.last_stable_offset());
        if lb != la {
            out.push((lane, format!("LSO {lb}→{la}")));
        }
    }
    for (g, (gb, ga)) in before.group.groups.iter().zip(&after.group.groups).enumerate() {
        if let (true, Some(lane), Some(offset)) = (gb.committed != ga.committed, lanes.group, ga.committed) {
            let group = if g == 0 { String::new() } else { format!(" ({})", group_name(g as GroupIndex)) };
            out.push((lane, format!("committed {offset}{group}")));
        }
    }
    // Several notes on one lifeline share its line.
    let mut merged: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for (lane, note) in out {
        merged.entry(lane).or_default().push(note);
    }
    merged.into_iter().map(|(lane, notes)| (lane, notes.join("; "))).collect()
}

fn clip(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        return text.to_string();
    }
    format!("{}…", text.chars().take(chars - 1).collect::<String>())
}

/// The lifelines: producers, coordinator, partitions, group.
struct Lanes {
    names: Vec<(String, String)>,
    producers: usize,
    partitions: usize,
    group: Option<usize>,
}

impl Lanes {
    fn of(model: &EosModel) -> Lanes {
        let c = &model.config;
        let mut names = Vec::new();
        for p in 0..c.producer_count() {
            let mut detail = format!("txn-{}", c.txn_id_of(p));
            if c.producers.instances > 1 {
                detail += &format!(", instance {}", c.instance_of(p));
            }
            names.push((format!("producer-{p}"), detail));
        }
        names.push(("coordinator".to_string(), "transactions".to_string()));
        for i in 0..c.partitions.count {
            names.push((format!("out-{i}"), "partition leader".to_string()));
        }
        let group = c.is_copier().then(|| {
            names.push(("group".to_string(), "copier-group offsets".to_string()));
            names.len() - 1
        });
        Lanes { producers: usize::from(c.producer_count()), partitions: usize::from(c.partitions.count), names, group }
    }

    fn x(&self, lane: usize) -> f64 {
        LEFT + COLUMN * (lane as f64 + 0.5)
    }

    fn coordinator(&self) -> usize {
        self.producers
    }

    fn partition(&self, i: usize) -> usize {
        self.producers + 1 + i.min(self.partitions.saturating_sub(1))
    }

    fn target(&self, target: TxnPartition) -> usize {
        match target {
            TxnPartition::Data(p) => self.partition(usize::from(p)),
            TxnPartition::Offsets => self.group.unwrap_or(self.coordinator()),
        }
    }

    /// The broker-side lifeline that handles `request`.
    fn handler(&self, request: &Request) -> usize {
        match request.body {
            RequestBody::Produce { partition, .. } => self.partition(usize::from(partition)),
            RequestBody::TxnOffsetCommit { .. } | RequestBody::OffsetCommit { .. } => {
                self.group.unwrap_or(self.coordinator())
            }
            _ => self.coordinator(),
        }
    }

    /// (sender, receiver) lifelines of `message`.
    fn ends(&self, message: &Message) -> (usize, usize) {
        match message {
            Message::Request(r) => (usize::from(r.from), self.handler(r)),
            Message::Response { request, .. } => (self.handler(request), usize::from(request.from)),
            Message::Marker(m) => (self.coordinator(), self.target(m.target)),
            Message::MarkerResponse { marker, .. } => (self.target(marker.target), self.coordinator()),
            Message::Verify { request, .. } => (self.handler(request), self.coordinator()),
            Message::VerifyResponse { request, .. } => (self.coordinator(), self.handler(request)),
        }
    }
}

/// A minimal SVG writer (text is escaped).
struct Svg {
    out: String,
}

impl Svg {
    fn new(width: f64, height: f64) -> Svg {
        let mut out = format!(
            "<svg xmlns='http://www.w3.org/2000/svg' class='eos-sequence' width='{width:.0}' height='{height:.0}' \
             viewBox='0 0 {width:.0} {height:.0}' font-family='-apple-system, Segoe UI, Helvetica, Arial, sans-serif'>"
        );
        out.push_str("<defs>");
        for (id, colour) in [("ink", INK), ("loss", LOSS), ("dup", DUPLICATE), ("marker", MARKER), ("resp", RESPONSE)] {
            let _ = write!(
                out,
                "<marker id='eos-arrow-{id}' markerWidth='10' markerHeight='8' refX='9' refY='4' orient='auto'>\
                 <polygon points='0 0, 10 4, 0 8' fill='{colour}'/></marker>"
            );
        }
        out.push_str("</defs><rect width='100%' height='100%' fill='white'/>");
        Svg { out }
    }

    fn line(&mut self, (x1, y1): (f64, f64), (x2, y2): (f64, f64), colour: &str, width: f64) {
        let _ = write!(
            self.out,
            "<line x1='{x1:.1}' y1='{y1:.1}' x2='{x2:.1}' y2='{y2:.1}' stroke='{colour}' stroke-width='{width}'/>"
        );
    }

    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, stroke: &str) {
        let _ = write!(
            self.out,
            "<rect x='{x:.1}' y='{y:.1}' width='{w:.1}' height='{h:.1}' rx='4' fill='{fill}' stroke='{stroke}'/>"
        );
    }

    /// An invisible row with a tooltip (what the step changed).
    fn titled_row(&mut self, x: f64, y: f64, w: f64, h: f64, title: &str) {
        let _ = write!(
            self.out,
            "<rect x='{x:.1}' y='{y:.1}' width='{w:.1}' height='{h:.1}' fill='transparent'><title>{}</title></rect>",
            escape(title)
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn text(&mut self, x: f64, y: f64, anchor: &str, size: f64, colour: &str, weight: &str, text: &str) {
        let weight = if weight.is_empty() { String::new() } else { format!(" font-weight='{weight}'") };
        let _ = write!(
            self.out,
            "<text x='{x:.1}' y='{y:.1}' text-anchor='{anchor}' font-size='{size}' fill='{colour}'{weight} \
             stroke='white' stroke-width='3' paint-order='stroke'>{}</text>",
            escape(text)
        );
    }

    /// An arrow from (x1, y1) to (x2, y2), labelled near its start.
    fn arrow(&mut self, (x1, y1): (f64, f64), (x2, y2): (f64, f64), colour: &str, dashed: bool, label: &str) {
        let id = match colour {
            LOSS => "loss",
            DUPLICATE => "dup",
            MARKER => "marker",
            RESPONSE => "resp",
            _ => "ink",
        };
        let dash = if dashed { " stroke-dasharray='5 3'" } else { "" };
        let _ = write!(
            self.out,
            "<line x1='{x1:.1}' y1='{y1:.1}' x2='{x2:.1}' y2='{y2:.1}' stroke='{colour}' stroke-width='1.4'{dash} \
             marker-end='url(#eos-arrow-{id})'/>"
        );
        // A long arrow crosses other rows' arrows in its middle: label it near where it starts.
        let along = if (y2 - y1).abs() > 2.5 * ROW { 0.22 } else { 0.5 };
        let (lx, ly) = (x1 + (x2 - x1) * along, y1 + (y2 - y1) * along - 4.0);
        self.text(lx, ly, "middle", 10.5, colour, "", label);
    }

    /// A labelled mark on a lifeline.
    fn mark(&mut self, x: f64, y: f64, colour: &str, label: &str) {
        let _ = write!(self.out, "<circle cx='{x:.1}' cy='{y:.1}' r='4' fill='{colour}'/>");
        self.text(x - 8.0, y + 4.0, "end", 11.0, colour, "600", label);
    }

    fn finish(mut self) -> String {
        self.out.push_str("</svg>");
        self.out
    }
}

/// `text` safe inside SVG/HTML text and attributes.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('\'', "&#39;").replace('"', "&quot;")
}

/// The successful acknowledgement of `marker`, which a completion append failure delivers.
fn completing_answer(marker: &crate::message::Marker) -> Message {
    Message::MarkerResponse { marker: *marker, error: crate::types::ErrorCode::None }
}
