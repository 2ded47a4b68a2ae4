//! What a client can see of a broker (specs/wire-target.md §4), and the model's state projected onto
//! it: the part of the observable state (specs/eos.md §11) that crosses the wire.
//!
//! Per data partition: every log entry a read_uncommitted fetch returns (data records with producer
//! id, epoch, sequence, transactional flag and value; control records with their type and
//! coordinator epoch), the high watermark, the last stable offset, the aborted transactions a
//! read_committed fetch reports, the values a read_committed and a read_uncommitted consumer get,
//! and (DescribeProducers) each producer's state. Per transactional id (DescribeTransactions): state,
//! producer id, epoch and partitions. For each of the copier's groups: the committed offset and whether
//! offsets are pending (UNSTABLE_OFFSET_COMMIT). Producer ids read as the model's (see
//! [`super::mapping`]); coordinator epochs relative to the trace's first.

use eos_model::config::Config;
use eos_model::partition::{LogEntry, PartitionState};
use eos_model::state::State;
use serde::Serialize;

/// Everything a client can see, in the model's terms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WireView {
    /// Per transactional id, when the broker has DescribeTransactions.
    pub transactions: Option<Vec<TransactionView>>,
    /// Per data partition.
    pub partitions: Vec<PartitionView>,
    /// The copier's groups, by group index (none without a copier).
    pub groups: Vec<GroupView>,
}

/// A transactional id as DescribeTransactions shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TransactionView {
    /// `txn-{t}`.
    pub transactional_id: String,
    /// The state (`None`: the coordinator does not know the id).
    pub state: Option<String>,
    /// Producer id.
    pub producer_id: Option<String>,
    /// Producer epoch.
    pub producer_epoch: Option<i16>,
    /// The partitions in the transaction, sorted.
    pub partitions: Vec<String>,
}

/// One log entry as a read_uncommitted fetch returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum EntryView {
    Data { producer_id: Option<String>, epoch: i16, sequence: i32, transactional: bool, value: String },
    Control { producer_id: String, epoch: i16, commit: bool, coordinator_epoch: i32 },
}

/// A producer's state on a partition, as DescribeProducers shows it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[allow(missing_docs)]
pub struct ProducerView {
    pub producer_id: String,
    pub epoch: i16,
    pub last_sequence: Option<i32>,
    pub open_transaction: Option<i64>,
    pub coordinator_epoch: i32,
}

/// A data partition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PartitionView {
    /// `out-{p}`.
    pub partition: String,
    /// Every entry, offset = index.
    pub log: Vec<EntryView>,
    /// High watermark.
    pub high_watermark: i64,
    /// Last stable offset (ListOffsets with read_committed).
    pub last_stable_offset: i64,
    /// (producer id, first offset) of the aborted transactions a read_committed fetch from 0 reports,
    /// sorted by first offset.
    pub aborted: Vec<(String, i64)>,
    /// Producer states, when the broker has DescribeProducers.
    pub producers: Option<Vec<ProducerView>>,
    /// Values a read_committed consumer gets.
    pub read_committed: Vec<String>,
    /// Values a read_uncommitted consumer gets.
    pub read_uncommitted: Vec<String>,
}

/// One of the copier's consumer groups.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupView {
    /// The committed offset of `in-0` (OffsetFetch without require_stable).
    pub committed: Option<i64>,
    /// Whether OffsetFetch with require_stable answers UNSTABLE_OFFSET_COMMIT.
    pub unstable: bool,
}

impl WireView {
    /// The view with every coordinator epoch of a marker read as 0 (-1, "no marker yet", stays):
    /// for traces that realise a failover as a restart, which on a single-node Kafka reloads the
    /// coordinator under the same coordinator epoch where the model's failover bumps it
    /// (specs/wire-target.md §3).
    pub fn without_coordinator_epochs(mut self) -> WireView {
        for p in &mut self.partitions {
            for entry in &mut p.log {
                if let EntryView::Control { coordinator_epoch, .. } = entry {
                    *coordinator_epoch = (*coordinator_epoch).min(0);
                }
            }
            for producer in p.producers.iter_mut().flatten() {
                producer.coordinator_epoch = producer.coordinator_epoch.min(0);
            }
        }
        self
    }
}

/// Which optional parts the broker can show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Visibility {
    /// DescribeTransactions.
    pub transactions: bool,
    /// DescribeProducers.
    pub producers: bool,
}

/// The model's state as a client would see it.
pub fn of_model(state: &State, config: &Config, visible: Visibility) -> WireView {
    let transactions = (visible.transactions && config.producers.transactional).then(|| {
        state
            .coordinator
            .log
            .iter()
            .enumerate()
            .map(|(t, record)| {
                let mut partitions: Vec<String> =
                    record.as_ref().map_or(Vec::new(), |r| r.partitions.iter().map(|p| p.to_string()).collect());
                partitions.sort();
                TransactionView {
                    transactional_id: format!("txn-{t}"),
                    state: record.as_ref().map(|r| format!("{:?}", r.state)),
                    producer_id: record.as_ref().map(|r| r.producer_id.to_string()),
                    producer_epoch: record.as_ref().map(|r| r.producer_epoch),
                    partitions,
                }
            })
            .collect()
    });
    let partitions =
        state.partitions.iter().enumerate().map(|(i, p)| partition_of_model(i, p, visible.producers)).collect();
    let groups = config
        .copier
        .iter()
        .flat_map(|c| c.group_indices())
        .map(|g| GroupView {
            committed: state.group.group(g).committed,
            unstable: !state.group.group(g).pending.is_empty(),
        })
        .collect();
    WireView { transactions, partitions, groups }
}

fn partition_of_model(index: usize, p: &PartitionState, producers: bool) -> PartitionView {
    let lso = p.last_stable_offset();
    let values = |entries: Vec<(i64, &LogEntry)>| -> Vec<String> {
        entries
            .into_iter()
            .filter_map(|(_, e)| match e {
                LogEntry::Data { value, .. } => Some(value.to_string()),
                LogEntry::Control { .. } => None,
            })
            .collect()
    };
    PartitionView {
        partition: format!("out-{index}"),
        log: p.log.iter().map(entry_of_model).collect(),
        high_watermark: p.high_watermark(),
        last_stable_offset: lso,
        // A read_committed fetch reports the aborted transactions that begin below the LSO (a set:
        // compared sorted by first offset).
        aborted: {
            let mut aborted: Vec<(String, i64)> = p
                .aborted
                .iter()
                .filter(|a| a.first_offset < lso)
                .map(|a| (a.producer_id.to_string(), a.first_offset))
                .collect();
            aborted.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
            aborted
        },
        producers: producers.then(|| {
            let mut list: Vec<ProducerView> = p
                .producers
                .iter()
                .map(|(pid, e)| ProducerView {
                    producer_id: pid.to_string(),
                    epoch: e.epoch,
                    last_sequence: e.last_sequence(),
                    open_transaction: e.open_transaction,
                    coordinator_epoch: e.coordinator_epoch,
                })
                .collect();
            list.sort();
            list
        }),
        read_committed: values(p.read_committed()),
        read_uncommitted: values(p.read_uncommitted()),
    }
}

fn entry_of_model(entry: &LogEntry) -> EntryView {
    match entry {
        LogEntry::Data { producer_id, epoch, sequence, transactional, value, .. } => EntryView::Data {
            producer_id: producer_id.map(|p| p.to_string()),
            epoch: *epoch,
            sequence: *sequence,
            transactional: *transactional,
            value: value.to_string(),
        },
        LogEntry::Control { producer_id, epoch, commit, coordinator_epoch, .. } => EntryView::Control {
            producer_id: producer_id.to_string(),
            epoch: *epoch,
            commit: *commit,
            coordinator_epoch: *coordinator_epoch,
        },
    }
}
