//! `eos check --report FILE.html`: one self-contained page per run (no scripts, no external files) to
//! send to a colleague: the verdict table, then for each counterexample the reason, its sequence
//! diagram and its step table.

use crate::verdicts::{self, exit_status};
use eos_model::check::{CheckReport, Outcome, Verdict};
use eos_model::diagram::{escape, sequence_diagram};
use eos_model::{describe, explain, Action, EosModel, State};
use stateright::Path;
use std::fmt::Write;

const STYLE: &str = r#"
body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #24292f; margin: 0; background: #f6f8fa; }
main { max-width: 1280px; margin: 0 auto; padding: 24px 32px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 32px 0 8px; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
.summary { color: #57606a; margin: 0 0 12px; }
.banner { padding: 12px 16px; border-radius: 6px; margin: 16px 0; font-weight: 600; border: 1px solid; }
.banner.ok { background: #dafbe1; border-color: #4ac26b; } .banner.bad { background: #ffebe9; border-color: #ff8182; }
.banner.expected { background: #fff8c5; border-color: #d4a72c; } .banner.open { background: #ddf4ff; border-color: #54aeff; }
.facts { color: #57606a; margin: 4px 0 0; }
table { border-collapse: collapse; background: white; width: 100%; border: 1px solid #d0d7de; border-radius: 6px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid #eaeef2; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; }
.holds, .reached { color: #1a7f37; } .violated, .never { color: #cf222e; font-weight: 600; } .open { color: #0969da; }
.tag { display: inline-block; padding: 0 6px; border-radius: 10px; font-size: 12px; border: 1px solid #d0d7de; }
.tag.unexpected { background: #ffebe9; border-color: #ff8182; color: #cf222e; font-weight: 600; }
.tag.expected { background: #fff8c5; border-color: #d4a72c; }
.counterexample { background: white; border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 20px 20px; margin-top: 24px; }
.why { background: #ffebe9; border-left: 4px solid #cf222e; padding: 8px 12px; margin: 8px 0 16px; }
.diagram { overflow-x: auto; border: 1px solid #eaeef2; border-radius: 6px; margin-bottom: 16px; }
.steps td.n { color: #57606a; text-align: right; width: 2em; } .steps td.actor { white-space: nowrap; }
.steps ul { margin: 2px 0 0; padding-left: 18px; color: #57606a; } .steps tr.last { background: #ffebe9; }
a { color: #0969da; }
"#;

/// The page for `report`; `link` gives a counterexample's explorer deep link.
pub fn page(report: &CheckReport, link: &dyn Fn(&Path<State, Action>) -> String) -> String {
    let c = &report.config;
    let title = format!("eos check {} --protocol {}", c.name, c.protocol);
    let mut html = String::new();
    let _ = write!(
        html,
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{}</title><style>{STYLE}</style></head>\
         <body><main><h1>{}</h1><p class='summary'>{}</p>",
        escape(&title),
        escape(&title),
        escape(&c.summary)
    );
    let status = exit_status(report);
    let class = match status {
        0 => "ok",
        1 if report.unexpected_violations().is_empty() && report.as_expected() => "expected",
        1 => "bad",
        _ => "open",
    };
    let _ = write!(html, "<div class='banner {class}'>{}</div>", escape(&verdicts::conclusion(report)));
    let _ = write!(
        html,
        "<p class='facts'>{} ({}, symmetry {}, {} thread(s)), depth {}, {:.2} s: {}. Exit status {status}.</p>",
        escape(&verdicts::explored_text(report)),
        report.strategy.name(),
        if report.symmetry { "on" } else { "off" },
        report.threads,
        report.max_depth,
        report.elapsed.as_secs_f64(),
        escape(&verdicts::coverage_text(report))
    );
    verdict_table(&mut html, report);
    let model = EosModel::new(c.clone());
    let mut violated: Vec<&Verdict> = report.verdicts.iter().filter(|v| v.violated()).collect();
    violated.sort_by_key(|v| v.outcome.path().map_or(0, |p| p.clone().into_actions().len()));
    for v in violated {
        let Outcome::Violated(path) = &v.outcome else { continue };
        counterexample(&mut html, &model, v, path, &link(path));
    }
    html.push_str("</main></body></html>\n");
    html
}

fn verdict_table(html: &mut String, report: &CheckReport) {
    html.push_str(
        "<h2>Verdicts</h2><table class='verdicts'><tr><th>property</th><th>kind</th><th>verdict</th>\
         <th>scenario expects</th><th>why</th></tr>",
    );
    let model = EosModel::new(report.config.clone());
    for v in &report.verdicts {
        let class = match (&v.outcome, report.exhaustive()) {
            (Outcome::Holds, true) => "holds",
            (Outcome::Reached(_), _) => "reached",
            (Outcome::Violated(_), _) => "violated",
            (Outcome::NotReached, true) => "never",
            _ => "open",
        };
        let kind = match v.expectation {
            stateright::Expectation::Sometimes => "sometimes",
            _ if eos_model::properties::is_liveness(v.name) => "liveness",
            _ => "always",
        };
        let expects = match (v.violated(), v.expected_violated) {
            (true, true) => "<span class='tag expected'>violated, as expected</span>".to_string(),
            (true, false) => "<span class='tag unexpected'>NOT expected</span>".to_string(),
            (false, true) => "<span class='tag'>a violation</span>".to_string(),
            (false, false) => String::new(),
        };
        let why = match &v.outcome {
            Outcome::Violated(path) => {
                format!("<a href='#{}'>{}</a>", v.name, escape(&explain::why(&model, v.name, path)))
            }
            Outcome::Reached(path) => escape(&explain::why(&model, v.name, path)),
            _ => String::new(),
        };
        let _ = write!(
            html,
            "<tr><td class='mono'>{}</td><td>{kind}</td><td class='{class}'>{}</td><td>{expects}</td><td>{why}</td></tr>",
            v.name,
            escape(&verdicts::verdict_text(report, v))
        );
    }
    html.push_str("</table>");
}

fn counterexample(html: &mut String, model: &EosModel, v: &Verdict, path: &Path<State, Action>, link: &str) {
    let steps = path.clone().into_vec();
    let _ = write!(
        html,
        "<section class='counterexample' id='{}'><h2>✗ {} is violated ({} steps)</h2>\
         <div class='why'>{}</div><div class='diagram'>{}</div>",
        v.name,
        v.name,
        steps.len() - 1,
        escape(&explain::why(model, v.name, path)),
        sequence_diagram(model, path)
    );
    html.push_str("<table class='steps'><tr><th>#</th><th>actor</th><th>action, then what changed</th></tr>");
    let rows = steps.len() - 1;
    for (i, pair) in steps.windows(2).enumerate() {
        let (before, action) = &pair[0];
        let (after, _) = &pair[1];
        let action = action.as_ref().expect("every step but the last has an action");
        let changes: String =
            describe::changes(before, after).iter().map(|c| format!("<li>{}</li>", escape(c))).collect();
        let last = if i + 1 == rows { " class='last'" } else { "" };
        let _ = write!(
            html,
            "<tr{last}><td class='n'>{}</td><td class='actor mono'>{}</td><td><span class='mono'>{}</span><ul>{changes}</ul></td></tr>",
            i + 1,
            escape(&describe::actor(action)),
            escape(&describe::action(action))
        );
    }
    let _ = write!(
        html,
        "</table><p>Explore it: serve the explorer with <code>eos explore</code> and open <a href='{}'>{}</a>.</p></section>",
        escape(link),
        escape(link)
    );
}
