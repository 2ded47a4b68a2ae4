//! The last stable offset (KIP-98): the first offset of the earliest transaction still open on the
//! partition, or the high watermark when none is. read_committed consumers read only below it.
//! Kept as an ordered map from each open transaction's first offset to its producer, so the LSO
//! is the smallest key.

use crate::types::{Offset, ProducerId};
use std::collections::BTreeMap;

/// The open transactions of a partition, by first offset.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpenTransactions {
    by_first_offset: BTreeMap<Offset, ProducerId>,
}

impl OpenTransactions {
    /// Records that `producer_id` opened a transaction at `first_offset`.
    pub fn open(&mut self, first_offset: Offset, producer_id: ProducerId) {
        let previous = self.by_first_offset.insert(first_offset, producer_id);
        assert!(previous.is_none(), "two transactions cannot start at one offset");
    }

    /// Records that the transaction of `producer_id` that began at `first_offset` closed.
    pub fn close(&mut self, first_offset: Offset, producer_id: ProducerId) {
        let removed = self.by_first_offset.remove(&first_offset);
        assert_eq!(removed, Some(producer_id), "closing a transaction that is open");
    }

    /// The first offset of the earliest open transaction.
    pub fn earliest(&self) -> Option<Offset> {
        self.by_first_offset.keys().next().copied()
    }

    /// The last stable offset given the high watermark.
    pub fn last_stable_offset(&self, high_watermark: Offset) -> Offset {
        let lso = self.earliest().map_or(high_watermark, |first| first.min(high_watermark));
        debug_assert!(lso <= high_watermark);
        lso
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lso_is_the_earliest_open_first_offset_else_the_high_watermark() {
        // Proves LSO = min(first offset of open transactions) and = HW when none is open.
        let mut open = OpenTransactions::default();
        assert_eq!(open.last_stable_offset(4), 4);
        open.open(2, 10);
        open.open(5, 11);
        assert_eq!(open.last_stable_offset(8), 2);
        open.close(2, 10);
        assert_eq!(open.last_stable_offset(8), 5);
        open.close(5, 11);
        assert_eq!(open.last_stable_offset(8), 8);
    }
}
