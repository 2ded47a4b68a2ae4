//! Running the checker on a scenario and collecting verdicts.
