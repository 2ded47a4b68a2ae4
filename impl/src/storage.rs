//! The storage under the logs: an append-only sequence of entries, addressed by position.
//! Partition logs store record batches on it and the transaction coordinator stores its
//! transaction log on it (KIP-98's `__transaction_state`). The core calls it synchronously and
//! treats a failure as an input (an error answer), never a panic, so a later issue can put
//! durable segment files (CRC32C, fsync policy, recovery) behind the same trait.

use std::fmt::Debug;
use std::ops::ControlFlow;

/// A storage failure (I/O, corruption). The core turns it into an error answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("storage failure: {0}")]
pub struct StorageError(pub String);

/// An append-only log of entries of type `T`.
pub trait LogStorage<T>: Debug {
    /// Appends one entry and returns its position (0-based, dense).
    fn append(&mut self, entry: T) -> Result<u64, StorageError>;

    /// The number of entries.
    fn len(&self) -> u64;

    /// Whether the log has no entries.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Visits entries from position `from` in order until `visit` breaks or the log ends.
    fn scan(&self, from: u64, visit: &mut dyn FnMut(u64, &T) -> ControlFlow<()>) -> Result<(), StorageError>;
}

/// Opens logs: one per partition and one transaction log. The in-process cluster keeps the
/// opened logs across a coordinator failover (they are the durable part).
pub trait Storage: Debug {
    /// Opens (or creates) the log of a partition.
    fn open_partition_log(
        &mut self,
        partition: &crate::types::TopicPartition,
    ) -> Box<dyn LogStorage<crate::partition::RecordBatch>>;

    /// Opens (or creates) the transaction log.
    fn open_transaction_log(&mut self) -> Box<dyn LogStorage<crate::coordinator::TxnLogRecord>>;
}

/// Entries per in-memory segment (a log grows by whole segments, never by copying entries).
const SEGMENT_ENTRIES: usize = 4096;

/// An in-memory log: fixed-size segments of entries, like a log's segment files, so appends
/// never move earlier entries.
#[derive(Debug, Clone)]
pub struct MemoryLog<T> {
    segments: Vec<Vec<T>>,
    len: u64,
    /// Test hook: fail every append from this position on.
    fail_appends_from: Option<u64>,
}

impl<T> Default for MemoryLog<T> {
    fn default() -> Self {
        Self { segments: Vec::new(), len: 0, fail_appends_from: None }
    }
}

impl<T> MemoryLog<T> {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty log whose appends fail once it holds `position` entries (for testing the
    /// append-failure paths).
    pub fn failing_from(position: u64) -> Self {
        Self { fail_appends_from: Some(position), ..Self::default() }
    }
}

impl<T: Debug> LogStorage<T> for MemoryLog<T> {
    fn append(&mut self, entry: T) -> Result<u64, StorageError> {
        let position = self.len;
        if self.fail_appends_from.is_some_and(|limit| position >= limit) {
            return Err(StorageError(format!("injected failure at position {position}")));
        }
        match self.segments.last_mut() {
            Some(segment) if segment.len() < SEGMENT_ENTRIES => segment.push(entry),
            _ => {
                let mut segment = Vec::with_capacity(SEGMENT_ENTRIES);
                segment.push(entry);
                self.segments.push(segment);
            }
        }
        self.len += 1;
        Ok(position)
    }

    fn len(&self) -> u64 {
        self.len
    }

    fn scan(&self, from: u64, visit: &mut dyn FnMut(u64, &T) -> ControlFlow<()>) -> Result<(), StorageError> {
        let start = usize::try_from(from).unwrap_or(usize::MAX);
        let mut position = start - start % SEGMENT_ENTRIES;
        for segment in self.segments.iter().skip(start / SEGMENT_ENTRIES) {
            for entry in segment {
                if position >= start && visit(position as u64, entry).is_break() {
                    return Ok(());
                }
                position += 1;
            }
        }
        Ok(())
    }
}

/// In-memory storage: every log is a [`MemoryLog`].
#[derive(Debug, Default, Clone)]
pub struct MemoryStorage;

impl Storage for MemoryStorage {
    fn open_partition_log(
        &mut self,
        _partition: &crate::types::TopicPartition,
    ) -> Box<dyn LogStorage<crate::partition::RecordBatch>> {
        Box::new(MemoryLog::new())
    }

    fn open_transaction_log(&mut self) -> Box<dyn LogStorage<crate::coordinator::TxnLogRecord>> {
        Box::new(MemoryLog::new())
    }
}

/// Reads every entry of a log into a vector (recovery and introspection).
pub fn read_all<T: Clone>(log: &dyn LogStorage<T>) -> Result<Vec<T>, StorageError> {
    let mut entries = Vec::with_capacity(usize::try_from(log.len()).unwrap_or(0));
    log.scan(0, &mut |_, entry| {
        entries.push(entry.clone());
        ControlFlow::Continue(())
    })?;
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_log_appends_densely_and_scans_in_order() {
        // Proves positions are dense from 0 and scan visits from a position in order, stopping on Break.
        let mut log = MemoryLog::new();
        for value in 10..15 {
            let position = log.append(value).expect("memory append never fails");
            assert_eq!(position, (value - 10) as u64);
        }
        let mut seen = Vec::new();
        log.scan(2, &mut |position, value| {
            seen.push((position, *value));
            if *value == 13 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .expect("scan");
        assert_eq!(seen, vec![(2, 12), (3, 13)]);
        assert_eq!(read_all(&log).expect("read"), vec![10, 11, 12, 13, 14]);
    }

    #[test]
    fn scan_crosses_segment_boundaries() {
        // Proves positions stay dense and scans start mid-segment across several segments.
        let mut log = MemoryLog::new();
        let total = SEGMENT_ENTRIES as u64 * 2 + 3;
        for value in 0..total {
            assert_eq!(log.append(value), Ok(value));
        }
        let from = SEGMENT_ENTRIES as u64 - 1;
        let mut seen = Vec::new();
        log.scan(from, &mut |position, value| {
            assert_eq!(position, *value);
            seen.push(*value);
            ControlFlow::Continue(())
        })
        .expect("scan");
        assert_eq!(seen.len() as u64, total - from);
        assert_eq!(seen.first(), Some(&from));
    }

    #[test]
    fn injected_failure_rejects_appends() {
        // Proves the failure hook fails appends from the given position and leaves the log unchanged.
        let mut log = MemoryLog::failing_from(1);
        assert_eq!(log.append(1), Ok(0));
        assert!(log.append(2).is_err());
        assert_eq!(log.len(), 1);
    }
}
