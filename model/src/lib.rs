//! eos-model: a stateright model of Kafka's exactly-once semantics (work in progress).
