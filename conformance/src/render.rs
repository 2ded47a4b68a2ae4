//! Text renderings for the terminal: the counterexample table and numbers.

use eos_model::describe;
use eos_model::{Action, State};
use stateright::Path;
use std::fmt::Write;

/// A counterexample (or example) as a table of steps: who did what, then what changed.
pub fn steps_table(path: &Path<State, Action>) -> String {
    let steps = path.clone().into_vec();
    let mut out = String::new();
    let _ = writeln!(out, "  {:>3}  {:<12} action, then what changed", "#", "actor");
    for (i, w) in steps.windows(2).enumerate() {
        let (before, action) = &w[0];
        let (after, _) = &w[1];
        let action = action.as_ref().expect("every step but the last has an action");
        let _ = writeln!(out, "  {:>3}  {:<12} {}", i + 1, describe::actor(action), describe::action(action));
        for change in describe::changes(before, after) {
            let _ = writeln!(out, "  {:>3}  {:<12}   · {change}", "", "");
        }
    }
    out
}

/// `word` as one shell word: unchanged when it needs no quoting, else in single quotes.
pub fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    /// Thousands separators are placed every three digits from the right.
    #[test]
    fn thousands_groups_digits() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(1234567), "1,234,567");
    }

    /// Paths with spaces or quotes are quoted so a printed command can be pasted into a shell.
    #[test]
    fn shell_words_are_quoted_when_needed() {
        assert_eq!(super::shell_word("specs/scenarios/basic.toml"), "specs/scenarios/basic.toml");
        assert_eq!(super::shell_word("my dir/x.toml"), "'my dir/x.toml'");
        assert_eq!(super::shell_word("it's.toml"), "'it'\\''s.toml'");
    }
}
