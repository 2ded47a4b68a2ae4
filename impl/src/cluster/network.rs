//! The in-process network: an unordered multiset of in-flight messages, each with a stable id,
//! its sender and its receiver. Nothing moves unless the driver delivers or loses a message
//! (specs/eos.md sections 9 and 10).

use crate::client::RequestId;
use crate::protocol::{Endpoint, Message, Outgoing};
use crate::types::ClientId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The stable id of an in-flight message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageId(pub u64);

/// A message on its way.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InFlight {
    /// Its id.
    pub id: MessageId,
    /// Who sent it.
    pub source: Endpoint,
    /// Who receives it.
    pub destination: Endpoint,
    /// The message.
    pub message: Message,
    /// Kafka's correlation id: set on a client's request, echoed on the broker's response to it.
    pub correlation: Option<RequestId>,
}

/// The messages in flight, by id (ids grow with sending order).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Network {
    messages: BTreeMap<MessageId, InFlight>,
    /// Every client request by (client, correlation id): what a response in flight answers, also
    /// after the client gave the request up, and how many request timeouts re-sent it before
    /// (introspection only; the clients keep their own table).
    requests: BTreeMap<(ClientId, RequestId), (Message, u8)>,
    next_id: u64,
}

impl Network {
    /// Puts a message in flight; returns its id.
    pub fn send(&mut self, outgoing: Outgoing, correlation: Option<RequestId>) -> MessageId {
        self.send_request(outgoing, correlation, 0)
    }

    /// Puts a client's request in flight, re-sent `resends` times by request timeouts before.
    pub fn send_request(&mut self, outgoing: Outgoing, correlation: Option<RequestId>, resends: u8) -> MessageId {
        let id = MessageId(self.next_id);
        self.next_id += 1;
        if let (Endpoint::Client(client), Some(request)) = (&outgoing.source, correlation) {
            self.requests.entry((*client, request)).or_insert_with(|| (outgoing.message.clone(), resends));
        }
        let Outgoing { source, destination, message } = outgoing;
        self.messages.insert(id, InFlight { id, source, destination, message, correlation });
        id
    }

    /// The request client `client` sent under correlation id `request`.
    pub fn request_of(&self, client: ClientId, request: RequestId) -> Option<&Message> {
        self.requests.get(&(client, request)).map(|(message, _)| message)
    }

    /// How many times request timeouts had re-sent the request `client` sent under `request`.
    pub fn resends_of(&self, client: ClientId, request: RequestId) -> Option<u8> {
        self.requests.get(&(client, request)).map(|(_, resends)| *resends)
    }

    /// Takes a message out of the network.
    pub fn take(&mut self, id: MessageId) -> Option<InFlight> {
        self.messages.remove(&id)
    }

    /// A message in flight.
    pub fn get(&self, id: MessageId) -> Option<&InFlight> {
        self.messages.get(&id)
    }

    /// Every message in flight, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &InFlight> {
        self.messages.values()
    }

    /// How many are in flight.
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }
}
