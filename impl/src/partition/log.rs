//! Record batches as a partition log stores them (Kafka's RecordBatch v2 without the byte
//! layout): a base offset, the producer id / epoch / base sequence, the transactional flag, and
//! either data records or one control record (a COMMIT or ABORT marker with the coordinator
//! epoch, KIP-98). Also the per-offset view the conformance harness compares (specs section 11).

use crate::types::{CoordinatorEpoch, Offset, ProducerEpoch, ProducerId, Record, Sequence, TransactionResult};
use serde::{Deserialize, Serialize};

/// The control record of a marker batch: key = (version 0, type), value = (version 0,
/// coordinator epoch).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ControlRecord {
    /// COMMIT or ABORT.
    pub result: TransactionResult,
    /// The epoch of the coordinator that wrote it.
    pub coordinator_epoch: CoordinatorEpoch,
}

/// One batch in a partition log.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RecordBatch {
    /// Offset of the first record.
    pub base_offset: Offset,
    /// Producer id, -1 for a non-idempotent producer.
    pub producer_id: ProducerId,
    /// Producer epoch, -1 for a non-idempotent producer.
    pub producer_epoch: ProducerEpoch,
    /// Sequence of the first record, -1 if none.
    pub base_sequence: Sequence,
    /// Whether the batch belongs to a transaction (markers are transactional too).
    pub is_transactional: bool,
    /// The marker, for a control batch.
    pub control: Option<ControlRecord>,
    /// The data records (empty for a control batch).
    pub records: Vec<Record>,
}

impl RecordBatch {
    /// How many offsets the batch occupies.
    pub fn record_count(&self) -> i64 {
        if self.control.is_some() {
            1
        } else {
            self.records.len() as i64
        }
    }

    /// Offset of the last record.
    pub fn last_offset(&self) -> Offset {
        self.base_offset + self.record_count() - 1
    }

    /// Offset just after the batch.
    pub fn next_offset(&self) -> Offset {
        self.base_offset + self.record_count()
    }

    /// Whether this is a control (marker) batch.
    pub fn is_control(&self) -> bool {
        self.control.is_some()
    }

    /// The per-offset entries of this batch.
    pub fn entries(&self) -> Vec<LogEntry> {
        if let Some(control) = self.control {
            return vec![LogEntry::Control {
                offset: self.base_offset,
                producer_id: self.producer_id,
                producer_epoch: self.producer_epoch,
                commit: control.result.is_commit(),
                coordinator_epoch: control.coordinator_epoch,
            }];
        }
        self.records
            .iter()
            .enumerate()
            .map(|(index, record)| {
                let index = index as i64;
                LogEntry::Data {
                    offset: self.base_offset + index,
                    producer_id: self.producer_id,
                    producer_epoch: self.producer_epoch,
                    sequence: if self.base_sequence < 0 {
                        self.base_sequence
                    } else {
                        self.base_sequence + index as i32
                    },
                    transactional: self.is_transactional,
                    value: record.value_text(),
                }
            })
            .collect()
    }
}

/// One offset of a partition log, as specs/eos.md section 11 observes it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LogEntry {
    /// A data record.
    Data {
        /// Its offset.
        offset: Offset,
        /// Producer id (-1 if none).
        producer_id: ProducerId,
        /// Producer epoch (-1 if none).
        producer_epoch: ProducerEpoch,
        /// Its sequence (-1 if none).
        sequence: Sequence,
        /// Whether it is transactional.
        transactional: bool,
        /// The value as text.
        value: String,
    },
    /// A control record (transaction marker).
    Control {
        /// Its offset.
        offset: Offset,
        /// Producer id of the transaction.
        producer_id: ProducerId,
        /// Producer epoch of the marker.
        producer_epoch: ProducerEpoch,
        /// COMMIT (true) or ABORT (false).
        commit: bool,
        /// The coordinator epoch it carries.
        coordinator_epoch: CoordinatorEpoch,
    },
}
