//! Where each request of a trace goes, and the connections that carry them.
//!
//! A Kafka cluster answers Produce and Fetch at a partition's leader, transactional requests at the
//! transactional id's coordinator and group requests at the group's coordinator. Routes are looked
//! up once per trace (Metadata, FindCoordinator) after its topics exist; each client of the harness
//! (a producer instance, or the observer) keeps its own connection to every node it talks to.

use super::connection::Connection;
use super::error::{is_not_ready, WireError};
use super::versions::Versions;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{FindCoordinatorRequest, MetadataRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How long to wait between polls of something the broker is still setting up.
pub const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Node ids to addresses, and who serves what.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Routes {
    /// Node id → host:port.
    pub nodes: BTreeMap<i32, String>,
    /// (topic, partition) → leader node.
    pub leaders: BTreeMap<(String, i32), i32>,
    /// Transactional id → coordinator node.
    pub txn_coordinators: BTreeMap<String, i32>,
    /// Consumer group → coordinator node.
    pub group_coordinators: BTreeMap<String, i32>,
}

impl Routes {
    /// The leader of `topic`-`partition`.
    pub fn leader(&self, topic: &str, partition: i32) -> Result<i32, WireError> {
        self.leaders
            .get(&(topic.to_string(), partition))
            .copied()
            .ok_or_else(|| WireError::Broker(format!("no leader is known for {topic}-{partition}")))
    }

    /// The coordinator of `transactional_id`.
    pub fn txn_coordinator(&self, transactional_id: &str) -> Result<i32, WireError> {
        self.txn_coordinators
            .get(transactional_id)
            .copied()
            .ok_or_else(|| WireError::Broker(format!("no coordinator is known for {transactional_id}")))
    }

    /// The coordinator of consumer group `group`.
    pub fn group_coordinator(&self, group: &str) -> Result<i32, WireError> {
        self.group_coordinators
            .get(group)
            .copied()
            .ok_or_else(|| WireError::Broker(format!("no group coordinator is known for {group}")))
    }

    /// Any node (for requests any broker answers).
    pub fn any_node(&self) -> Result<i32, WireError> {
        self.nodes.keys().next().copied().ok_or_else(|| WireError::Broker("the cluster has no brokers".to_string()))
    }
}

/// One harness client's connections, by node id.
pub struct Links {
    timeout: Duration,
    connections: BTreeMap<i32, Connection>,
}

impl Links {
    /// No connections yet; each is opened on first use with `timeout` (also every request's deadline).
    pub fn new(timeout: Duration) -> Links {
        Links { timeout, connections: BTreeMap::new() }
    }

    /// Forgets every connection (the broker restarted: they are all closed).
    pub fn reset(&mut self) {
        self.connections.clear();
    }

    /// The connection to `node`, opened if needed.
    pub fn to(&mut self, routes: &Routes, node: i32) -> Result<&mut Connection, WireError> {
        // A connection that failed (the broker restarted, or misbehaved and the trace already
        // failed) is replaced by a new one.
        if self.connections.get(&node).is_some_and(Connection::is_broken) {
            self.connections.remove(&node);
        }
        if !self.connections.contains_key(&node) {
            let addr = routes
                .nodes
                .get(&node)
                .ok_or_else(|| WireError::Broker(format!("node {node} is not in the cluster's metadata")))?;
            self.connections.insert(node, Connection::open(addr, self.timeout)?);
        }
        Ok(self.connections.get_mut(&node).expect("inserted above"))
    }
}

/// Polls `f` every [`POLL_INTERVAL`] until it gives a value or `deadline` passes (then `Ok(None)`).
pub fn poll_until<T>(
    deadline: Instant,
    mut f: impl FnMut() -> Result<Option<T>, WireError>,
) -> Result<Option<T>, WireError> {
    loop {
        if let Some(value) = f()? {
            return Ok(Some(value));
        }
        if Instant::now() + POLL_INTERVAL > deadline {
            return Ok(None);
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Looks up the routes for `topics` (each with its partition count), `transactional_ids` and
/// `groups`, through `bootstrap`, waiting (until `deadline`) for leaders and coordinators.
pub fn look_up(
    bootstrap: &mut Connection,
    versions: &Versions,
    topics: &[(String, i32)],
    transactional_ids: &[String],
    groups: &[String],
    deadline: Instant,
) -> Result<Routes, WireError> {
    let mut routes = Routes::default();
    let found = poll_until(deadline, || metadata(bootstrap, versions, topics, &mut routes))?;
    if found.is_none() {
        let names: Vec<&str> = topics.iter().map(|(t, _)| t.as_str()).collect();
        return Err(WireError::Broker(format!(
            "{}: no leader for every partition of {} before the deadline",
            bootstrap.addr(),
            names.join(", ")
        )));
    }
    for id in transactional_ids {
        let node = coordinator(bootstrap, versions, id, 1, deadline)?;
        routes.txn_coordinators.insert(id.clone(), node);
    }
    for group in groups {
        let node = coordinator(bootstrap, versions, group, 0, deadline)?;
        routes.group_coordinators.insert(group.clone(), node);
    }
    Ok(routes)
}

/// One Metadata request: `Some(())` once every partition of `topics` has a leader.
fn metadata(
    bootstrap: &mut Connection,
    versions: &Versions,
    topics: &[(String, i32)],
    routes: &mut Routes,
) -> Result<Option<()>, WireError> {
    let mut request = MetadataRequest::default();
    request.topics = Some(
        topics
            .iter()
            .map(|(name, _)| {
                let mut t = MetadataRequestTopic::default();
                t.name = Some(TopicName(StrBytes::from_string(name.clone())));
                t
            })
            .collect(),
    );
    let response = bootstrap.call(&request, versions.metadata)?;
    for broker in &response.brokers {
        routes.nodes.insert(broker.node_id.0, format!("{}:{}", broker.host.as_str(), broker.port));
    }
    for (name, count) in topics {
        let Some(topic) = response.topics.iter().find(|t| t.name.as_ref().map(|n| n.0.as_str()) == Some(name)) else {
            return Ok(None);
        };
        if is_not_ready(topic.error_code) {
            return Ok(None);
        }
        if topic.error_code != 0 {
            return Err(WireError::Broker(format!("metadata of {name}: error code {}", topic.error_code)));
        }
        for p in 0..*count {
            match topic.partitions.iter().find(|q| q.partition_index == p) {
                Some(q) if q.error_code == 0 && q.leader_id.0 >= 0 && routes.nodes.contains_key(&q.leader_id.0) => {
                    routes.leaders.insert((name.clone(), p), q.leader_id.0);
                }
                _ => return Ok(None),
            }
        }
    }
    Ok(Some(()))
}

/// FindCoordinator for `key` (`key_type` 0: group, 1: transactional id), until it is available.
fn coordinator(
    bootstrap: &mut Connection,
    versions: &Versions,
    key: &str,
    key_type: i8,
    deadline: Instant,
) -> Result<i32, WireError> {
    let batched = versions.find_coordinator >= 4;
    let mut last_error = 0;
    let node = poll_until(deadline, || {
        let mut request = FindCoordinatorRequest::default();
        request.key_type = key_type;
        if batched {
            request.coordinator_keys = vec![StrBytes::from_string(key.to_string())];
        } else {
            request.key = StrBytes::from_string(key.to_string());
        }
        let response = bootstrap.call(&request, versions.find_coordinator)?;
        let (error, node) = match response.coordinators.first() {
            Some(c) if batched => (c.error_code, c.node_id.0),
            _ => (response.error_code, response.node_id.0),
        };
        last_error = error;
        if is_not_ready(error) {
            return Ok(None);
        }
        if error != 0 {
            return Err(WireError::Broker(format!("FindCoordinator({key}): error code {error}")));
        }
        Ok(Some(node))
    })?;
    node.ok_or_else(|| {
        WireError::Broker(format!(
            "{}: no coordinator for {key} before the deadline (last error code {last_error})",
            bootstrap.addr()
        ))
    })
}
