//! The observable state (specs/eos.md §11): what conformance compares after every step.
