//! What can go wrong talking to a broker over the wire: it is unreachable, it is slow, it sends
//! something that is not a Kafka response, it lacks an API version the harness needs, or it refuses
//! an administrative request. Every error names the broker's address, so a user can tell which
//! broker misbehaved and how.

/// A broker-facing failure. None of these is a divergence from the model: they mean the harness
/// could not hold the broker to the model at all (the command exits with status 2).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// No TCP connection: refused, unroutable, unresolvable, or not established in time.
    #[error("cannot connect to {addr}: {message}")]
    Connect {
        /// host:port.
        addr: String,
        /// The operating system's reason.
        message: String,
    },
    /// No complete response before the deadline.
    #[error("{addr} did not answer {api} within {timeout_ms} ms")]
    Timeout {
        /// host:port.
        addr: String,
        /// The request's API name.
        api: String,
        /// The deadline.
        timeout_ms: u64,
    },
    /// The connection broke (closed, reset) while a request was outstanding.
    #[error("{addr} closed the connection while {api} was outstanding: {message}")]
    Closed {
        /// host:port.
        addr: String,
        /// The request's API name.
        api: String,
        /// What the operating system said.
        message: String,
    },
    /// Bytes that are not a Kafka response to the request sent.
    #[error("{addr} sent something that is not a Kafka {api} response: {detail}")]
    Garbage {
        /// host:port.
        addr: String,
        /// The request's API name.
        api: String,
        /// What is wrong with it.
        detail: String,
    },
    /// The broker does not offer a version of an API that the harness needs.
    #[error("the broker at {addr} does not support {api} {wanted} (it offers {offered}){why}")]
    Unsupported {
        /// host:port.
        addr: String,
        /// The API name.
        api: String,
        /// The versions the harness can use, e.g. `v12`, `v0-v4`.
        wanted: String,
        /// What the broker offers (`none` if the API is missing).
        offered: String,
        /// Why those versions (e.g. `: tv2 needs KIP-890 part 2's Produce v12`), or empty.
        why: String,
    },
    /// The broker answered an administrative request (set-up, metadata, lookup) with an error.
    #[error("{0}")]
    Broker(String),
    /// The broker is still setting something up (a partition's leader, a coordinator loading its
    /// log): retriable for a while.
    #[error("{0} (the broker is not ready)")]
    NotReady(String),
}

/// Kafka's error codes that mean "not yet": a leader or coordinator still being set up.
pub fn is_not_ready(error_code: i16) -> bool {
    const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
    const LEADER_NOT_AVAILABLE: i16 = 5;
    const NOT_LEADER_OR_FOLLOWER: i16 = 6;
    const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;
    const COORDINATOR_NOT_AVAILABLE: i16 = 15;
    const NOT_COORDINATOR: i16 = 16;
    matches!(
        error_code,
        UNKNOWN_TOPIC_OR_PARTITION
            | LEADER_NOT_AVAILABLE
            | NOT_LEADER_OR_FOLLOWER
            | COORDINATOR_LOAD_IN_PROGRESS
            | COORDINATOR_NOT_AVAILABLE
            | NOT_COORDINATOR
    )
}

/// A [`WireError`] for an error code in a response to one of the harness's own reads or set-up
/// requests: [`WireError::NotReady`] for the retriable "not yet" codes.
pub fn refused(what: String, error_code: i16) -> WireError {
    let message = format!("{what}: error code {error_code} ({})", super::client::error_name(error_code));
    if is_not_ready(error_code) {
        WireError::NotReady(message)
    } else {
        WireError::Broker(message)
    }
}

impl WireError {
    /// Whether the broker is gone or unusable (as opposed to refusing one thing): a suite stops on
    /// these rather than reporting every remaining trace as failed.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, WireError::Connect { .. })
    }
}
