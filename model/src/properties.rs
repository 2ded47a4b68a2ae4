//! The invariant catalogue of specs/eos.md §13 as stateright properties.
//!
//! Safety properties are `always`. Liveness is judged at terminal states (stateright's `eventually` is
//! unsound on cycles), also as `always`: "if nothing can happen any more, then ...". `sometimes`
//! properties prove the scenario reaches what it claims to exercise.

use crate::collections::IndexSet;
use crate::config::{Config, Isolation, Restart};
use crate::coordinator::TxnState;
use crate::history::{Milestone, Violation};
use crate::model::EosModel;
use crate::partition::{LogEntry, PartitionState};
use crate::state::State;
use crate::types::*;
use stateright::Property;

/// Every property name, in catalogue order.
pub const ALL_NAMES: &[&str] = &[
    "valid_coordinator_transitions",
    "epoch_monotonic",
    "fenced_epochs_never_append",
    "atomicity",
    "no_hanging_transaction",
    "transaction_identity",
    "consumer_sees_only_committed",
    "no_lost_committed_write",
    "idempotence",
    "lso_bounded_and_monotone",
    "offsets_visible_iff_committed",
    "copier_exactly_once",
    "no_spurious_fence",
    "prepare_completes",
    "ongoing_ends",
    "lso_advances",
    "committed_eventually_visible",
    "live_producer_progresses",
    "commit_reached",
    "abort_reached",
    "producer_fenced_reached",
    "timeout_abort_reached",
    "failover_completes_prepare",
    "copier_completed",
];

/// Whether `name` is a liveness property (judged at terminal states).
pub fn is_liveness(name: &str) -> bool {
    LIVENESS.contains(&name)
}

/// The liveness properties, judged at terminal states, in catalogue order.
pub const LIVENESS: &[&str] =
    &["prepare_completes", "ongoing_ends", "lso_advances", "committed_eventually_visible", "live_producer_progresses"];

/// The properties that apply to `config` (e.g. copier properties only for the copier; reachability
/// only where the scenario has the ingredients).
pub fn applicable(config: &Config) -> Vec<Property<EosModel>> {
    let p = &config.producers;
    let f = &config.faults;
    let txn = p.transactional;
    let copier = config.is_copier();
    let aborts = p.client_aborts || f.timeouts > 0 || f.producer_crashes > 0 || zombies(config);
    let fencing_exercised = config.guards.fencing && (p.instances > 1 || f.timeouts > 0);
    let all = [
        (true, Property::always("valid_coordinator_transitions", valid_coordinator_transitions)),
        (true, Property::always("epoch_monotonic", epoch_monotonic)),
        (true, Property::always("fenced_epochs_never_append", fenced_epochs_never_append)),
        (txn, Property::always("atomicity", atomicity)),
        (txn, Property::always("no_hanging_transaction", no_hanging_transaction)),
        (txn, Property::always("transaction_identity", transaction_identity)),
        (true, Property::always("consumer_sees_only_committed", consumer_sees_only_committed)),
        (txn, Property::always("no_lost_committed_write", no_lost_committed_write)),
        (true, Property::always("idempotence", idempotence)),
        (true, Property::always("lso_bounded_and_monotone", lso_bounded_and_monotone)),
        (copier, Property::always("offsets_visible_iff_committed", offsets_visible_iff_committed)),
        (copier, Property::always("copier_exactly_once", copier_exactly_once)),
        (txn && config.guards.fencing, Property::always("no_spurious_fence", no_spurious_fence)),
        (txn, Property::always("prepare_completes", prepare_completes)),
        (txn, Property::always("ongoing_ends", ongoing_ends)),
        (txn, Property::always("lso_advances", lso_advances)),
        (txn, Property::always("committed_eventually_visible", committed_eventually_visible)),
        (txn, Property::always("live_producer_progresses", live_producer_progresses)),
        (txn, Property::sometimes("commit_reached", commit_reached)),
        (txn && aborts, Property::sometimes("abort_reached", abort_reached)),
        (txn && fencing_exercised, Property::sometimes("producer_fenced_reached", producer_fenced_reached)),
        (
            txn && (f.timeouts > 0 || f.producer_crashes > 0),
            Property::sometimes("timeout_abort_reached", timeout_abort_reached),
        ),
        (f.coordinator_failovers > 0, Property::sometimes("failover_completes_prepare", failover_completes_prepare)),
        (copier, Property::sometimes("copier_completed", copier_completed)),
    ];
    assert_eq!(all.len(), ALL_NAMES.len(), "ALL_NAMES lists every property of the catalogue");
    all.into_iter().filter(|(applies, _)| *applies).map(|(_, p)| p).collect()
}

fn zombies(config: &Config) -> bool {
    config.producers.instances > 1 && config.producers.restart == Restart::AnyTime
}

// ---------------------------------------------------------------------------------------------
// Helpers over the logs.

/// Every data record of every partition as (partition, offset, entry).
fn data_records(state: &State) -> impl Iterator<Item = (&PartitionState, Offset, &LogEntry)> {
    state.partitions.iter().flat_map(|p| {
        p.log
            .iter()
            .enumerate()
            .filter(|(_, e)| matches!(e, LogEntry::Data { .. }))
            .map(move |(i, e)| (&**p, i as Offset, e))
    })
}

/// For every transactional data record: its attempt and, once ended, the marker's (commit, ends).
fn resolved_records(state: &State) -> impl Iterator<Item = (Attempt, Option<(bool, IndexSet<Attempt>)>)> + '_ {
    data_records(state).filter_map(|(p, offset, entry)| match entry {
        LogEntry::Data { transactional: true, attempt, .. } => {
            let fate = match p.fate(offset) {
                Some(LogEntry::Control { commit, ends, .. }) => Some((*commit, *ends)),
                _ => None,
            };
            Some((*attempt, fate))
        }
        _ => None,
    })
}

fn decision(state: &State, attempt: &Attempt) -> Option<bool> {
    state.history.decisions.get(attempt)
}

// ---------------------------------------------------------------------------------------------
// Safety.

fn valid_coordinator_transitions(_: &EosModel, s: &State) -> bool {
    !s.history.violations.contains(&Violation::InvalidTransition)
}

fn epoch_monotonic(_: &EosModel, s: &State) -> bool {
    !s.history.violations.contains(&Violation::EpochRegressed)
}

/// Once a partition holds epoch e of a pid (data or marker), no data with a lower epoch follows.
/// (Logs are short: comparing each record with the ones before it allocates nothing.)
fn fenced_epochs_never_append(_: &EosModel, s: &State) -> bool {
    s.partitions.iter().all(|p| {
        p.log.iter().enumerate().all(|(i, entry)| match entry {
            LogEntry::Data { producer_id: Some(pid), epoch, .. } => {
                p.log[..i].iter().all(|earlier| earlier.producer_id() != Some(*pid) || earlier.epoch() <= *epoch)
            }
            _ => true,
        })
    })
}

/// All effects of one transaction attempt end alike, and as the coordinator decided.
fn atomicity(_: &EosModel, s: &State) -> bool {
    let (mut committed, mut aborted) = (IndexSet::new(), IndexSet::new());
    let record_fates = resolved_records(s).filter_map(|(attempt, fate)| fate.map(|(commit, _)| (attempt, commit)));
    for (attempt, commit) in s.history.offset_fates.iter().chain(record_fates) {
        if commit {
            committed.insert(attempt);
        } else {
            aborted.insert(attempt);
        }
    }
    committed.is_disjoint(&aborted)
        && committed.iter().all(|a| decision(s, &a) != Some(false))
        && aborted.iter().all(|a| decision(s, &a) != Some(true))
}

/// Every transaction open on a partition, or pending in the group, is one the coordinator has open
/// with that partition.
fn no_hanging_transaction(_: &EosModel, s: &State) -> bool {
    let known = |pid: ProducerId, target: TxnPartition| {
        s.coordinator
            .log
            .iter()
            .flatten()
            .any(|r| r.producer_id == pid && r.state.has_open_transaction() && r.partitions.contains(&target))
    };
    let partitions_ok = s.partitions.iter().enumerate().all(|(i, p)| {
        p.producers
            .iter()
            .filter(|(_, e)| e.open_transaction.is_some())
            .all(|(pid, _)| known(*pid, TxnPartition::Data(i as PartitionIndex)))
    });
    partitions_ok && s.group.pending().all(|(pid, _)| known(*pid, TxnPartition::Offsets))
}

/// Each record ends in the transaction it was sent in; no EndTxn ends another attempt's transaction.
fn transaction_identity(_: &EosModel, s: &State) -> bool {
    !s.history.violations.contains(&Violation::WrongTransactionEnded)
        && resolved_records(s).all(|(attempt, fate)| fate.is_none_or(|(_, ends)| ends.contains(&attempt)))
}

/// The judged consumer sees only committed or non-transactional records (read_committed: below the LSO).
fn consumer_sees_only_committed(m: &EosModel, s: &State) -> bool {
    let committed_only = |(_, entry): (Offset, &LogEntry)| match entry {
        LogEntry::Data { transactional: true, attempt, .. } => decision(s, attempt) == Some(true),
        _ => true,
    };
    s.partitions.iter().all(|p| match m.config.guards.isolation {
        // committed_records stops at the LSO.
        Isolation::ReadCommitted => p.committed_records().all(committed_only),
        Isolation::ReadUncommitted => p.data_records().all(committed_only),
    })
}

/// A transaction whose commit was acknowledged was decided commit, and none of its records is aborted.
fn no_lost_committed_write(_: &EosModel, s: &State) -> bool {
    let (_, acked) = s.history.acknowledged.sets();
    acked.iter().all(|a| decision(s, &a) == Some(true))
        && resolved_records(s).all(|(attempt, fate)| !(acked.contains(&attempt) && fate.is_some_and(|(c, _)| !c)))
}

/// Each record is appended at most once; within (pid, epoch) sequences are contiguous. (Each record
/// is compared with the ones before it: logs are short, and this allocates nothing.)
fn idempotence(_: &EosModel, s: &State) -> bool {
    s.partitions.iter().all(|p| {
        p.log.iter().enumerate().all(|(i, entry)| {
            let LogEntry::Data { producer_id, epoch, sequence, value, attempt, .. } = entry else { return true };
            let earlier = || {
                p.log[..i].iter().filter_map(|e| match e {
                    LogEntry::Data { producer_id, epoch, sequence, value, attempt, .. } => {
                        Some((producer_id, epoch, sequence, value, attempt))
                    }
                    LogEntry::Control { .. } => None,
                })
            };
            let fresh = earlier().all(|(_, _, _, v, a)| (a, v) != (attempt, value));
            let previous = earlier().rfind(|(pid, e, ..)| producer_id.is_some() && (*pid, *e) == (producer_id, epoch));
            let contiguous = previous.is_none_or(|(_, _, seq, ..)| *sequence == seq + 1);
            fresh && contiguous
        })
    })
}

fn lso_bounded_and_monotone(_: &EosModel, s: &State) -> bool {
    !s.history.violations.contains(&Violation::LsoRegressed)
        && s.partitions.iter().all(|p| p.last_stable_offset() <= p.high_watermark())
}

/// Every group's committed offset comes only from a committed transaction (or a plain commit).
fn offsets_visible_iff_committed(_: &EosModel, s: &State) -> bool {
    s.group.groups.iter().all(|g| g.committed_by.is_none_or(|a| decision(s, &a) == Some(true)))
        && s.history.offset_fates.iter().all(|(a, fate)| !fate || decision(s, &a) == Some(true))
}

/// No input appears twice in the committed output, and when no transaction is half-way (no Prepare*),
/// every input below each group's committed offset has its output committed.
fn copier_exactly_once(_: &EosModel, s: &State) -> bool {
    let mut outputs: IndexSet<u8> = IndexSet::new();
    for p in &s.partitions {
        for (_, entry) in p.committed_records() {
            if let LogEntry::Data { value: Value::Copied { input }, .. } = entry {
                if !outputs.insert(*input) {
                    return false;
                }
            }
        }
    }
    let stable = !s.coordinator.log.iter().flatten().any(|r| r.state.is_prepare());
    let committed = s.group.groups.iter().filter_map(|g| g.committed).max().unwrap_or(0);
    !stable || (0..committed).all(|input| outputs.contains(&(input as u8)))
}

/// An instance that no newer instance of its transactional id and no timeout fenced never fails
/// fatally; one that was fenced fails only with an error that says so (PRODUCER_FENCED,
/// INVALID_PRODUCER_EPOCH, ILLEGAL_GENERATION), never with one like INVALID_TXN_STATE.
fn no_spurious_fence(_: &EosModel, s: &State) -> bool {
    s.clients.iter().enumerate().all(|(i, c)| {
        c.phase != crate::client::Phase::FatalError
            || (c.fatal_by_fence && s.history.fenced_instances.contains(&(i as ProducerIndex)))
    })
}

// ---------------------------------------------------------------------------------------------
// Liveness, at terminal states. Each checks its cheap condition first.

fn any_record_in(s: &State, wanted: impl Fn(TxnState) -> bool) -> bool {
    s.coordinator.log.iter().flatten().any(|r| wanted(r.state))
}

fn prepare_completes(m: &EosModel, s: &State) -> bool {
    !any_record_in(s, TxnState::is_prepare) || !m.is_terminal(s)
}

fn ongoing_ends(m: &EosModel, s: &State) -> bool {
    !any_record_in(s, |st| st == TxnState::Ongoing) || !m.is_terminal(s)
}

fn lso_advances(m: &EosModel, s: &State) -> bool {
    let open = s.partitions.iter().any(|p| p.last_stable_offset() < p.high_watermark()) || s.group.has_pending();
    !open || !m.is_terminal(s)
}

fn committed_eventually_visible(m: &EosModel, s: &State) -> bool {
    let committed = |a: &Attempt| decision(s, a) == Some(true) || s.history.acknowledged.get(a) == Some(true);
    let all_visible = s.partitions.iter().all(|p| {
        let lso = p.last_stable_offset();
        p.data_records().all(|(offset, entry)| match entry {
            LogEntry::Data { transactional: true, attempt, .. } if committed(attempt) => {
                offset < lso && p.is_readable_committed(offset, entry)
            }
            _ => true,
        })
    });
    all_visible || !m.is_terminal(s)
}

/// No live producer with work left is stuck: at a state where nothing can happen but retry loops,
/// every producer still running has finished its script.
fn live_producer_progresses(m: &EosModel, s: &State) -> bool {
    let stuck_producer = (0..s.clients.len()).any(|i| m.has_work_left(s, i as ProducerIndex));
    !stuck_producer || !m.is_terminal(s)
}

// ---------------------------------------------------------------------------------------------
// Reachability.

fn commit_reached(_: &EosModel, s: &State) -> bool {
    any_record_in(s, |st| st == TxnState::CompleteCommit)
}

fn abort_reached(_: &EosModel, s: &State) -> bool {
    any_record_in(s, |st| st == TxnState::CompleteAbort)
}

fn producer_fenced_reached(_: &EosModel, s: &State) -> bool {
    s.clients.iter().any(|c| c.fenced)
}

fn timeout_abort_reached(_: &EosModel, s: &State) -> bool {
    s.history.milestones.contains(&Milestone::TimeoutAbortCompleted)
}

fn failover_completes_prepare(_: &EosModel, s: &State) -> bool {
    s.history.milestones.contains(&Milestone::FailoverCompletedPrepare)
}

fn copier_completed(m: &EosModel, s: &State) -> bool {
    let input = m.config.copier.as_ref().map_or(0, |c| c.input_records);
    s.group.groups.iter().all(|g| g.committed == Some(Offset::from(input)))
}
