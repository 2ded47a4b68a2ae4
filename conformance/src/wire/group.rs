//! A copier instance joining the consumer group (the model's `ProducerStart` of a copier): the
//! classic protocol's JoinGroup (with the member id the broker assigns, KIP-394) and SyncGroup; and
//! its member rejoining (the model's `GroupRebalance`): JoinGroup with its member id, which for the
//! group's leader (the copier's member is the only one, so the leader) in a stable group starts a
//! rebalance that completes at once with a new generation, then SyncGroup.
//!
//! The model's join makes the new instance the only member with generation+1. Kafka gets there by a
//! rebalance: the join waits for the old member to rejoin, which a crashed instance never does, so
//! every member asks for a short rebalance timeout; after it the old member is removed and the new
//! generation has the new instance alone. The session timeout is long, because the harness does
//! not heartbeat: a member must not expire in the middle of a trace.

use super::error::WireError;
use super::routes::{Links, Routes};
use super::versions::Versions;
use bytes::Bytes;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{GroupId, JoinGroupRequest, SyncGroupRequest};
use kafka_protocol::protocol::StrBytes;
use std::time::Duration;

/// The protocol type and name the copier's members use (a classic group of our own kind, so the
/// broker does not parse consumer subscriptions).
pub const PROTOCOL: &str = "eos-copier";

/// How long the group waits for an old member to rejoin.
pub const REBALANCE_TIMEOUT: Duration = Duration::from_millis(500);

/// How long a member lives without heartbeats.
pub const SESSION_TIMEOUT: Duration = Duration::from_secs(120);

const MEMBER_ID_REQUIRED: i16 = 79;
const REBALANCE_IN_PROGRESS: i16 = 27;

/// A member of the group: its member id and the broker's generation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    /// The member id the broker assigned.
    pub member_id: String,
    /// The generation the join completed in.
    pub generation: i32,
}

/// Joins `group` through its coordinator (`links` of the joining instance) and syncs: as a new
/// member, or (`rejoining`) as that member again.
pub fn join(
    links: &mut Links,
    routes: &Routes,
    versions: &Versions,
    group: &str,
    rejoining: Option<&Membership>,
) -> Result<Membership, WireError> {
    let node = routes.group_coordinator(group)?;
    let group_id = GroupId(StrBytes::from_string(group.to_string()));
    let mut member_id = rejoining.map_or(String::new(), |m| m.member_id.clone());
    // MEMBER_ID_REQUIRED, then the join proper; a rebalance racing it at most once more.
    for _ in 0..4 {
        let mut protocol = JoinGroupRequestProtocol::default();
        protocol.name = StrBytes::from_static_str(PROTOCOL);
        protocol.metadata = Bytes::new();
        let mut request = JoinGroupRequest::default();
        request.group_id = group_id.clone();
        request.session_timeout_ms = millis(SESSION_TIMEOUT);
        request.rebalance_timeout_ms = millis(REBALANCE_TIMEOUT);
        request.member_id = StrBytes::from_string(member_id.clone());
        request.protocol_type = StrBytes::from_static_str(PROTOCOL);
        request.protocols = vec![protocol];
        let joined = links.to(routes, node)?.call(&request, versions.join_group)?;
        if joined.error_code == MEMBER_ID_REQUIRED {
            member_id = joined.member_id.as_str().to_string();
            continue;
        }
        if joined.error_code != 0 {
            return Err(WireError::Broker(format!("JoinGroup({group}): error code {}", joined.error_code)));
        }
        member_id = joined.member_id.as_str().to_string();
        let leader = joined.leader.as_str() == member_id;
        let mut sync = SyncGroupRequest::default();
        sync.group_id = group_id.clone();
        sync.generation_id = joined.generation_id;
        sync.member_id = joined.member_id.clone();
        sync.protocol_type = Some(StrBytes::from_static_str(PROTOCOL));
        sync.protocol_name = Some(StrBytes::from_static_str(PROTOCOL));
        if leader {
            sync.assignments = joined
                .members
                .iter()
                .map(|m| {
                    let mut a = SyncGroupRequestAssignment::default();
                    a.member_id = m.member_id.clone();
                    a.assignment = Bytes::new();
                    a
                })
                .collect();
        }
        let synced = links.to(routes, node)?.call(&sync, versions.sync_group)?;
        match synced.error_code {
            0 => return Ok(Membership { member_id, generation: joined.generation_id }),
            REBALANCE_IN_PROGRESS => continue,
            code => return Err(WireError::Broker(format!("SyncGroup({group}): error code {code}"))),
        }
    }
    Err(WireError::Broker(format!("{group}: the join did not settle after four attempts")))
}

fn millis(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}
