//! Helpers shared by the integration tests: building clusters and delivering chosen messages.

use eos_broker::client::ClientConfig;
use eos_broker::cluster::{Cluster, ClusterConfig, InFlight, MessageId};
use eos_broker::{ClientId, IsolationLevel, Message, ProtocolMode, TopicPartition};

/// A cluster with `partitions` partitions and the given clients.
pub fn cluster(protocol: ProtocolMode, partitions: i32, clients: Vec<ClientConfig>) -> Cluster {
    Cluster::new(ClusterConfig { protocol, partitions, input_records: 4, clients, ..ClusterConfig::default() })
}

/// The id of the oldest in-flight message matching `predicate`.
pub fn find(cluster: &Cluster, predicate: impl Fn(&InFlight) -> bool) -> Option<MessageId> {
    cluster.in_flight().find(|m| predicate(m)).map(|m| m.id)
}

/// Delivers the oldest in-flight message matching `predicate` (panics if none: a test bug).
pub fn deliver(cluster: &mut Cluster, predicate: impl Fn(&InFlight) -> bool) -> Vec<MessageId> {
    let id = find(cluster, predicate).expect("a matching message is in flight");
    cluster.deliver(id).expect("deliverable")
}

/// Delivers the oldest in-flight message of this kind.
pub fn deliver_kind(cluster: &mut Cluster, kind: &str) -> Vec<MessageId> {
    deliver(cluster, |m| m.message.kind() == kind)
}

/// Delivers messages (oldest first) until none matches `predicate`.
pub fn deliver_while(cluster: &mut Cluster, predicate: impl Fn(&InFlight) -> bool) {
    for _ in 0..10_000 {
        match find(cluster, &predicate) {
            Some(id) => {
                cluster.deliver(id).expect("deliverable");
            }
            None => return,
        }
    }
    panic!("delivery did not settle");
}

/// Delivers everything except messages matching `hold`.
pub fn deliver_all_but(cluster: &mut Cluster, hold: impl Fn(&InFlight) -> bool) {
    deliver_while(cluster, |m| !hold(m));
}

/// Delivers everything.
pub fn settle(cluster: &mut Cluster) {
    cluster.run_until_quiet(10_000);
    assert_eq!(cluster.in_flight().count(), 0, "settled");
}

/// Starts a client and delivers until it is initialised.
pub fn start(cluster: &mut Cluster, client: ClientId) {
    cluster.start(client).expect("start");
    settle(cluster);
}

/// `client` sends `value` to `out-partition` and it is acknowledged; then the client commits and the
/// EndTxn is delivered: the commit is decided, its markers in flight.
pub fn decide_commit(cluster: &mut Cluster, client: ClientId, partition: i32, value: &str) {
    cluster.send(client, partition, value).expect("send");
    settle(cluster);
    cluster.commit(client).expect("commit");
    deliver(cluster, |m| m.message.kind() == "EndTxn");
}

/// `client` commits a transaction of one record, `value` on `out-partition`, and everything settles.
pub fn commit_one(cluster: &mut Cluster, client: ClientId, partition: i32, value: &str) {
    decide_commit(cluster, client, partition, value);
    settle(cluster);
}

/// Values a reader sees on `out-p`.
pub fn read(cluster: &Cluster, partition: i32, isolation: IsolationLevel) -> Vec<String> {
    cluster.read(&TopicPartition::output(partition), isolation)
}

/// Committed values on `out-p`.
pub fn committed(cluster: &Cluster, partition: i32) -> Vec<String> {
    read(cluster, partition, IsolationLevel::ReadCommitted)
}

/// Whether an in-flight message is a Produce carrying `value`.
pub fn is_produce_of(m: &InFlight, value: &str) -> bool {
    matches!(&m.message, Message::Produce(p) if p.records.iter().any(|r| r.value == value.as_bytes()))
}

/// A transactional producer's config.
pub fn producer(transactional_id: &str) -> ClientConfig {
    ClientConfig::transactional(transactional_id)
}
