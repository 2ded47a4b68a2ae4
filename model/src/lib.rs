//! eos-model: a stateright model of Apache Kafka's exactly-once semantics.
//!
//! The model explores every interleaving of transactional producers (and zombies), the transaction
//! coordinator with its durable log, data partitions, a consumer group's offsets and the network
//! (delay, reordering, loss, duplication by retry), with producer crashes, coordinator failovers and
//! transaction timeouts, all bounded by a scenario [`Config`]. Its properties are the invariant
//! catalogue of `specs/eos.md` §13. The protocol it follows is `specs/eos.md`, written from Kafka's
//! coordinator and partition code and KIP-98, KIP-360, KIP-447 and KIP-890.
//!
//! Module order follows the architecture: vocabulary ([`types`], [`message`], [`config`]), the
//! entities ([`client`], [`coordinator`], [`partition`], [`group`]), the whole system ([`state`],
//! [`model`]), and what is judged and shown ([`properties`], [`history`], [`symmetry`], [`observe`],
//! [`describe`], [`scenario`], [`check`]).
#![warn(missing_docs)]

pub mod check;
pub mod client;
pub mod collections;
pub mod config;
pub mod coordinator;
pub mod describe;
pub mod diagram;
pub mod discovery;
pub mod explain;
pub mod group;
pub mod history;
pub mod message;
pub mod model;
pub mod observe;
pub mod partition;
pub mod properties;
pub mod reduction;
pub mod scenario;
pub mod shared;
pub mod state;
mod state_debug;
pub mod symmetry;
pub mod types;

pub use config::{Config, ConfigError, Protocol};
pub use model::EosModel;
pub use state::{Action, State};
