//! Fetch (KIP-98 isolation levels): read_uncommitted returns batches up to the high watermark;
//! read_committed returns batches below the last stable offset together with the aborted
//! transactions that overlap the returned range, which the consumer uses to drop aborted records
//! (client/consumer.rs). Control batches are returned too; consumers never hand them to the
//! application.

use super::aborted_index::AbortedTxn;
use super::log::RecordBatch;
use crate::types::{IsolationLevel, Offset};
use serde::{Deserialize, Serialize};

/// A fetch of one partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchRequest {
    /// The first offset wanted.
    pub fetch_offset: Offset,
    /// The isolation level.
    pub isolation: IsolationLevel,
    /// At most this many batches (a bound on every read).
    pub max_batches: usize,
}

impl FetchRequest {
    /// Everything from `fetch_offset` at `isolation`.
    pub fn from_offset(fetch_offset: Offset, isolation: IsolationLevel) -> Self {
        Self { fetch_offset, isolation, max_batches: usize::MAX }
    }
}

/// The answer to a [`FetchRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchResponse {
    /// The partition's high watermark.
    pub high_watermark: Offset,
    /// The partition's last stable offset.
    pub last_stable_offset: Offset,
    /// Batches in offset order, data and control.
    pub batches: Vec<RecordBatch>,
    /// read_committed only: aborted transactions overlapping the returned range.
    pub aborted_transactions: Option<Vec<AbortedTxn>>,
}

impl FetchResponse {
    /// The offset just after the last returned batch (or the fetch offset if none).
    pub fn next_offset(&self, fetch_offset: Offset) -> Offset {
        self.batches.last().map_or(fetch_offset, |batch| batch.next_offset().max(fetch_offset))
    }
}
