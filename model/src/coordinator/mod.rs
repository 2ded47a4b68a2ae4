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
use crate::message::{Message, Reply};
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
        }
    }

    fn allocate_producer_id(&mut self) -> ProducerId {
        let pid = self.next_producer_id;
        self.next_producer_id += 1;
        pid
    }

    /// Appends `record` for `txn` to the log, checking the transition and epoch monotonicity.
    fn write(&mut self, txn: TxnId, record: TxnRecord, fx: &mut Effects) {
        let protocol = fx.config.protocol;
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
            None => TxnRecord {
                producer_id: self.allocate_producer_id(),
                producer_epoch: NO_EPOCH,
                last_producer_epoch: NO_EPOCH,
                state: Empty,
                partitions: IndexSet::new(),
                members: IndexSet::new(),
            },
        };
        if let Some((pid, _)) = expected {
            // Producer-id rotation on epoch exhaustion is not modelled, so the previous producer id
            // never matters here (specs/eos.md §4.2 has the full rule).
            let valid = record.producer_epoch == NO_EPOCH || pid == record.producer_id;
            if fx.config.guards.fencing && !valid {
                return Reply::error(ErrorCode::ProducerFenced);
            }
        }
        match record.state {
            PrepareCommit | PrepareAbort => Reply::error(ErrorCode::ConcurrentTransactions),
            Ongoing => {
                self.fence_and_abort(txn, record, fx);
                Reply::error(ErrorCode::ConcurrentTransactions)
            }
            Empty | CompleteCommit | CompleteAbort => {
                let epoch = record.producer_epoch;
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

    /// Fences the producer of an Ongoing transaction and aborts it (InitProducerId or timeout).
    fn fence_and_abort(&mut self, txn: TxnId, record: TxnRecord, fx: &mut Effects) {
        assert_eq!(record.state, Ongoing, "only an Ongoing transaction is fenced");
        let fenced_epoch = record.producer_epoch + 1;
        let mut fence = TxnRecord {
            producer_epoch: fenced_epoch,
            last_producer_epoch: NO_EPOCH,
            state: PrepareEpochFence,
            ..record
        };
        // PrepareEpochFence is pending only: check its transition, but do not log it.
        if !PrepareEpochFence.valid_previous_states(fx.config.protocol).contains(&Ongoing) {
            fx.history.violate(Violation::InvalidTransition);
        }
        if fx.config.protocol == Protocol::Tv2 {
            fence.last_producer_epoch = fence.producer_epoch;
            fence.producer_epoch += 1;
        }
        let prepared = TxnRecord { state: PrepareAbort, ..fence };
        if !PrepareAbort.valid_previous_states(fx.config.protocol).contains(&PrepareEpochFence) {
            fx.history.violate(Violation::InvalidTransition);
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
        if let Some(error) = self.check_producer(txn, pid, epoch, fx) {
            return error;
        }
        let record = *self.record(txn).expect("checked above");
        match record.state {
            PrepareCommit | PrepareAbort => ErrorCode::ConcurrentTransactions,
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
    /// `CONCURRENT_TRANSACTIONS`; the partition not in the set → `TRANSACTION_ABORTABLE`, which a
    /// leader answers as `INVALID_TXN_STATE` to the clients tv1-verified models (they predate it).
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
            ErrorCode::InvalidTxnState
        }
    }
}

fn granted(pid: ProducerId, epoch: Epoch) -> Reply {
    Reply { error: ErrorCode::None, producer_id: Some(pid), epoch: Some(epoch), offset: None }
}

mod ending;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario;

    /// The `basic` scenario under `protocol`, and an empty history and outbox for the effects.
    fn setup(protocol: Protocol) -> (Config, History, Vec<Message>) {
        (scenario::load("basic").unwrap().with_protocol(protocol), History::default(), Vec::new())
    }

    const ATTEMPT: Attempt = Attempt { producer: 0, index: 0 };

    /// The valid-previous-states table matches specs/eos.md §4.1, including the tv2 empty abort.
    #[test]
    fn transition_table_is_the_specified_one() {
        assert_eq!(PrepareCommit.valid_previous_states(Protocol::Tv1), &[Ongoing]);
        assert!(!PrepareAbort.valid_previous_states(Protocol::Tv1).contains(&Empty));
        assert!(PrepareAbort.valid_previous_states(Protocol::Tv2).contains(&Empty));
        assert_eq!(CompleteAbort.valid_previous_states(Protocol::Tv2), &[PrepareAbort]);
        assert!(Ongoing.valid_previous_states(Protocol::Tv1).contains(&CompleteCommit));
    }

    /// KIP-890 part 1 verification answers as Kafka's coordinator (specs/eos.md §5.1 step 2): unknown
    /// id or pid, another epoch, Prepare*, and a partition outside the transaction are told apart.
    #[test]
    fn verification_answers() {
        let (config, mut history, mut outbox) = setup(Protocol::Tv1Verified);
        let fx = &mut Effects { config: &config, history: &mut history, outbox: &mut outbox };
        let mut c = Coordinator::new(&config);
        let (p0, p1) = (TxnPartition::Data(0), TxnPartition::Data(1));
        assert_eq!(c.verify(0, 1000, 0, p0, fx), ErrorCode::InvalidProducerIdMapping);
        c.init_producer_id(Some(0), None, fx);
        assert_eq!(c.verify(0, 1000, 0, p0, fx), ErrorCode::InvalidTxnState, "Empty");
        c.add_partition(0, 1000, 0, p0, ATTEMPT, fx);
        assert_eq!(c.verify(0, 1000, 0, p0, fx), ErrorCode::None);
        assert_eq!(c.verify(0, 1000, 0, p1, fx), ErrorCode::InvalidTxnState, "not added");
        assert_eq!(c.verify(0, 1001, 0, p0, fx), ErrorCode::InvalidProducerIdMapping);
        assert_eq!(c.verify(0, 1000, 1, p0, fx), ErrorCode::ProducerFenced);
        c.end_txn(0, 1000, 0, true, ATTEMPT, fx);
        assert_eq!(c.record(0).unwrap().state, PrepareCommit);
        assert_eq!(c.verify(0, 1000, 0, p0, fx), ErrorCode::ConcurrentTransactions);
    }

    /// InitProducerId bumps the epoch; a KIP-360 retry with the previous epoch gets the same epoch back;
    /// an unknown expected epoch is fenced; an Ongoing transaction is fenced and aborted.
    #[test]
    fn init_producer_id_paths() {
        let (config, mut history, mut outbox) = setup(Protocol::Tv1);
        let fx = &mut Effects { config: &config, history: &mut history, outbox: &mut outbox };
        let mut c = Coordinator::new(&config);
        let first = c.init_producer_id(Some(0), None, fx);
        assert_eq!((first.producer_id, first.epoch), (Some(FIRST_PRODUCER_ID), Some(0)));
        let bumped = c.init_producer_id(Some(0), Some((1000, 0)), fx);
        assert_eq!(bumped.epoch, Some(1));
        let retried = c.init_producer_id(Some(0), Some((1000, 0)), fx);
        assert_eq!(retried.epoch, Some(1), "a retried KIP-360 bump returns the same epoch");
        let stale = c.init_producer_id(Some(0), Some((1000, 7)), fx);
        assert_eq!(stale.error, ErrorCode::ProducerFenced);
        let added = c.add_partition(0, 1000, 1, TxnPartition::Data(0), ATTEMPT, fx);
        assert_eq!(added, ErrorCode::None);
        let fence = c.init_producer_id(Some(0), None, fx);
        assert_eq!(fence.error, ErrorCode::ConcurrentTransactions);
        let record = c.record(0).unwrap();
        assert_eq!((record.state, record.producer_epoch), (PrepareAbort, 2));
        assert_eq!(fx.outbox.len(), 1, "an ABORT marker to out-0");
        assert!(fx.history.violations.is_empty());
    }

    /// EndTxn answers retries, concurrent and invalid requests as Kafka does (tv1).
    #[test]
    fn end_txn_paths_tv1() {
        let (config, mut history, mut outbox) = setup(Protocol::Tv1);
        let fx = &mut Effects { config: &config, history: &mut history, outbox: &mut outbox };
        let mut c = Coordinator::new(&config);
        c.init_producer_id(Some(0), None, fx);
        let end =
            |c: &mut Coordinator, fx: &mut Effects, epoch, commit| c.end_txn(0, 1000, epoch, commit, ATTEMPT, fx).error;
        assert_eq!(end(&mut c, fx, 0, true), ErrorCode::InvalidTxnState, "nothing to commit in Empty");
        c.add_partition(0, 1000, 0, TxnPartition::Data(0), ATTEMPT, fx);
        assert_eq!(end(&mut c, fx, 1, true), ErrorCode::ProducerFenced);
        assert_eq!(end(&mut c, fx, 0, true), ErrorCode::None);
        assert_eq!(end(&mut c, fx, 0, true), ErrorCode::ConcurrentTransactions, "still PrepareCommit");
        assert_eq!(end(&mut c, fx, 0, false), ErrorCode::InvalidTxnState);
        assert_eq!(c.end_txn(0, 999, 0, true, ATTEMPT, fx).error, ErrorCode::InvalidProducerIdMapping);
    }

    /// tv2: EndTxn bumps the epoch; the retry with the old epoch is recognised; an empty abort bumps
    /// the epoch and completes at once.
    #[test]
    fn end_txn_paths_tv2() {
        let (config, mut history, mut outbox) = setup(Protocol::Tv2);
        let fx = &mut Effects { config: &config, history: &mut history, outbox: &mut outbox };
        let mut c = Coordinator::new(&config);
        c.init_producer_id(Some(0), None, fx);
        let empty = c.end_txn(0, 1000, 0, false, ATTEMPT, fx);
        assert_eq!((empty.error, empty.epoch, c.record(0).unwrap().state), (ErrorCode::None, Some(1), CompleteAbort));
        c.add_partition(0, 1000, 1, TxnPartition::Data(0), ATTEMPT, fx);
        let commit = c.end_txn(0, 1000, 1, true, ATTEMPT, fx);
        assert_eq!((commit.error, commit.epoch), (ErrorCode::None, Some(2)));
        let retry = c.end_txn(0, 1000, 1, true, ATTEMPT, fx);
        assert_eq!(retry.error, ErrorCode::ConcurrentTransactions, "a retry while PrepareCommit");
        let stale = c.end_txn(0, 1000, 0, true, ATTEMPT, fx);
        assert_eq!(stale.error, ErrorCode::ProducerFenced);
    }
}
