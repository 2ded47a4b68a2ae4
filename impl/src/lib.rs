//! # eos-broker: the reference implementation of Kafka's exactly-once semantics
//!
//! A sans-IO broker core and a transactional client, written from `specs/eos.md` (KIP-98,
//! KIP-360, KIP-447, KIP-890 parts 1 and 2) independently of the model in `model/`.
//!
//! The contract, as in quinn-proto: **deterministic, no sockets, no threads, no clock reads, no
//! randomness.** Every input is a method call that takes the time (`now_ms`); every output is
//! plain data (messages to send, answers, timers with deadlines); storage sits behind the
//! [`storage::LogStorage`] trait and its failures come back as error answers.
//!
//! - [`partition`]: a partition leader — the log, producer state, LSO, aborted index, fetch.
//! - [`coordinator`]: the transaction coordinator — state machine, transaction log, markers,
//!   timeouts, fencing, KIP-360, producer ids, failover.
//! - [`group`]: the group coordinator — committed and pending transactional offsets.
//! - [`broker`]: the three behind one `handle(now, source, message) -> Vec<Outgoing>`.
//! - [`client`]: the transaction manager and the read_committed consumer.
//! - [`cluster`]: a deterministic in-process cluster that a test or the conformance harness
//!   drives one step at a time (specs section 10) and observes after every step (section 11).
//! - [`mutation`]: seeded faults for testing the harness (off by default).

#![warn(missing_docs)]

pub mod broker;
pub mod client;
pub mod cluster;
pub mod config;
pub mod coordinator;
pub mod error;
pub mod group;
pub mod mutation;
pub mod partition;
pub mod protocol;
pub mod storage;
pub mod types;

pub use broker::Broker;
pub use client::{ClientConfig, ClientRole, Phase, TransactionManager};
pub use cluster::{Cluster, ClusterConfig, ClusterView, InFlight, MessageId, Timer};
pub use config::{BrokerConfig, ProtocolMode};
pub use coordinator::TxnState;
pub use error::{ClientError, ClusterError, ErrorCode};
pub use mutation::{Fault, Faults};
pub use protocol::{Endpoint, Message};
pub use types::{ClientId, IsolationLevel, TopicPartition, TransactionalId};
