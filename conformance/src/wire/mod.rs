//! The `kafka://HOST:PORT` target: the model's realisable traces replayed against any
//! Kafka-compatible broker over the wire (specs/wire-target.md).
//!
//! Layers, bottom up: [`connection`] (one TCP connection, requests and responses encoded by the
//! `kafka-protocol` crate), [`versions`] (which API versions each protocol mode sends), [`probe`]
//! (what a broker offers and which mode it runs), [`routes`] and [`setup`] (a trace's topics and
//! where its requests go).

pub mod client;
pub mod connection;
pub mod corpus;
pub mod error;
pub mod group;
pub mod known;
pub mod mapping;
pub mod names;
pub mod observer;
pub mod probe;
pub mod realise;
pub mod replay;
pub mod routes;
pub mod setup;
pub mod suite;
pub mod target;
pub mod versions;
pub mod view;

pub use error::WireError;
pub use target::KafkaTarget;
