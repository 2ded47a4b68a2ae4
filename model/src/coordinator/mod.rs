//! The transaction coordinator (specs/eos.md §4): per transactional id a state machine whose
//! transitions are checked against the valid-previous-states table, a durable transaction log, markers
//! retried until acknowledged, timeouts, fencing, KIP-360 recovery and failover.
//!
//! The log is kept compacted (the latest record per transactional id, as `__transaction_state` is a
//! compacted topic): recovery replays it, and the last record wins. Appends are synchronous (the step
//! contract, specs/eos.md §10), so the in-memory metadata is the log record plus the markers in flight.

use crate::collections::{IndexSet, InlineVec};
use crate::config::{Config, Protocol};
use crate::history::{History, Violation};
use crate::message::{Message, Reply, Request, RequestBody};
use crate::types::*;

/// A transactional id's state (Kafka's `TransactionState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum TxnState {
    Empty,
    Ongoing,
    PrepareCommit,
    PrepareAbort,
    CompleteCommit,
    CompleteAbort,
    Dead,
    PrepareEpochFence,
}

use TxnState::*;

impl TxnState {
    /// The states from which this state may be entered (specs/eos.md §4.1). The table is data; every
    /// transition is checked against it.
    pub fn valid_previous_states(self, protocol: Protocol) -> &'static [TxnState] {
        match (self, protocol) {
            // InitProducerId: epoch bump or new producer id.
            (Empty, _) => &[Empty, CompleteCommit, CompleteAbort],
            // AddPartitionsToTxn / AddOffsetsToTxn / the tv2 implicit add.
            (Ongoing, _) => &[Ongoing, Empty, CompleteCommit, CompleteAbort],
            // EndTxn(commit).
            (PrepareCommit, _) => &[Ongoing],
            // EndTxn(abort), timeout, fencing; tv2 also the empty abort.
            (PrepareAbort, Protocol::Tv2) => &[Ongoing, PrepareEpochFence, Empty, CompleteCommit, CompleteAbort],
            (PrepareAbort, _) => &[Ongoing, PrepareEpochFence],
            // The last marker acknowledged.
            (CompleteCommit, _) => &[PrepareCommit],
            (CompleteAbort, _) => &[PrepareAbort],
            // Transactional-id expiry (not modelled).
            (Dead, _) => &[Empty, CompleteCommit, CompleteAbort],
            // Fencing an Ongoing transaction (pending only, never logged).
            (PrepareEpochFence, _) => &[Ongoing],
        }
    }

    /// Prepare* states: decided, markers not all acknowledged.
    pub fn is_prepare(self) -> bool {
        matches!(self, PrepareCommit | PrepareAbort)
    }

    /// States in which a transaction is open (Ongoing or Prepare*).
    pub fn has_open_transaction(self) -> bool {
        matches!(self, Ongoing | PrepareCommit | PrepareAbort)
    }
}

/// The durable record of one transactional id (a `__transaction_state` value).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxnRecord {
    /// Current producer id.
    pub producer_id: ProducerId,
    /// Current producer epoch.
    pub producer_epoch: Epoch,
    /// The epoch before the last bump, for recognising retried requests (KIP-360, tv2 EndTxn).
    pub last_producer_epoch: Epoch,
    /// The producer id before the last rotation ([`NO_PRODUCER_ID`] if none).
    pub previous_producer_id: ProducerId,
    /// tv2: the producer id the Prepare* transaction rotates to when it completes, because its epoch
    /// is exhausted ([`NO_PRODUCER_ID`] if none).
    pub next_producer_id: ProducerId,
    /// The state.
    pub state: TxnState,
    /// The partitions of the open transaction (the logged set).
    pub partitions: IndexSet<TxnPartition>,
    /// Ghost: the attempts whose requests joined the open transaction (usually one; more when a late
    /// request of an earlier attempt reopened it).
    pub members: IndexSet<Attempt>,
}

/// In memory: the markers of a Prepare* transaction not yet acknowledged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PendingMarkers {
    /// Targets whose marker is not acknowledged.
    pub pending: IndexSet<TxnPartition>,
    /// Of those, the ones whose request or response was lost (waiting for the retry tick).
    pub failed: IndexSet<TxnPartition>,
    /// Every marker acknowledged but the completion's append failed (fault
    /// `completion_append_failures`): the record stays Prepare* until the retry tick logs it.
    pub completion_failed: bool,
}

/// The coordinator. (`Default` has no transactional ids: see [`Coordinator::new`].)
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Coordinator {
    /// +1 at every failover; stamped on markers.
    pub coordinator_epoch: i32,
    /// The compacted transaction log: per transactional id its latest durable record.
    pub log: InlineVec<Option<TxnRecord>, 4>,
    /// In memory: per transactional id, markers not yet acknowledged.
    pub markers: InlineVec<PendingMarkers, 4>,
    /// The next producer id to hand out.
    pub next_producer_id: ProducerId,
    /// In memory: per transactional id, the target state of a prepared transition that is not
    /// complete (Kafka's `TransactionMetadata.pendingState`): one whose append is in flight
    /// (`broker.coordinator_append_round_trip`), or one whose failed append was never cleared
    /// (without KAFKA-5351's fix), which stays pending until a failover.
    pub pending_states: InlineVec<Option<TxnState>, 4>,
    /// In memory: transaction-log appends in flight (only with `broker.coordinator_append_round_trip`),
    /// ordered; one prepared before a failover stays until its completion answers NOT_COORDINATOR.
    pub appends: InlineVec<InFlightAppend, 2>,
}

/// Where a coordinator step puts its effects.
pub struct Effects<'a> {
    /// The scenario.
    pub config: &'a Config,
    /// Ghost state.
    pub history: &'a mut History,
    /// Messages to put in flight.
    pub outbox: &'a mut Vec<Message>,
}

impl Coordinator {
    /// A coordinator with no transactional ids yet.
    pub fn new(config: &Config) -> Coordinator {
        let ids = usize::from(config.producers.transactional_ids);
        Coordinator {
            coordinator_epoch: 0,
            log: InlineVec::from_elem(None, ids),
            markers: InlineVec::from_elem(PendingMarkers::default(), ids),
            next_producer_id: FIRST_PRODUCER_ID,
            pending_states: InlineVec::from_elem(None, ids),
            appends: InlineVec::new(),
        }
    }

    fn allocate_producer_id(&mut self) -> ProducerId {
        let pid = self.next_producer_id;
        self.next_producer_id += 1;
        pid
    }

    /// Appends `record` for `txn` to the log, checking the transition, epoch monotonicity and the
    /// epoch space (an epoch past the maximum wraps negative in Kafka's `short`).
    fn write(&mut self, txn: TxnId, record: TxnRecord, fx: &mut Effects) {
        let protocol = fx.config.protocol;
        if record.producer_epoch > fx.config.broker.max_producer_epoch {
            fx.history.violate(Violation::EpochRegressed);
        }
        if let Some(old) = &self.log[usize::from(txn)] {
            if !record.state.valid_previous_states(protocol).contains(&old.state) {
                fx.history.violate(Violation::InvalidTransition);
            }
            if (record.producer_id, record.producer_epoch) < (old.producer_id, old.producer_epoch) {
                fx.history.violate(Violation::EpochRegressed);
            }
        }
        self.log[usize::from(txn)] = Some(record);
    }

    /// Metadata for a transactional id InitProducerId meets for the first time: a new producer id, no
    /// epoch yet, Empty (Kafka's `handleInitProducerId` puts it in its cache before the append).
    fn fresh_metadata(&mut self) -> TxnRecord {
        TxnRecord {
            producer_id: self.allocate_producer_id(),
            producer_epoch: NO_EPOCH,
            last_producer_epoch: NO_EPOCH,
            previous_producer_id: NO_PRODUCER_ID,
            next_producer_id: NO_PRODUCER_ID,
            state: Empty,
            partitions: IndexSet::new(),
            members: IndexSet::new(),
        }
    }

    /// Whether `txn` has a pending transition: a Prepare* state (Kafka keeps Complete* pending while
    /// the markers are sent) or a transition whose failed append was never cleared (KAFKA-5351).
    pub fn pending(&self, txn: TxnId) -> bool {
        self.record(txn).is_some_and(|r| r.state.is_prepare()) || self.pending_states[usize::from(txn)].is_some()
    }

    /// The transaction-log append of the transition prepared for `txn` ([`Coordinator::prepare_transition`])
    /// failed (specs/eos.md §4.5): Kafka's `appendTransactionToLog` callback resets the pending state
    /// (KAFKA-5351) and the request is answered COORDINATOR_NOT_AVAILABLE; before the fix the pending
    /// state stayed. What the preparation took stays: the fresh metadata of an id InitProducerId met
    /// for the first time (in memory only, a failover forgets it) and the producer ids it allocated.
    pub fn append_failed(&mut self, txn: TxnId, fx: &Effects) -> Reply {
        debug_assert!(self.pending_states[usize::from(txn)].is_some(), "a prepared transition");
        if fx.config.fixes.kafka_5351 {
            self.pending_states[usize::from(txn)] = None;
        }
        Reply::error(ErrorCode::CoordinatorNotAvailable)
    }

    /// A client's InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn or EndTxn (specs/eos.md §4.2–4.4):
    /// its answer; `None` for a request the transaction coordinator does not handle.
    pub fn handle_client_request(&mut self, request: &Request, fx: &mut Effects) -> Option<Reply> {
        let attempt = Attempt { producer: request.from, index: request.attempt };
        Some(match request.body {
            RequestBody::InitProducerId { txn, expected } => self.init_producer_id(txn, expected, fx),
            RequestBody::AddPartitionsToTxn { txn, producer_id, epoch, partition } => {
                Reply::error(self.add_partition(txn, producer_id, epoch, TxnPartition::Data(partition), attempt, fx))
            }
            RequestBody::AddOffsetsToTxn { txn, producer_id, epoch, .. } => {
                Reply::error(self.add_partition(txn, producer_id, epoch, TxnPartition::Offsets, attempt, fx))
            }
            RequestBody::EndTxn { txn, producer_id, epoch, commit } => {
                self.end_txn(txn, producer_id, epoch, commit, attempt, fx)
            }
            _ => return None,
        })
    }

    /// Whether `txn` may expire: it is idle (Empty or Complete*) with nothing pending (Kafka's
    /// `TransactionStateManager.removeExpiredTransactionalIds` takes an id whose `pendingState` is
    /// empty and whose state `isExpirationAllowed`).
    pub fn may_expire(&self, txn: TxnId, protocol: Protocol) -> bool {
        self.pending_states[usize::from(txn)].is_none()
            && self.record(txn).is_some_and(|r| {
                r.producer_epoch != NO_EPOCH && Dead.valid_previous_states(protocol).contains(&r.state)
            })
    }

    /// Transactional-id expiry (specs/eos.md §4.5): the idle `txn` moves to Dead (Kafka's
    /// `TransactionMetadata.prepareDead`), its tombstone is logged and the id is forgotten (Kafka
    /// removes it from the cache once the tombstone is durable; a later load skips the tombstoned
    /// key). The next InitProducerId starts over with a new producer id; the old one's requests
    /// find no metadata. `None` if `txn` may not expire.
    pub fn expire(&mut self, txn: TxnId, fx: &mut Effects) -> Option<()> {
        if !self.may_expire(txn, fx.config.protocol) {
            return None;
        }
        self.log[usize::from(txn)] = None;
        self.markers[usize::from(txn)] = PendingMarkers::default();
        Some(())
    }

    /// The record of `txn`, if it has one.
    pub fn record(&self, txn: TxnId) -> Option<&TxnRecord> {
        self.log[usize::from(txn)].as_ref()
    }

    /// InitProducerId (specs/eos.md §4.2).
    pub fn init_producer_id(
        &mut self,
        txn: Option<TxnId>,
        expected: Option<(ProducerId, Epoch)>,
        fx: &mut Effects,
    ) -> Reply {
        let Some(txn) = txn else {
            let pid = self.allocate_producer_id();
            return granted(pid, 0);
        };
        let record = match self.record(txn) {
            Some(record) => *record,
            None => self.fresh_metadata(),
        };
        // A pending transition first (Kafka keeps Complete* pending while a Prepare* sends its markers).
        if record.state.is_prepare() || self.pending_states[usize::from(txn)].is_some() {
            return Reply::error(ErrorCode::ConcurrentTransactions);
        }
        if let Some((pid, _)) = expected {
            // Producer-id rotation on epoch exhaustion is not modelled, so the previous producer id
            // never matters here (specs/eos.md §4.2 has the full rule).
            let valid = record.producer_epoch == NO_EPOCH
                || pid == record.producer_id
                || (pid == record.previous_producer_id && exhausted(fx.config, expected_epoch(expected)));
            if fx.config.guards.fencing && !valid {
                return Reply::error(ErrorCode::ProducerFenced);
            }
        }
        match record.state {
            PrepareCommit | PrepareAbort => unreachable!("answered above"),
            Ongoing => {
                self.fence_and_abort(txn, record, fx);
                Reply::error(ErrorCode::ConcurrentTransactions)
            }
            Empty | CompleteCommit | CompleteAbort => {
                let epoch = record.producer_epoch;
                if exhausted(fx.config, epoch) && expected.is_none_or(|(_, e)| e == epoch) {
                    return self.rotate_producer_id(txn, record, expected.is_some(), fx);
                }
                let (next, last) = match expected {
                    None => (epoch + 1, NO_EPOCH),
                    Some((_, e)) if epoch == NO_EPOCH || e == epoch || !fx.config.guards.fencing => (epoch + 1, epoch),
                    Some((_, e)) if e == record.last_producer_epoch => (epoch, record.last_producer_epoch),
                    Some(_) => return Reply::error(ErrorCode::ProducerFenced),
                };
                let pid = record.producer_id;
                let new = TxnRecord {
                    producer_epoch: next,
                    last_producer_epoch: last,
                    state: Empty,
                    partitions: IndexSet::new(),
                    members: IndexSet::new(),
                    ..record
                };
                self.write(txn, new, fx);
                granted(pid, next)
            }
            Dead | PrepareEpochFence => {
                unreachable!("never entered: no transition leads to {:?}", record.state)
            }
        }
    }

    /// Empty / Complete* with an exhausted epoch: a new producer id at epoch 0 (Kafka's
    /// `TransactionMetadata.prepareProducerIdRotation`), logged as Empty.
    fn rotate_producer_id(&mut self, txn: TxnId, record: TxnRecord, retry: bool, fx: &mut Effects) -> Reply {
        let new = TxnRecord {
            producer_id: self.allocate_producer_id(),
            producer_epoch: 0,
            last_producer_epoch: if retry { record.producer_epoch } else { NO_EPOCH },
            previous_producer_id: record.producer_id,
            next_producer_id: NO_PRODUCER_ID,
            state: Empty,
            partitions: IndexSet::new(),
            members: IndexSet::new(),
        };
        self.write(txn, new, fx);
        granted(new.producer_id, 0)
    }

    /// Fences the producer of an Ongoing transaction and aborts it (InitProducerId or timeout): the
    /// epoch is bumped once (PrepareEpochFence, never logged), then PrepareAbort is logged at that epoch
    /// (Kafka's `prepareFenceProducerEpoch`, then `endTransaction` with `isEpochFence`; KAFKA-19367: the
    /// TV2 abort does not bump a second time).
    fn fence_and_abort(&mut self, txn: TxnId, record: TxnRecord, fx: &mut Effects) {
        assert_eq!(record.state, Ongoing, "only an Ongoing transaction is fenced");
        // KAFKA-20090: an epoch already at the maximum is not bumped (it would overflow).
        let at_max = record.producer_epoch >= fx.config.broker.max_producer_epoch;
        let fenced_epoch = if at_max { record.producer_epoch } else { record.producer_epoch + 1 };
        let mut fence = TxnRecord { producer_epoch: fenced_epoch, last_producer_epoch: NO_EPOCH, ..record };
        // PrepareEpochFence is pending only: check its transition, but do not log it.
        if !PrepareEpochFence.valid_previous_states(fx.config.protocol).contains(&Ongoing) {
            fx.history.violate(Violation::InvalidTransition);
        }
        let tv2 = fx.config.protocol == Protocol::Tv2;
        if tv2 && fx.config.fixes.kafka_20090 && exhausted(fx.config, fence.producer_epoch) {
            // KAFKA-20090: the fence's abort rotates the producer id too when the epoch is exhausted.
            fence.next_producer_id = self.allocate_producer_id();
        }
        if tv2 && !fx.config.fixes.kafka_19367 {
            // Before KAFKA-19367 the TV2 abort bumped the fenced epoch once more.
            fence.last_producer_epoch = fence.producer_epoch;
            fence.producer_epoch += 1;
        }
        let prepared = TxnRecord { state: PrepareAbort, ..fence };
        if !PrepareAbort.valid_previous_states(fx.config.protocol).contains(&PrepareEpochFence) {
            fx.history.violate(Violation::InvalidTransition);
        }
        if prepared.producer_epoch > fx.config.broker.max_producer_epoch {
            fx.history.violate(Violation::EpochRegressed); // Kafka's short wraps negative.
        }
        fx.history.decide_all(&prepared.members, false);
        self.log[usize::from(txn)] = Some(prepared);
        self.send_all_markers(txn, fx);
    }

    /// Checks a request's (pid, epoch) against `txn`'s record for an add (tv1 client add, tv2 implicit
    /// add) or a verification; `None` when it passes.
    fn check_producer(&self, txn: TxnId, pid: ProducerId, epoch: Epoch, fx: &Effects) -> Option<ErrorCode> {
        match self.record(txn) {
            None => Some(ErrorCode::InvalidProducerIdMapping),
            Some(r) if r.producer_id != pid => Some(ErrorCode::InvalidProducerIdMapping),
            Some(r) if fx.config.guards.fencing && r.producer_epoch != epoch => Some(ErrorCode::ProducerFenced),
            Some(_) => None,
        }
    }

    /// AddPartitionsToTxn / AddOffsetsToTxn, or the tv2 implicit add (specs/eos.md §4.3).
    pub fn add_partition(
        &mut self,
        txn: TxnId,
        pid: ProducerId,
        epoch: Epoch,
        target: TxnPartition,
        attempt: Attempt,
        fx: &mut Effects,
    ) -> ErrorCode {
        // KAFKA-18660: a pending transition is answered first, so a producer that starts its next
        // transaction under a rotated producer id is told to wait rather than fenced.
        let pending = self.pending(txn);
        if pending && fx.config.fixes.kafka_18660 {
            return ErrorCode::ConcurrentTransactions;
        }
        if let Some(error) = self.check_producer(txn, pid, epoch, fx) {
            return error;
        }
        let record = *self.record(txn).expect("checked above");
        if pending {
            return ErrorCode::ConcurrentTransactions;
        }
        match record.state {
            PrepareCommit | PrepareAbort => unreachable!("pending, answered above"),
            Ongoing if record.partitions.contains(&target) => {
                if !record.members.contains(&attempt) {
                    let mut new = record;
                    new.members.insert(attempt);
                    // Ghost only: nothing is logged for a partition already in the transaction.
                    self.log[usize::from(txn)] = Some(new);
                }
                ErrorCode::None
            }
            _ => {
                let mut new = TxnRecord { state: Ongoing, ..record };
                new.partitions.insert(target);
                new.members.insert(attempt);
                self.write(txn, new, fx);
                ErrorCode::None
            }
        }
    }

    /// KIP-890 part 1: is `target` in the transaction of (pid, epoch)? Kafka's answers, in its order:
    /// an unknown id or another pid → `INVALID_PRODUCER_ID_MAPPING`; another epoch →
    /// `PRODUCER_FENCED` (the leader answers `INVALID_PRODUCER_EPOCH`); a Prepare* state →
    /// `CONCURRENT_TRANSACTIONS`; the partition not in the set → `TRANSACTION_ABORTABLE` (which a
    /// leader translates for a client that predates KIP-1050).
    pub fn verify(&self, txn: TxnId, pid: ProducerId, epoch: Epoch, target: TxnPartition, fx: &Effects) -> ErrorCode {
        if let Some(error) = self.check_producer(txn, pid, epoch, fx) {
            return error;
        }
        let record = self.record(txn).expect("checked above");
        if record.state.is_prepare() {
            ErrorCode::ConcurrentTransactions
        } else if record.partitions.contains(&target) {
            debug_assert_eq!(record.state, Ongoing, "only an Ongoing transaction has partitions outside Prepare*");
            ErrorCode::None
        } else {
            ErrorCode::TransactionAbortable
        }
    }
}

/// Whether `epoch` is exhausted: the next bump moves to a new producer id (Kafka's
/// `TransactionMetadata.isEpochExhausted`, at `max - 1` so that a fence always has room).
pub fn exhausted(config: &Config, epoch: Epoch) -> bool {
    epoch >= config.broker.max_producer_epoch - 1
}

fn expected_epoch(expected: Option<(ProducerId, Epoch)>) -> Epoch {
    expected.map_or(NO_EPOCH, |(_, e)| e)
}

fn granted(pid: ProducerId, epoch: Epoch) -> Reply {
    Reply { error: ErrorCode::None, producer_id: Some(pid), epoch: Some(epoch), offset: None }
}

mod appends;
mod ending;

pub use appends::{appended_transition, InFlightAppend, PreparedTransition};

#[cfg(test)]
mod tests;
