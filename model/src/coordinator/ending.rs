//! Ending transactions: EndTxn, markers and their acknowledgements, the marker-retry tick, the
//! transaction timeout and coordinator failover (specs/eos.md §4.4 and §4.5).

use super::{Coordinator, Effects, PendingMarkers, TxnRecord, TxnState::*};
use crate::collections::IndexSet;
use crate::config::Protocol;
use crate::history::{Milestone, Violation};
use crate::message::{Marker, Message, Reply};
use crate::types::*;

impl Coordinator {
    /// EndTxn (specs/eos.md §4.4): Kafka's `endTransactionWithTV1` or, for TV2, `endTransaction`.
    pub fn end_txn(
        &mut self,
        txn: TxnId,
        pid: ProducerId,
        epoch: Epoch,
        commit: bool,
        attempt: Attempt,
        fx: &mut Effects,
    ) -> Reply {
        let Some(record) = self.record(txn).copied() else {
            return Reply::error(ErrorCode::InvalidProducerIdMapping);
        };
        let tv2 = fx.config.protocol == Protocol::Tv2;
        if record.producer_id != pid && !(tv2 && retry_on_overflow(fx.config, &record, pid, epoch)) {
            // TV2: the producer id a completing transaction rotates to is told to wait, not fenced
            // (Kafka answers a pending transition first: the new id is only in the pending state).
            if tv2 && record.next_producer_id != NO_PRODUCER_ID && pid == record.next_producer_id {
                return Reply::error(ErrorCode::ConcurrentTransactions);
            }
            return Reply::error(ErrorCode::InvalidProducerIdMapping);
        }
        if tv2 {
            return self.end_txn_tv2(txn, record, epoch, commit, attempt, fx);
        }
        // TV1: the epoch must be the current one, then a pending transition (Kafka keeps Complete*
        // pending while Prepare* sends its markers) is answered CONCURRENT_TRANSACTIONS.
        if fx.config.guards.fencing && epoch != record.producer_epoch {
            return Reply::error(ErrorCode::ProducerFenced);
        }
        if self.pending(txn) {
            return Reply::error(ErrorCode::ConcurrentTransactions);
        }
        let current = reply(record.producer_id, record.producer_epoch);
        match record.state {
            PrepareCommit | PrepareAbort => unreachable!("pending, answered above"),
            Ongoing => self.prepare(txn, record, commit, attempt, fx),
            CompleteCommit if commit => current,
            CompleteAbort if !commit => current,
            _ => Reply::error(ErrorCode::InvalidTxnState),
        }
    }

    /// TV2 EndTxn: a retry carries the epoch before the end's bump; the current epoch in Empty or
    /// Complete* is an empty abort (or, for a commit, an invalid one).
    fn end_txn_tv2(
        &mut self,
        txn: TxnId,
        record: TxnRecord,
        epoch: Epoch,
        commit: bool,
        attempt: Attempt,
        fx: &mut Effects,
    ) -> Reply {
        let fixes = &fx.config.fixes;
        let pending = self.pending(txn);
        // KAFKA-18464: the pending transition first, so a producer's next EndTxn (an empty abort at
        // the bumped epoch) waits for the previous transaction instead of fencing itself.
        if pending && fixes.kafka_18464 {
            return Reply::error(ErrorCode::ConcurrentTransactions);
        }
        let current = record.producer_epoch;
        let bump_retry = epoch + 1 == current;
        let retry = bump_retry || retry_on_overflow(fx.config, &record, record.previous_producer_id, epoch);
        let valid = match record.state {
            Ongoing | Empty => epoch == current,
            PrepareCommit | PrepareAbort => bump_retry,
            CompleteCommit | CompleteAbort => retry || epoch == current,
            Dead | PrepareEpochFence => false,
        };
        if fx.config.guards.fencing && !valid {
            return Reply::error(ErrorCode::ProducerFenced);
        }
        if pending {
            return Reply::error(ErrorCode::ConcurrentTransactions);
        }
        let answer = reply(record.producer_id, current);
        match (record.state, commit) {
            (Ongoing, _) => self.prepare(txn, record, commit, attempt, fx),
            (CompleteCommit, true) | (CompleteAbort, false) if retry => answer,
            // KAFKA-20785: a commit at a retry epoch in CompleteAbort can only be one that was in
            // flight when the coordinator aborted the transaction itself: the producer is fenced.
            (CompleteAbort, true) if retry && fixes.kafka_20785 => Reply::error(ErrorCode::ProducerFenced),
            (Empty | CompleteCommit | CompleteAbort, false) if !retry => self.empty_abort(txn, record, attempt, fx),
            _ => Reply::error(ErrorCode::InvalidTxnState),
        }
    }

    /// Ongoing → Prepare*: logged, answered, markers sent.
    fn prepare(&mut self, txn: TxnId, record: TxnRecord, commit: bool, attempt: Attempt, fx: &mut Effects) -> Reply {
        if !record.members.contains(&attempt) {
            fx.history.violate(Violation::WrongTransactionEnded);
        }
        fx.history.decide_all(&record.members, commit);
        let mut new = TxnRecord { state: if commit { PrepareCommit } else { PrepareAbort }, ..record };
        if fx.config.protocol == Protocol::Tv2 {
            self.bump_for_end(&mut new, fx);
        }
        let answer = self.end_answer(&new, fx);
        self.write(txn, new, fx);
        self.send_all_markers(txn, fx);
        answer
    }

    /// tv2: an abort with nothing the coordinator knows of: bump the epoch, complete at once.
    fn empty_abort(&mut self, txn: TxnId, record: TxnRecord, attempt: Attempt, fx: &mut Effects) -> Reply {
        fx.history.decide(attempt, false);
        let mut prepared =
            TxnRecord { state: PrepareAbort, partitions: IndexSet::new(), members: IndexSet::new(), ..record };
        self.bump_for_end(&mut prepared, fx);
        let answer = self.end_answer(&prepared, fx);
        self.write(txn, prepared, fx);
        let complete = completed(&prepared, CompleteAbort);
        self.write(txn, complete, fx);
        answer
    }

    /// tv2's bump at the end of a transaction (Kafka's `prepareAbortOrCommit`): epoch + 1, and a new
    /// producer id to move to at completion if the epoch is exhausted.
    fn bump_for_end(&mut self, record: &mut TxnRecord, fx: &Effects) {
        if super::exhausted(fx.config, record.producer_epoch) {
            record.next_producer_id = self.allocate_producer_id();
        }
        record.last_producer_epoch = record.producer_epoch;
        record.producer_epoch += 1;
    }

    /// What a successful end answers: the producer id and epoch the client continues with — after a
    /// rotation the next id at epoch 0 (KAFKA-18660; before it, the old id at the overflowing epoch).
    fn end_answer(&self, record: &TxnRecord, fx: &Effects) -> Reply {
        if record.next_producer_id != NO_PRODUCER_ID && fx.config.fixes.kafka_18660 {
            reply(record.next_producer_id, 0)
        } else {
            reply(record.producer_id, record.producer_epoch)
        }
    }

    /// Sends a marker to every partition of `txn`'s Prepare* record (all pending again).
    pub(super) fn send_all_markers(&mut self, txn: TxnId, fx: &mut Effects) {
        let record = *self.record(txn).expect("a Prepare* record");
        assert!(record.state.is_prepare(), "markers are sent for Prepare* only");
        assert!(!record.partitions.is_empty(), "an Ongoing transaction has at least one partition");
        self.markers[usize::from(txn)] =
            PendingMarkers { pending: record.partitions, failed: IndexSet::new(), completion_failed: false };
        for target in record.partitions.iter() {
            fx.outbox.push(Message::Marker(marker(txn, &record, target, self.coordinator_epoch, fx.config.protocol)));
        }
    }

    /// Whether `m` is a marker of `txn`'s current Prepare* transaction from this coordinator.
    fn is_current(&self, m: &Marker) -> bool {
        let Some(record) = self.record(m.txn) else {
            return false;
        };
        let state = if m.commit { PrepareCommit } else { PrepareAbort };
        m.coordinator_epoch == self.coordinator_epoch
            && record.state == state
            && record.producer_id == m.producer_id
            && record.producer_epoch == m.epoch
            && self.markers[usize::from(m.txn)].pending.contains(&m.target)
    }

    /// A WriteTxnMarker response: the last acknowledgement completes the transaction.
    pub fn on_marker_response(&mut self, m: &Marker, error: ErrorCode, fx: &mut Effects) {
        if !self.is_current(m) {
            return; // From an older coordinator, or for a transaction already past this marker.
        }
        let txn = m.txn;
        match error {
            ErrorCode::None => {
                let markers = &mut self.markers[usize::from(txn)];
                markers.pending.remove(&m.target);
                markers.failed.remove(&m.target);
                if markers.pending.is_empty() {
                    self.complete(txn, fx);
                }
            }
            // Someone newer owns the transaction: stop sending (Kafka cancels the markers).
            _ => self.markers[usize::from(txn)] = PendingMarkers::default(),
        }
    }

    /// Whether delivering the successful acknowledgement of `m` would complete its transaction: `m`
    /// is current and the last marker the transaction waits for.
    pub fn completes_with(&self, m: &Marker) -> bool {
        let markers = &self.markers[usize::from(m.txn)];
        self.is_current(m) && markers.pending.len() == 1
    }

    /// The acknowledgement of `m`, the last marker of its transaction, arrives and the completion's
    /// append fails (specs/eos.md §4.5): every marker is acknowledged, the record stays Prepare*, and
    /// the completion waits for the retry tick (Kafka's `TransactionMarkerChannelManager.tryAppendToLog`
    /// queues it on `txnLogAppendRetryQueue`). `None` if `m` would not complete its transaction.
    pub fn completion_append_failed(&mut self, m: &Marker) -> Option<()> {
        if !self.completes_with(m) {
            return None;
        }
        self.markers[usize::from(m.txn)] =
            PendingMarkers { pending: IndexSet::new(), failed: IndexSet::new(), completion_failed: true };
        Some(())
    }

    /// Whether `txn`'s completion failed to log and waits for the retry tick.
    pub fn completion_stuck(&self, txn: TxnId) -> bool {
        self.markers[usize::from(txn)].completion_failed
    }

    /// Whether the marker-retry tick of `txn` has work: failed markers to re-send or a completion to
    /// log again.
    pub fn retry_tick_due(&self, txn: TxnId) -> bool {
        self.has_failed_markers(txn) || self.completion_stuck(txn)
    }

    /// Prepare* → Complete*, logged.
    fn complete(&mut self, txn: TxnId, fx: &mut Effects) {
        let record = *self.record(txn).expect("a Prepare* record");
        let state = if record.state == PrepareCommit { CompleteCommit } else { CompleteAbort };
        if state == CompleteAbort && fx.history.milestones.contains(&Milestone::TimeoutAbort(txn)) {
            fx.history.milestones.insert(Milestone::TimeoutAbortCompleted);
        }
        if fx.history.milestones.contains(&Milestone::FailoverResumedPrepare(txn)) {
            fx.history.milestones.insert(Milestone::FailoverCompletedPrepare);
        }
        self.write(txn, completed(&record, state), fx);
    }

    /// Whether `m` is a marker of the current Prepare* transaction the coordinator still waits for, in
    /// flight (not failed): one whose request may time out and be sent again.
    pub fn awaits_marker(&self, m: &Marker) -> bool {
        self.is_current(m) && !self.markers[usize::from(m.txn)].failed.contains(&m.target)
    }

    /// The coordinator learns that a marker or its response was lost.
    pub fn on_marker_lost(&mut self, m: &Marker) {
        if self.is_current(m) {
            self.markers[usize::from(m.txn)].failed.insert(m.target);
        }
    }

    /// Whether `txn` has failed markers waiting for the retry tick.
    pub fn has_failed_markers(&self, txn: TxnId) -> bool {
        !self.markers[usize::from(txn)].failed.is_empty()
    }

    /// The marker-retry tick: re-send every failed marker of `txn`, or log its stuck completion again
    /// (Kafka's `TransactionMarkerChannelManager.retryLogAppends`, at the start of the marker sender's
    /// every round).
    pub fn retry_markers(&mut self, txn: TxnId, fx: &mut Effects) {
        if self.completion_stuck(txn) {
            self.markers[usize::from(txn)] = PendingMarkers::default();
            self.complete(txn, fx);
            return;
        }
        let record = *self.record(txn).expect("failed markers belong to a Prepare* record");
        let markers = &mut self.markers[usize::from(txn)];
        for target in markers.failed.iter() {
            fx.outbox.push(Message::Marker(marker(txn, &record, target, self.coordinator_epoch, fx.config.protocol)));
        }
        markers.failed.clear();
    }

    /// The transaction timeout fired for `txn` (the caller checked it is Ongoing).
    pub fn timeout(&mut self, txn: TxnId, fx: &mut Effects) {
        let record = *self.record(txn).expect("an Ongoing record");
        fx.history.milestones.insert(Milestone::TimeoutAbort(txn));
        self.fence_and_abort(txn, record, fx);
    }

    /// Failover: a new coordinator (epoch+1) replays the log and resumes every Prepare*.
    pub fn failover(&mut self, fx: &mut Effects) {
        self.coordinator_epoch += 1;
        for txn in 0..self.log.len() {
            let txn = TxnId::try_from(txn).expect("few transactional ids");
            self.markers[usize::from(txn)] = PendingMarkers::default();
            self.pending_states[usize::from(txn)] = None;
            if self.record(txn).is_some_and(|r| r.producer_epoch == NO_EPOCH) {
                // Metadata whose first InitProducerId was never logged lived in memory only.
                self.log[usize::from(txn)] = None;
            }
            if self.record(txn).is_some_and(|r| r.state.is_prepare()) {
                fx.history.milestones.insert(Milestone::FailoverResumedPrepare(txn));
                self.send_all_markers(txn, fx);
            }
        }
    }
}

/// A Prepare* record's Complete* successor (Kafka's `prepareComplete`): no partitions, and the producer
/// id rotated if the end allocated a next one (the last epoch stays the one the client last saw).
fn completed(record: &TxnRecord, state: super::TxnState) -> TxnRecord {
    let mut new = TxnRecord { state, partitions: IndexSet::new(), members: IndexSet::new(), ..*record };
    if record.next_producer_id != NO_PRODUCER_ID {
        new.previous_producer_id = record.producer_id;
        new.producer_id = record.next_producer_id;
        new.producer_epoch = 0;
        new.next_producer_id = NO_PRODUCER_ID;
    }
    new
}

/// tv2: a retried EndTxn whose transaction rotated the producer id at an exhausted epoch (Kafka's
/// `retryOnOverflow`: the previous id, the last epoch before the maximum, the new id at epoch 0).
fn retry_on_overflow(config: &crate::config::Config, record: &TxnRecord, pid: ProducerId, epoch: Epoch) -> bool {
    record.previous_producer_id == pid
        && pid != NO_PRODUCER_ID
        && epoch == config.broker.max_producer_epoch - 1
        && record.producer_epoch == 0
}

fn reply(pid: ProducerId, epoch: Epoch) -> Reply {
    Reply { error: ErrorCode::None, producer_id: Some(pid), epoch: Some(epoch), offset: None }
}

fn marker(txn: TxnId, record: &TxnRecord, target: TxnPartition, coordinator_epoch: i32, protocol: Protocol) -> Marker {
    Marker {
        target,
        txn,
        producer_id: record.producer_id,
        epoch: record.producer_epoch,
        commit: record.state == PrepareCommit,
        coordinator_epoch,
        transaction_version: if protocol == Protocol::Tv2 { 2 } else { 1 },
        ends: record.members,
    }
}
