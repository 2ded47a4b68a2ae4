//! Producer-id allocation (KIP-98; Kafka's `ProducerIdManager`, which takes blocks from the
//! controller). Ids are sequential from `first_producer_id`, in request order. The manager
//! belongs to the controller, so it survives a coordinator failover and ids are never reused.

use crate::types::ProducerId;

/// Hands out producer ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducerIdManager {
    next: ProducerId,
}

impl ProducerIdManager {
    /// Ids from `first` on.
    pub fn new(first: ProducerId) -> Self {
        assert!(first >= 0, "producer ids are non-negative");
        Self { next: first }
    }

    /// The next id.
    pub fn generate(&mut self) -> ProducerId {
        let id = self.next;
        self.next = self.next.checked_add(1).expect("producer ids do not run out");
        id
    }

    /// The id the next call will return.
    #[cfg(test)]
    pub fn peek(&self) -> ProducerId {
        self.next
    }
}
