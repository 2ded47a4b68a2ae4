//! The invariants (specs section 12) checked after every step and at the end of a run.

use super::driver::{Promise, Run};
use eos_broker::client::Consumer;
use eos_broker::cluster::Timer;
use eos_broker::partition::LogEntry;
use eos_broker::{IsolationLevel, TopicPartition, TxnState};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

impl Run {
    /// The invariants checked after every step.
    pub(crate) fn check_step(&mut self) -> Result<(), TestCaseError> {
        let mut outcomes: Outcomes = BTreeMap::new();
        for p in 0..self.cluster.config().partitions {
            self.check_partition(p, &mut outcomes)?;
        }
        if self.promise == Promise::Full {
            for (attempt, results) in &outcomes {
                // atomicity
                prop_assert!(results.len() <= 1, "attempt {:?} is torn: {:?}", attempt, results);
                // no_lost_committed_write
                if self.tracker.commit_acknowledged.contains(attempt) {
                    prop_assert!(
                        !results.contains(&false),
                        "attempt {:?} was acknowledged committed but aborted",
                        attempt
                    );
                }
            }
            if self.copier {
                self.check_copier(false)?;
            }
        }
        Ok(())
    }

    /// One partition's invariants; adds the outcomes of its decided records to `outcomes`.
    fn check_partition(&mut self, p: i32, outcomes: &mut Outcomes) -> Result<(), TestCaseError> {
        let view = self.cluster.partition_view(&TopicPartition::output(p)).expect("partition");
        // lso_bounded_and_monotone
        prop_assert!(view.last_stable_offset <= view.high_watermark, "LSO > HW on out-{}", p);
        let last = self.tracker.lso.insert(p, view.last_stable_offset).unwrap_or(0);
        prop_assert!(view.last_stable_offset >= last, "LSO decreased on out-{}", p);
        check_log(p, &view.log)?;
        let decided = decisions(&view.log);
        // consumer_sees_only_committed (judged by the log)
        let log = self.cluster.broker().partition(&TopicPartition::output(p)).expect("partition");
        let reader = Consumer::read_all(log, IsolationLevel::ReadCommitted).expect("fetch");
        for record in &reader {
            prop_assert!(record.offset < view.last_stable_offset, "read_committed above the LSO");
            if record.producer_id >= 0 {
                let outcome = decided.get(&record.offset).copied();
                prop_assert_eq!(
                    outcome,
                    Some(true),
                    "read_committed returned an undecided/aborted record at {}",
                    record.offset
                );
            }
        }
        for entry in &view.log {
            let LogEntry::Data { offset, producer_id, producer_epoch, sequence, transactional: true, .. } = entry
            else {
                continue;
            };
            let owner = self.tracker.produced.get(&(p, *producer_id, *producer_epoch, *sequence));
            if let (Some(owner), Some(commit)) = (owner, decided.get(offset)) {
                outcomes.entry(*owner).or_default().insert(*commit);
            }
        }
        Ok(())
    }

    /// copier_exactly_once: no input copied twice into the committed output; when no transaction
    /// is being decided, the output is exactly the inputs below the committed offset.
    pub(crate) fn check_copier(&self, terminal: bool) -> Result<(), TestCaseError> {
        let mut output: Vec<String> = (0..self.cluster.config().partitions)
            .flat_map(|p| self.cluster.read(&TopicPartition::output(p), IsolationLevel::ReadCommitted))
            .collect();
        output.sort();
        let distinct: BTreeSet<&String> = output.iter().collect();
        prop_assert_eq!(distinct.len(), output.len(), "an input was copied twice: {:?}", output);
        let deciding = self.cluster.coordinator_view().transactions.values().any(|t| t.state.is_prepare());
        if !deciding || terminal {
            let committed = self.cluster.group_view().committed.get(&TopicPartition::input()).copied().unwrap_or(0);
            let mut expected: Vec<String> = (0..committed).map(|n| format!("in-{n}")).collect();
            expected.sort();
            prop_assert_eq!(output, expected, "output disagrees with the committed offset {}", committed);
        }
        Ok(())
    }

    /// Delivers everything, retries, and times out every transaction left open; then checks the
    /// terminal properties (specs 12, liveness judged at terminal states).
    pub(crate) fn drain_and_check(&mut self) -> Result<(), TestCaseError> {
        for _ in 0..50 {
            self.cluster.run_until_quiet(5_000);
            let timeout =
                self.cluster.timers().into_iter().find(|(t, _)| matches!(t, Timer::TransactionTimeout { .. }));
            match timeout {
                Some((timer, _)) => {
                    self.cluster.fire(&timer).expect("armed");
                }
                None => break,
            }
            self.check_step()?;
        }
        self.check_step()?;
        if self.copier && self.promise == Promise::Full {
            self.finish_copy()?;
        }
        prop_assert_eq!(self.cluster.in_flight().count(), 0, "network drained");
        if self.promise == Promise::Full {
            for (id, txn) in self.cluster.coordinator_view().transactions {
                // prepare_completes, ongoing_ends
                prop_assert!(
                    !txn.state.is_prepare() && txn.state != TxnState::Ongoing,
                    "{} left in {:?}",
                    id,
                    txn.state
                );
            }
            for p in 0..self.cluster.config().partitions {
                let view = self.cluster.partition_view(&TopicPartition::output(p)).expect("partition");
                // lso_advances / no_hanging_transaction
                prop_assert_eq!(view.last_stable_offset, view.high_watermark, "out-{} has a hanging transaction", p);
            }
            prop_assert!(self.cluster.group_view().pending.is_empty(), "offsets left pending");
            if self.copier {
                self.check_copier(true)?;
            }
        }
        Ok(())
    }
}

/// The decisions seen for each (client, attempt): true = COMMIT.
type Outcomes = BTreeMap<(usize, u32), BTreeSet<bool>>;

/// idempotence and fenced_epochs_never_append along one partition's log.
fn check_log(p: i32, log: &[LogEntry]) -> Result<(), TestCaseError> {
    let mut seen = BTreeSet::new();
    let mut epochs: BTreeMap<i64, i16> = BTreeMap::new();
    for entry in log {
        match entry {
            LogEntry::Data { producer_id, producer_epoch, sequence, .. } if *producer_id >= 0 => {
                let fresh = seen.insert((*producer_id, *producer_epoch, *sequence));
                prop_assert!(fresh, "duplicate {:?} on out-{}", entry, p);
                fenced_check(&mut epochs, *producer_id, *producer_epoch)?;
            }
            LogEntry::Control { producer_id, producer_epoch, .. } => {
                fenced_check(&mut epochs, *producer_id, *producer_epoch)?
            }
            LogEntry::Data { .. } => {}
        }
    }
    Ok(())
}

/// Offset of each transactional data record -> its outcome (true = COMMIT), from the next control
/// record of the same producer.
pub(crate) fn decisions(log: &[LogEntry]) -> BTreeMap<i64, bool> {
    let mut open: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    let mut decided = BTreeMap::new();
    for entry in log {
        match entry {
            LogEntry::Data { offset, producer_id, transactional: true, .. } => {
                open.entry(*producer_id).or_default().push(*offset)
            }
            LogEntry::Control { producer_id, commit, .. } => {
                for offset in open.remove(producer_id).unwrap_or_default() {
                    decided.insert(offset, *commit);
                }
            }
            LogEntry::Data { .. } => {}
        }
    }
    decided
}

/// fenced_epochs_never_append: a producer's epochs never go backwards along a partition.
pub(crate) fn fenced_check(
    epochs: &mut BTreeMap<i64, i16>,
    producer_id: i64,
    producer_epoch: i16,
) -> Result<(), TestCaseError> {
    let last = epochs.entry(producer_id).or_insert(producer_epoch);
    prop_assert!(producer_epoch >= *last, "pid {} appended epoch {} after {}", producer_id, producer_epoch, last);
    *last = producer_epoch;
    Ok(())
}
