//! The client's outstanding requests: sent and not yet answered. Each has a stable
//! [`RequestId`] — Kafka's correlation id: the network carries it with the request and the
//! broker's response echoes it, so a response is matched to exactly the request it answers (a
//! late answer to an earlier request with the same fields is not mistaken for the current one).
//! A retry re-sends the same request under the same id. A request is in flight or failed (its
//! request or response was lost; the retry timer re-sends it).

use crate::protocol::Message;
use crate::types::TimestampMs;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A client-local id of one logical request (kept across re-sends).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequestId(pub u64);

/// A request a client puts on the network, with its correlation id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRequest {
    /// The correlation id the response will echo.
    pub id: RequestId,
    /// The request.
    pub message: Message,
    /// How many times a request timeout re-sent this request before (0 for the first send).
    pub resends: u8,
}

/// One outstanding request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutstandingRequest {
    /// Its id.
    pub id: RequestId,
    /// The request as sent (re-sends send it unchanged).
    pub message: Message,
    /// Whether it failed and waits for the retry timer.
    pub failed: bool,
    /// How many times a request timeout re-sent it (each time under a new correlation id).
    pub resends: u8,
    /// When it was last sent.
    pub sent_at_ms: TimestampMs,
    /// When the client made it (its first send, or its wait for the first retry): a Produce's
    /// delivery timeout counts from here (Java's `ProducerBatch.createdMs`). Re-sends keep it.
    pub created_at_ms: TimestampMs,
    /// When it failed (if it did).
    pub failed_at_ms: Option<TimestampMs>,
}

/// The table of outstanding requests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outstanding {
    requests: BTreeMap<RequestId, OutstandingRequest>,
    next_id: u64,
}

impl Outstanding {
    /// Records a newly sent request; returns its id.
    pub fn insert(&mut self, message: Message, now_ms: TimestampMs) -> RequestId {
        debug_assert!(message.request_key().is_some(), "only client requests are outstanding");
        let id = RequestId(self.next_id);
        self.next_id += 1;
        self.requests.insert(
            id,
            OutstandingRequest {
                id,
                message,
                failed: false,
                resends: 0,
                sent_at_ms: now_ms,
                created_at_ms: now_ms,
                failed_at_ms: None,
            },
        );
        id
    }

    /// Puts a request back under its own id (re-sent on CONCURRENT_TRANSACTIONS).
    pub fn reinsert(&mut self, request: OutstandingRequest, now_ms: TimestampMs) {
        let id = request.id;
        self.requests
            .insert(id, OutstandingRequest { failed: false, sent_at_ms: now_ms, failed_at_ms: None, ..request });
    }

    /// Removes and returns the request with correlation id `id` (its response arrived).
    pub fn take(&mut self, id: RequestId) -> Option<OutstandingRequest> {
        self.requests.remove(&id)
    }

    /// Marks the request `id` failed: it or its response was lost.
    pub fn fail(&mut self, id: RequestId, now_ms: TimestampMs) -> bool {
        match self.requests.get_mut(&id).filter(|r| !r.failed) {
            Some(request) => {
                request.failed = true;
                request.failed_at_ms = Some(now_ms);
                true
            }
            None => false,
        }
    }

    /// Whether an outstanding Produce of the same partition, producer id and epoch as `message` has a
    /// lower sequence: an earlier batch still unresolved (Java's `TxnPartitionMap`).
    pub fn has_earlier_unresolved(&self, message: &Message) -> bool {
        let Message::Produce(batch) = message else { return false };
        self.requests.values().any(|r| match &r.message {
            Message::Produce(other) => {
                (&other.partition, other.producer_id, other.producer_epoch)
                    == (&batch.partition, batch.producer_id, batch.producer_epoch)
                    && other.sequence < batch.sequence
            }
            _ => false,
        })
    }

    /// Whether the retry timer re-sends `request` now: it failed and (a Produce) no earlier batch of
    /// its partition is unresolved, since Java re-sends a partition's batches in sequence order
    /// (`RecordAccumulator.shouldStopDrainBatchesForPartition`, `firstInFlightSequence`).
    pub fn retries_now(&self, request: &OutstandingRequest) -> bool {
        request.failed && !self.has_earlier_unresolved(&request.message)
    }

    /// Whether the retry timer would re-send anything now.
    pub fn has_retriable(&self) -> bool {
        self.requests.values().any(|r| self.retries_now(r))
    }

    /// Puts a request back under its own id as failed: it waits for the retry timer (a retriable
    /// Produce error).
    pub fn reinsert_failed(&mut self, request: OutstandingRequest, now_ms: TimestampMs) {
        let id = request.id;
        self.requests.insert(id, OutstandingRequest { failed: true, failed_at_ms: Some(now_ms), ..request });
    }

    /// Removes and returns every outstanding Produce, oldest first.
    pub fn take_produces(&mut self) -> Vec<OutstandingRequest> {
        let ids: Vec<RequestId> =
            self.requests.values().filter(|r| matches!(r.message, Message::Produce(_))).map(|r| r.id).collect();
        ids.into_iter().filter_map(|id| self.requests.remove(&id)).collect()
    }

    /// Records a new request that waits for the retry timer before its first send.
    pub fn insert_failed(&mut self, message: Message, now_ms: TimestampMs) -> RequestId {
        let id = self.insert(message, now_ms);
        self.fail(id, now_ms);
        id
    }

    /// Every failed request that may go now, in flight again (the retry timer); their request
    /// timeouts restart unless `restart_timers` is off (a seeded fault).
    pub fn retry_failed(&mut self, now_ms: TimestampMs, restart_timers: bool) -> Vec<ClientRequest> {
        let due: Vec<RequestId> = self.requests.values().filter(|r| self.retries_now(r)).map(|r| r.id).collect();
        let mut resent = Vec::new();
        for id in due {
            let request = self.requests.get_mut(&id).expect("collected from the map above");
            request.failed = false;
            request.failed_at_ms = None;
            if restart_timers {
                request.sent_at_ms = now_ms;
            }
            resent.push(ClientRequest { id: request.id, message: request.message.clone(), resends: request.resends });
        }
        resent
    }

    /// Re-sends one in-flight request (the request-timeout timer): a duplicate. As a Kafka client
    /// does (the timeout closes the connection), it is sent under a new correlation id, so an answer
    /// to the original, should the broker still process it, is ignored.
    pub fn resend(&mut self, id: RequestId, now_ms: TimestampMs) -> Option<ClientRequest> {
        if self.requests.get(&id).is_none_or(|r| r.failed) {
            return None;
        }
        let old = self.requests.remove(&id).expect("checked above");
        let new_id = RequestId(self.next_id);
        self.next_id += 1;
        let resends = old.resends.saturating_add(1);
        let message = old.message;
        self.requests.insert(
            new_id,
            OutstandingRequest {
                id: new_id,
                message: message.clone(),
                failed: false,
                resends,
                sent_at_ms: now_ms,
                created_at_ms: old.created_at_ms,
                failed_at_ms: None,
            },
        );
        Some(ClientRequest { id: new_id, message, resends })
    }

    /// Gives every request up (abort, crash): their responses will be ignored.
    pub fn clear(&mut self) {
        self.requests.clear();
    }

    /// Every outstanding request, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &OutstandingRequest> {
        self.requests.values()
    }

    /// How many are outstanding.
    pub fn len(&self) -> usize {
        self.requests.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }

    /// The earliest failure time, if any request failed.
    pub fn earliest_failure(&self) -> Option<TimestampMs> {
        self.requests.values().filter_map(|r| r.failed_at_ms).min()
    }
}
