//! A trace's topics on the broker: created fresh before it runs (so offsets start at 0, as in the
//! model), deleted after it, so a long suite does not fill a shared broker.

use super::connection::Connection;
use super::error::WireError;
use super::versions::Versions;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::{CreateTopicsRequest, DeleteTopicsRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use std::time::Duration;

/// Creates `topics` (name, partitions), one replica each, waiting up to `timeout` on the broker.
pub fn create_topics(
    connection: &mut Connection,
    versions: &Versions,
    topics: &[(String, i32)],
    timeout: Duration,
) -> Result<(), WireError> {
    let mut request = CreateTopicsRequest::default();
    request.timeout_ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    request.topics = topics
        .iter()
        .map(|(name, partitions)| {
            let mut topic = CreatableTopic::default();
            topic.name = TopicName(StrBytes::from_string(name.clone()));
            topic.num_partitions = *partitions;
            topic.replication_factor = 1;
            topic
        })
        .collect();
    let response = connection.call(&request, versions.create_topics)?;
    for (name, _) in topics {
        let result = response.topics.iter().find(|t| t.name.0.as_str() == name);
        match result {
            Some(t) if t.error_code == 0 => {}
            Some(t) => {
                let message = t.error_message.as_ref().map_or("", |m| m.as_str());
                return Err(WireError::Broker(format!(
                    "{}: creating topic {name} failed with error code {} {message}",
                    connection.addr(),
                    t.error_code
                )));
            }
            None => {
                return Err(WireError::Broker(format!("{}: CreateTopics did not answer for {name}", connection.addr())))
            }
        }
    }
    Ok(())
}

/// Deletes `topics` (best effort: a broker without DeleteTopics keeps them).
pub fn delete_topics(connection: &mut Connection, versions: &Versions, topics: &[String]) -> Result<(), WireError> {
    let Some(version) = versions.delete_topics else { return Ok(()) };
    let mut request = DeleteTopicsRequest::default();
    request.timeout_ms = 5_000;
    request.topic_names = topics.iter().map(|t| TopicName(StrBytes::from_string(t.clone()))).collect();
    connection.call(&request, version).map(drop)
}
