//! What a check established, in words: how much of the space it covered, each property's verdict, and
//! the closing sentence. Shared by the terminal report, the JSON report and the HTML report, so they
//! never disagree. A run that was not exhaustive never says that a property holds.

use crate::render::thousands;
use eos_model::check::{CheckReport, Coverage, Outcome, Strategy, Verdict};

/// Exit status: every property holds and every `sometimes` is reached, exhaustively.
pub const EXIT_OK: u8 = 0;
/// Exit status: a property is violated (or, exhaustively, a `sometimes` is never reached).
pub const EXIT_FAILED: u8 = 1;
/// Exit status: usage or configuration error.
pub const EXIT_USAGE: u8 = 2;
/// Exit status: no violation found, but the run was not exhaustive (depth bound cut, time-out,
/// random walks): nothing is proven.
pub const EXIT_INCONCLUSIVE: u8 = 3;
/// Exit status base for a run stopped by a signal: 128 + the signal (130 for SIGINT, 143 for SIGTERM).
pub const EXIT_SIGNAL_BASE: u8 = 128;

/// The exit status of a check (see the `EXIT_*` constants).
pub fn exit_status(report: &CheckReport) -> u8 {
    if let Coverage::Interrupted { signal, .. } = report.coverage {
        return EXIT_SIGNAL_BASE.saturating_add(u8::try_from(signal).unwrap_or(0));
    }
    let failed = report.verdicts.iter().any(|v| match v.outcome {
        Outcome::Violated(_) => true,
        Outcome::NotReached => report.exhaustive(),
        Outcome::Holds | Outcome::Reached(_) => false,
    });
    if failed {
        EXIT_FAILED
    } else if report.exhaustive() {
        EXIT_OK
    } else {
        EXIT_INCONCLUSIVE
    }
}

/// The name of a signal eos handles.
pub fn signal_name(signal: i32) -> String {
    match signal {
        2 => "SIGINT".to_string(),
        15 => "SIGTERM".to_string(),
        n => format!("signal {n}"),
    }
}

/// How much of the space the run covered, as a phrase ("exhaustive", "NOT exhaustive: ...").
pub fn coverage_text(report: &CheckReport) -> String {
    match report.coverage {
        Coverage::Exhaustive => "exhaustive".to_string(),
        Coverage::DepthBound { bound } => {
            format!("NOT exhaustive: --max-depth {bound} cut paths, states deeper than {bound} steps were not checked")
        }
        Coverage::TimedOut { after, frontier } => format!(
            "NOT exhaustive: --timeout {} s ran out with {} generated states left unexplored",
            after.as_secs(),
            thousands(frontier)
        ),
        Coverage::Interrupted { signal, frontier } => match report.strategy {
            Strategy::Simulation { .. } => {
                format!("NOT exhaustive: random walks, interrupted by {}", signal_name(signal))
            }
            _ => format!(
                "NOT exhaustive: interrupted by {} with {} generated states left unexplored",
                signal_name(signal),
                thousands(frontier)
            ),
        },
        Coverage::Simulation => "NOT exhaustive: random walks never cover the whole space".to_string(),
    }
}

/// The size of what was explored, as a phrase.
pub fn explored_text(report: &CheckReport) -> String {
    if matches!(report.strategy, Strategy::Simulation { .. }) {
        format!("visited {} states on random walks", thousands(report.total_states))
    } else {
        format!(
            "checked {} unique states ({} generated)",
            thousands(report.checked_states.min(report.unique_states)),
            thousands(report.total_states)
        )
    }
}

/// A verdict in a few words: "holds", "VIOLATED (counterexample in 17 steps)", "no violation found".
pub fn verdict_text(report: &CheckReport, v: &Verdict) -> String {
    let steps = |p: &stateright::Path<_, _>| p.clone().into_actions().len();
    match &v.outcome {
        Outcome::Holds if report.exhaustive() => "holds".to_string(),
        Outcome::Holds => "no violation found (not exhaustive)".to_string(),
        Outcome::Violated(p) => format!("VIOLATED (counterexample in {} steps)", steps(p)),
        Outcome::Reached(p) => format!("reached (example in {} steps)", steps(p)),
        Outcome::NotReached if report.exhaustive() => "NEVER REACHED".to_string(),
        Outcome::NotReached => "not reached within the bounds of this run".to_string(),
    }
}

/// Whether the scenario expected this verdict, as a short note ("" when nothing to say).
pub fn expectation_note(v: &Verdict) -> &'static str {
    match (&v.outcome, v.expected_violated) {
        (Outcome::Violated(_), true) => "expected by the scenario",
        (Outcome::Violated(_), false) => "NOT EXPECTED by the scenario",
        (Outcome::Holds, true) => "the scenario expects a violation",
        _ => "",
    }
}

/// The closing sentence: what was and was not established.
pub fn conclusion(report: &CheckReport) -> String {
    let total = report.verdicts.len();
    let violated: Vec<&Verdict> = report.verdicts.iter().filter(|v| v.violated()).collect();
    let expected: Vec<&str> = violated.iter().filter(|v| v.expected_violated).map(|v| v.name).collect();
    let unexpected: Vec<&str> = violated.iter().filter(|v| !v.expected_violated).map(|v| v.name).collect();
    let never: Vec<&str> = report
        .verdicts
        .iter()
        .filter(|v| matches!(v.outcome, Outcome::NotReached) && report.exhaustive())
        .map(|v| v.name)
        .collect();
    let missing: Vec<&str> = report
        .verdicts
        .iter()
        .filter(|v| v.expected_violated && !v.violated() && report.exhaustive())
        .map(|v| v.name)
        .collect();
    let mut parts = Vec::new();
    if !violated.is_empty() {
        let mut s = format!("{} of {total} properties violated", violated.len());
        if !expected.is_empty() {
            s += &format!("; expected by the scenario: {}", expected.join(", "));
        }
        if !unexpected.is_empty() {
            s += &format!("; NOT expected: {}", unexpected.join(", "));
        }
        parts.push(s);
    }
    if !never.is_empty() {
        parts.push(format!("never reached: {}", never.join(", ")));
    }
    if !missing.is_empty() {
        parts.push(format!("the scenario expects violations that were not found: {}", missing.join(", ")));
    }
    if report.exhaustive() {
        if parts.is_empty() {
            return format!("All {total} properties hold.");
        }
        return format!("{}.", parts.join("; "));
    }
    let states = if matches!(report.strategy, Strategy::Simulation { .. }) {
        format!("in {} states visited on random walks", thousands(report.total_states))
    } else {
        format!(
            "in {} unique states ({} generated)",
            thousands(report.checked_states.min(report.unique_states)),
            thousands(report.total_states)
        )
    };
    let scope = format!(
        "{states} up to depth {}; {}",
        report.max_depth,
        coverage_text(report).replacen("NOT exhaustive", "not exhaustive", 1)
    );
    if violated.is_empty() {
        format!("No violation found {scope}. Nothing is proven beyond what was checked.")
    } else {
        format!("{} ({scope}; other properties may fail beyond it).", parts.join("; "))
    }
}
