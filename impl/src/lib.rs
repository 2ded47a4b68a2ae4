//! eos-broker: the reference implementation (work in progress).
