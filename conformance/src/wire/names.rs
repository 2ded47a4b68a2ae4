//! The names a trace uses on a real broker. Every trace gets its own prefix, so its topics,
//! transactional ids and consumer group are fresh: traces are independent, a suite can share one
//! long-lived broker, and offsets start at 0 as in the model.

use eos_model::types::{group_name, GroupIndex, PartitionIndex, TxnId};

/// The broker-side names of one trace's model identifiers (specs/eos.md §1, prefixed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Names {
    /// Prepended to every name, e.g. `eos-1796010270-3f2a-17-`.
    pub prefix: String,
}

impl Names {
    /// The names of trace `index` of run `run`.
    pub fn new(run: &str, index: usize) -> Names {
        Names { prefix: format!("{run}-{index}-") }
    }

    /// Topic `out`, whose partitions are the model's data partitions.
    pub fn out(&self) -> String {
        format!("{}out", self.prefix)
    }

    /// Topic `in`, whose partition 0 the copier's offsets are committed for.
    pub fn input(&self) -> String {
        format!("{}in", self.prefix)
    }

    /// Transactional id `txn-{t}`.
    pub fn txn(&self, txn: TxnId) -> String {
        format!("{}txn-{txn}", self.prefix)
    }

    /// The copier's consumer group `group` (`copier-group`, `copier-group-{g}`).
    pub fn group(&self, group: GroupIndex) -> String {
        format!("{}{}", self.prefix, group_name(group))
    }

    /// The model's name for a topic partition of this trace: `out-{p}`, `in-0`, or the broker's
    /// name when it is none of the trace's (so a stray partition shows up in a diff as what it is).
    pub fn model_partition(&self, topic: &str, partition: i32) -> String {
        match topic.strip_prefix(&self.prefix) {
            Some("out") => format!("out-{partition}"),
            Some("in") => format!("in-{partition}"),
            _ if topic == "__consumer_offsets" => "__consumer_offsets-0".to_string(),
            _ => format!("{topic}-{partition}"),
        }
    }

    /// The model's transactional id index of a broker-side transactional id of this trace.
    pub fn model_txn(&self, transactional_id: &str) -> Option<TxnId> {
        transactional_id.strip_prefix(&self.prefix)?.strip_prefix("txn-")?.parse().ok()
    }

    /// The partition index on the broker of the model's data partition.
    pub fn partition(partition: PartitionIndex) -> i32 {
        i32::from(partition)
    }
}

/// A prefix for a run: `eos-{seconds since the epoch}-{process id}`, unique per process and second.
pub fn run_prefix() -> String {
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    format!("eos-{seconds}-{}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names are prefixed per trace and map back to the model's names; foreign names stay visible.
    #[test]
    fn names_round_trip() {
        let n = Names::new("eos-1-2", 7);
        assert_eq!(n.out(), "eos-1-2-7-out");
        assert_eq!(n.txn(1), "eos-1-2-7-txn-1");
        assert_eq!(n.model_partition(&n.out(), 1), "out-1");
        assert_eq!(n.model_partition(&n.input(), 0), "in-0");
        assert_eq!(n.model_partition("__consumer_offsets", 3), "__consumer_offsets-0");
        assert_eq!(n.model_partition("eos-1-2-8-out", 0), "eos-1-2-8-out-0");
        assert_eq!(n.model_txn("eos-1-2-7-txn-1"), Some(1));
        assert_eq!(n.model_txn("eos-1-2-8-txn-1"), None);
        assert_eq!((n.group(0), n.group(1)), ("eos-1-2-7-copier-group".into(), "eos-1-2-7-copier-group-1".into()));
    }
}
