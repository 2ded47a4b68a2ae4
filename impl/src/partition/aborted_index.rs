//! The aborted-transaction index of a partition (KIP-98, Kafka's `.txnindex`): one entry per
//! aborted transaction, `(producer_id, first_offset, last_offset)` where `last_offset` is the
//! ABORT marker's offset, in marker order. read_committed fetches return the entries that overlap
//! the fetched range so the consumer can drop those records.

use crate::types::{Offset, ProducerId};
use serde::{Deserialize, Serialize};

/// One aborted transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AbortedTxn {
    /// The producer whose transaction aborted.
    pub producer_id: ProducerId,
    /// Offset of the transaction's first record on this partition.
    pub first_offset: Offset,
    /// Offset of the ABORT marker.
    pub last_offset: Offset,
}

/// The index, in marker order (so `last_offset` increases).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AbortedIndex {
    entries: Vec<AbortedTxn>,
}

impl AbortedIndex {
    /// Adds the transaction ended by the ABORT marker at `entry.last_offset`.
    pub fn push(&mut self, entry: AbortedTxn) {
        assert!(entry.first_offset < entry.last_offset, "a transaction's records precede its marker");
        if let Some(previous) = self.entries.last() {
            assert!(previous.last_offset < entry.last_offset, "entries are added in marker order");
        }
        self.entries.push(entry);
    }

    /// Every entry, in marker order.
    pub fn entries(&self) -> &[AbortedTxn] {
        &self.entries
    }

    /// The aborted transactions overlapping `[start, upper_bound)`: those that end at or after
    /// `start` and begin before `upper_bound` (Kafka's `collectAbortedTransactions`).
    pub fn overlapping(&self, start: Offset, upper_bound: Offset) -> Vec<AbortedTxn> {
        // Entries are ordered by last_offset: skip those that ended before `start`.
        let from = self.entries.partition_point(|entry| entry.last_offset < start);
        self.entries[from..].iter().filter(|entry| entry.first_offset < upper_bound).copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_selects_entries_that_touch_the_range() {
        // Proves the range query returns exactly the transactions overlapping [start, upper).
        let mut index = AbortedIndex::default();
        index.push(AbortedTxn { producer_id: 1, first_offset: 0, last_offset: 2 });
        index.push(AbortedTxn { producer_id: 2, first_offset: 1, last_offset: 5 });
        index.push(AbortedTxn { producer_id: 3, first_offset: 6, last_offset: 9 });
        let pids = |v: Vec<AbortedTxn>| v.into_iter().map(|e| e.producer_id).collect::<Vec<_>>();
        assert_eq!(pids(index.overlapping(0, 100)), vec![1, 2, 3]);
        assert_eq!(pids(index.overlapping(3, 6)), vec![2]);
        assert_eq!(pids(index.overlapping(3, 7)), vec![2, 3]);
        assert_eq!(pids(index.overlapping(10, 100)), Vec::<i64>::new());
    }
}
