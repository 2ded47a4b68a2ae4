//! The consumer side (KIP-98): fetches a partition and hands the application only data records,
//! dropping control batches and, at read_committed, the records of aborted transactions using
//! the fetch's aborted-transaction list (as Java's `Fetcher` does: a producer's records are
//! dropped from its aborted transaction's first offset until its ABORT marker).

use crate::partition::{FetchRequest, FetchResponse, PartitionLog, RecordBatch};
use crate::types::{IsolationLevel, Offset, ProducerId, Record, TransactionResult};
use std::collections::{BTreeSet, VecDeque};

/// A record handed to the application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumedRecord {
    /// Its offset.
    pub offset: Offset,
    /// The producer that wrote it (-1 if none).
    pub producer_id: ProducerId,
    /// The record.
    pub record: Record,
}

/// Drops control batches and aborted records from a fetch answer; returns the data records at
/// or after `fetch_offset` in offset order.
pub fn filter_records(response: &FetchResponse, fetch_offset: Offset) -> Vec<ConsumedRecord> {
    let mut pending_aborts: VecDeque<_> = {
        let mut list = response.aborted_transactions.clone().unwrap_or_default();
        list.sort_by_key(|txn| (txn.first_offset, txn.producer_id));
        list.into()
    };
    let read_committed = response.aborted_transactions.is_some();
    let mut aborted_producers: BTreeSet<ProducerId> = BTreeSet::new();
    let mut out = Vec::new();
    for batch in &response.batches {
        if batch.last_offset() < fetch_offset {
            continue;
        }
        if read_committed && batch.producer_id >= 0 && is_aborted(batch, &mut pending_aborts, &mut aborted_producers) {
            continue;
        }
        if batch.is_control() {
            continue;
        }
        for (index, record) in batch.records.iter().enumerate() {
            let offset = batch.base_offset + index as i64;
            if offset >= fetch_offset {
                out.push(ConsumedRecord { offset, producer_id: batch.producer_id, record: record.clone() });
            }
        }
    }
    out
}

/// Whether a batch of a producer belongs to an aborted transaction (updating the set of
/// producers currently inside an aborted transaction).
fn is_aborted(
    batch: &RecordBatch,
    pending: &mut VecDeque<crate::partition::AbortedTxn>,
    aborted: &mut BTreeSet<ProducerId>,
) -> bool {
    while pending.front().is_some_and(|txn| txn.first_offset <= batch.last_offset()) {
        let txn = pending.pop_front().expect("peeked");
        aborted.insert(txn.producer_id);
    }
    if let Some(control) = batch.control {
        if control.result == TransactionResult::Abort {
            aborted.remove(&batch.producer_id);
        }
        return true;
    }
    batch.is_transactional && aborted.contains(&batch.producer_id)
}

/// A consumer of one partition with a position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consumer {
    isolation: IsolationLevel,
    position: Offset,
}

impl Consumer {
    /// A consumer at offset `position`.
    pub fn new(isolation: IsolationLevel, position: Offset) -> Self {
        Self { isolation, position }
    }

    /// The next offset it will read.
    pub fn position(&self) -> Offset {
        self.position
    }

    /// Fetches up to `max_batches` from the position and advances past what was returned.
    pub fn poll(
        &mut self,
        log: &PartitionLog,
        max_batches: usize,
    ) -> Result<Vec<ConsumedRecord>, crate::error::ErrorCode> {
        let request = FetchRequest { fetch_offset: self.position, isolation: self.isolation, max_batches };
        let response = log.fetch(&request)?;
        let records = filter_records(&response, self.position);
        self.position = response.next_offset(self.position);
        Ok(records)
    }

    /// Every visible value from offset 0, without moving the position (a reader's view).
    pub fn read_all(
        log: &PartitionLog,
        isolation: IsolationLevel,
    ) -> Result<Vec<ConsumedRecord>, crate::error::ErrorCode> {
        let response = log.fetch(&FetchRequest::from_offset(0, isolation))?;
        Ok(filter_records(&response, 0))
    }
}
