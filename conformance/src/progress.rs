//! Progress of a long `eos check` on stderr: one updating line on a terminal (unique states, recent
//! states/s, depth, frontier, resident memory, time), a line every 5 s when stderr is a file, or JSON
//! lines (`--progress json`) for tools.

use crate::render::thousands;
use eos_model::check::Progress;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressMode {
    /// An updating line on a terminal, else a line every 5 s.
    Auto,
    /// One JSON object per line, every second: `{"event":"progress", ...}`, then `{"event":"done", ...}`.
    Json,
    /// Nothing.
    None,
}

/// One reading of the run, as shown and as sent in JSON.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct Reading {
    /// Unique states generated.
    pub unique_states: usize,
    /// States checked (properties evaluated).
    pub checked_states: usize,
    /// Unique states per second over the last second or so.
    pub states_per_second: f64,
    /// Deepest path so far, in steps.
    pub depth: usize,
    /// States generated but not yet explored (None for random walks).
    pub frontier: Option<usize>,
    /// Resident memory of the process, in bytes (None where the platform does not say).
    pub rss_bytes: Option<usize>,
    /// Seconds since the start.
    pub elapsed_seconds: f64,
}

impl Reading {
    /// The one-line form.
    pub fn line(&self) -> String {
        let frontier = self.frontier.map_or(String::new(), |f| format!(" · frontier {}", thousands(f)));
        let rss = self.rss_bytes.map_or(String::new(), |b| format!(" · RSS {} MiB", b / (1 << 20)));
        format!(
            "{} unique states · {} states/s · depth {}{frontier}{rss} · {:.0} s",
            thousands(self.unique_states),
            thousands(self.states_per_second as usize),
            self.depth,
            self.elapsed_seconds
        )
    }
}

/// Shows progress in the chosen mode.
pub struct ProgressReporter {
    mode: ProgressMode,
    bar: Option<ProgressBar>,
    last_shown: Instant,
    /// (time, unique states) of the previous rate sample.
    sample: (Duration, usize),
    rate: f64,
    /// (time, resident bytes) of the previous memory sample.
    rss: Option<(Duration, Option<usize>)>,
    last: Option<Reading>,
}

/// How often the resident memory is read: the checker's waiting loop calls [`ProgressReporter::update`]
/// every 20 ms, and reading `/proc` that often cost 7% of a `happy` check's instructions (callgrind).
const RSS_EVERY: Duration = Duration::from_millis(500);

impl ProgressReporter {
    /// A reporter writing to stderr.
    pub fn new(mode: ProgressMode) -> Self {
        let bar = (mode == ProgressMode::Auto && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("valid template"));
            bar
        });
        ProgressReporter {
            mode,
            bar,
            last_shown: Instant::now(),
            sample: (Duration::ZERO, 0),
            rate: 0.0,
            rss: None,
            last: None,
        }
    }

    /// Takes a reading from the checker's progress.
    pub fn update(&mut self, p: Progress) {
        let since = p.elapsed.saturating_sub(self.sample.0);
        if since >= Duration::from_secs(1) || self.sample.0.is_zero() {
            let grown = p.unique_states.saturating_sub(self.sample.1);
            self.rate = grown as f64 / since.as_secs_f64().max(1e-3);
            self.sample = (p.elapsed, p.unique_states);
        }
        let reading = Reading {
            unique_states: p.unique_states,
            checked_states: p.checked_states,
            states_per_second: self.rate,
            depth: p.max_depth,
            frontier: p.frontier,
            rss_bytes: self.rss_bytes(p.elapsed),
            elapsed_seconds: p.elapsed.as_secs_f64(),
        };
        self.last = Some(reading);
        match (self.mode, &self.bar) {
            (ProgressMode::None, _) => {}
            (ProgressMode::Auto, Some(bar)) => {
                bar.set_message(reading.line());
                bar.tick();
            }
            (ProgressMode::Auto, None) if self.last_shown.elapsed() >= Duration::from_secs(5) => {
                eprintln!("eos check: {}", reading.line());
                self.last_shown = Instant::now();
            }
            (ProgressMode::Json, _) if self.last_shown.elapsed() >= Duration::from_secs(1) => {
                emit_json("progress", &reading);
                self.last_shown = Instant::now();
            }
            _ => {}
        }
    }

    /// The resident memory, read again if the last reading is older than [`RSS_EVERY`].
    fn rss_bytes(&mut self, now: Duration) -> Option<usize> {
        match self.rss {
            Some((at, bytes)) if now.saturating_sub(at) < RSS_EVERY => bytes,
            _ => {
                let bytes = memory_stats::memory_stats().map(|m| m.physical_mem);
                self.rss = Some((now, bytes));
                bytes
            }
        }
    }

    /// Clears the line (terminal) or sends the final figures as a `done` event (JSON).
    pub fn finish(&mut self, last: Progress) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if self.mode == ProgressMode::Json {
            let mode = std::mem::replace(&mut self.mode, ProgressMode::None);
            self.rss = None; // the final figures read the memory afresh
            self.update(last);
            self.mode = mode;
            if let Some(reading) = &self.last {
                emit_json("done", reading);
            }
        }
    }
}

fn emit_json(event: &str, reading: &Reading) {
    let mut value = serde_json::to_value(reading).expect("a reading serialises");
    value["event"] = serde_json::Value::from(event);
    eprintln!("{value}");
}
