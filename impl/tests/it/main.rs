//! The integration tests, in one binary (one link, one compile of the shared helpers): end-to-end
//! flows through the in-process cluster, the tv1 anomalies, the seeded faults, and the proptest
//! state-machine suite.

mod anomalies;
mod append_window;
mod cluster_flows;
mod common;
mod copier_flows;
mod faults;
mod state_machine;
mod timing;
