//! The records the group coordinator writes to its offsets partition (`__consumer_offsets`):
//! one per committed offset, key = (group, topic, partition), value = the offset. Text, so a log
//! dump reads well; the format is eos's own, not Kafka's binary schema.

use crate::types::{Offset, Record, TopicPartition};

/// One offset commit as a record.
pub fn encode(group: &str, partition: &TopicPartition, offset: Offset) -> Record {
    Record {
        key: Some(format!("offset/{group}/{}/{}", partition.topic, partition.partition).into_bytes()),
        value: offset.to_string().into_bytes(),
    }
}

/// The (group, partition, offset) of a record written by [`encode`].
#[cfg(test)]
pub fn decode(record: &Record) -> Option<(String, TopicPartition, Offset)> {
    let key = std::str::from_utf8(record.key.as_deref()?).ok()?;
    let mut parts = key.splitn(4, '/');
    if parts.next()? != "offset" {
        return None;
    }
    let group = parts.next()?.to_owned();
    let topic = parts.next()?.to_owned();
    let partition = parts.next()?.parse().ok()?;
    let offset = std::str::from_utf8(&record.value).ok()?.parse().ok()?;
    Some((group, TopicPartition::new(topic, partition), offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        // Proves decode inverts encode.
        let record = encode("copier-group", &TopicPartition::input(), 42);
        assert_eq!(decode(&record), Some(("copier-group".to_owned(), TopicPartition::input(), 42)));
        assert_eq!(decode(&Record::value("x")), None);
    }
}
