//! Explainers of the safety properties: the record, offset or step that breaks each.

use super::{decision_text, newly, partitions, record_text, txn_records, Step};
use crate::history::Violation;
use crate::message::{Message, RequestBody};
use crate::partition::LogEntry;
use crate::state::Action;
use crate::types::*;
use std::collections::BTreeMap;

pub(super) fn valid_coordinator_transitions(step: &Step) -> Option<String> {
    let before = step.before?;
    let protocol = step.model.config.protocol;
    txn_records(step.after).find_map(|(t, after)| {
        let old = before.coordinator.record(t)?;
        let allowed = after.state.valid_previous_states(protocol);
        (old.state != after.state && !allowed.contains(&old.state)).then(|| {
            format!(
                "txn-{t} moved {:?} → {:?}, but {:?} may only follow {allowed:?} under {protocol}",
                old.state, after.state, after.state
            )
        })
    })
}

pub(super) fn epoch_monotonic(step: &Step) -> Option<String> {
    let before = step.before?;
    txn_records(step.after).find_map(|(t, after)| {
        let old = before.coordinator.record(t)?;
        ((after.producer_id, after.producer_epoch) < (old.producer_id, old.producer_epoch)).then(|| {
            format!(
                "txn-{t}'s (producer id, epoch) went back from ({}, {}) to ({}, {})",
                old.producer_id, old.producer_epoch, after.producer_id, after.producer_epoch
            )
        })
    })
}

pub(super) fn fenced_epochs_never_append(step: &Step) -> Option<String> {
    partitions(step.after).find_map(|(i, p)| {
        let mut highest: BTreeMap<ProducerId, (Epoch, usize)> = BTreeMap::new();
        for (offset, entry) in p.log.iter().enumerate() {
            let (pid, epoch, data) = match entry {
                LogEntry::Data { producer_id: Some(pid), epoch, .. } => (*pid, *epoch, true),
                LogEntry::Control { producer_id, epoch, .. } => (*producer_id, *epoch, false),
                LogEntry::Data { producer_id: None, .. } => continue,
            };
            let (seen, at) = *highest.entry(pid).or_insert((epoch, offset));
            if data && epoch < seen {
                return Some(format!(
                    "out-{i} @{offset}: {} of pid {pid} epoch {epoch} was appended after epoch {seen} of that \
                     producer id had been written at @{at}",
                    record_text(entry)
                ));
            }
            if epoch > seen {
                highest.insert(pid, (epoch, offset));
            }
        }
        None
    })
}

pub(super) fn atomicity(step: &Step) -> Option<String> {
    let s = step.after;
    let mut fates: BTreeMap<Attempt, (bool, String)> = BTreeMap::new();
    for (attempt, fate) in s.history.offset_fates.iter() {
        fates.insert(attempt, (fate, "its offsets".to_string()));
    }
    for (i, p) in partitions(s) {
        for (offset, entry) in p.log.iter().enumerate() {
            let LogEntry::Data { transactional: true, attempt, .. } = entry else { continue };
            let Some(LogEntry::Control { commit, .. }) = p.fate(offset as Offset) else { continue };
            let here = format!("out-{i} @{offset}");
            match fates.get(attempt) {
                Some((other, there)) if other != commit => {
                    return Some(format!(
                        "attempt {attempt}'s transaction ended both ways: {there} {} but {here} {}",
                        ended(*other),
                        ended(*commit)
                    ));
                }
                Some(_) => {}
                None => {
                    fates.insert(*attempt, (*commit, here));
                }
            }
        }
    }
    fates.iter().find_map(|(attempt, (fate, where_))| {
        let decided = s.history.decisions.get(attempt)?;
        (decided != *fate).then(|| {
            format!(
                "the coordinator decided {} attempt {attempt}'s transaction, but {where_} {}",
                verb_of(decided),
                ended(*fate)
            )
        })
    })
}

fn ended(commit: bool) -> &'static str {
    if commit {
        "was committed"
    } else {
        "was aborted"
    }
}

fn verb_of(commit: bool) -> &'static str {
    if commit {
        "to commit"
    } else {
        "to abort"
    }
}

pub(super) fn no_hanging_transaction(step: &Step) -> Option<String> {
    let s = step.after;
    let open_with = |pid: ProducerId, target: TxnPartition| {
        txn_records(s)
            .any(|(_, r)| r.producer_id == pid && r.state.has_open_transaction() && r.partitions.contains(&target))
    };
    let coordinator_view = |pid: ProducerId| {
        txn_records(s)
            .find(|(_, r)| r.producer_id == pid)
            .map_or("has no record of it".to_string(), |(t, r)| format!("has txn-{t} in {:?}", r.state))
    };
    for (i, p) in partitions(s) {
        for (pid, entry) in p.producers.iter() {
            let Some(first) = entry.open_transaction else { continue };
            if !open_with(*pid, TxnPartition::Data(i)) {
                return Some(format!(
                    "out-{i} has a transaction of pid {pid} open from offset {first} that the coordinator does not \
                     have open with out-{i} (it {}): nothing will ever end it",
                    coordinator_view(*pid)
                ));
            }
        }
    }
    s.group.pending().find(|(pid, _)| !open_with(**pid, TxnPartition::Offsets)).map(|(pid, pending)| {
        format!(
            "the group coordinator holds pending offset {} of pid {pid} that no open transaction of the coordinator covers (it {})",
            pending.offset,
            coordinator_view(*pid)
        )
    })
}

pub(super) fn transaction_identity(step: &Step) -> Option<String> {
    if newly(step, Violation::WrongTransactionEnded) {
        if let (Some(before), Some(Action::Deliver { message: Message::Request(request) })) = (step.before, step.action)
        {
            if let RequestBody::EndTxn { txn, commit, .. } = request.body {
                let sender = Attempt { producer: request.from, index: request.attempt };
                let members: Vec<String> = before
                    .coordinator
                    .record(txn)
                    .map(|r| r.members.iter().filter(|m| *m != sender).map(|m| m.to_string()).collect())
                    .unwrap_or_default();
                let what = if commit { "commit" } else { "abort" };
                return Some(format!(
                    "txn-{txn}: the EndTxn({what}) sent in attempt {sender} ended the transaction of attempt {}",
                    if members.is_empty() { "another attempt".to_string() } else { members.join(", ") }
                ));
            }
        }
    }
    for (i, p) in partitions(step.after) {
        for (offset, entry) in p.log.iter().enumerate() {
            let LogEntry::Data { transactional: true, attempt, value, .. } = entry else { continue };
            if let Some(LogEntry::Control { ends, commit, .. }) = p.fate(offset as Offset) {
                if !ends.contains(attempt) {
                    let enders: Vec<String> = ends.iter().map(|a| a.to_string()).collect();
                    return Some(format!(
                        "out-{i} @{offset}: record {value}, sent in attempt {attempt}, was ended by the {} marker of \
                         attempt {}'s transaction",
                        if *commit { "COMMIT" } else { "ABORT" },
                        enders.join(", ")
                    ));
                }
            }
        }
    }
    None
}

pub(super) fn consumer_sees_only_committed(step: &Step) -> Option<String> {
    let s = step.after;
    let isolation = step.model.config.guards.isolation;
    partitions(s).find_map(|(i, p)| {
        let view = match isolation {
            crate::config::Isolation::ReadCommitted => p.read_committed(),
            crate::config::Isolation::ReadUncommitted => p.read_uncommitted(),
        };
        view.into_iter().find_map(|(offset, entry)| match entry {
            LogEntry::Data { transactional: true, attempt, value, .. }
                if s.history.decisions.get(attempt) != Some(true) =>
            {
                Some(format!(
                    "a {} consumer of out-{i} reads offset {offset} (record {value}), whose transaction (attempt \
                     {attempt}) was {}",
                    isolation_name(isolation),
                    decision_text(s, attempt)
                ))
            }
            _ => None,
        })
    })
}

fn isolation_name(isolation: crate::config::Isolation) -> &'static str {
    match isolation {
        crate::config::Isolation::ReadCommitted => "read_committed",
        crate::config::Isolation::ReadUncommitted => "read_uncommitted",
    }
}

pub(super) fn no_lost_committed_write(step: &Step) -> Option<String> {
    let s = step.after;
    let acknowledged: Vec<Attempt> = s.history.acknowledged.iter().filter(|(_, c)| *c).map(|(a, _)| a).collect();
    if let Some(a) = acknowledged.iter().find(|a| s.history.decisions.get(a) != Some(true)) {
        return Some(format!(
            "attempt {a} was told its commit succeeded, but the coordinator's decision for it is: {}",
            decision_text(s, a)
        ));
    }
    partitions(s).find_map(|(i, p)| {
        p.log.iter().enumerate().find_map(|(offset, entry)| {
            let LogEntry::Data { transactional: true, attempt, value, .. } = entry else { return None };
            let aborted = matches!(p.fate(offset as Offset), Some(LogEntry::Control { commit: false, .. }));
            (aborted && acknowledged.contains(attempt)).then(|| {
                format!("attempt {attempt} was told its commit succeeded, but its record {value} at out-{i} @{offset} was aborted")
            })
        })
    })
}

pub(super) fn idempotence(step: &Step) -> Option<String> {
    partitions(step.after).find_map(|(i, p)| {
        let mut seen: BTreeMap<(Attempt, Value), usize> = BTreeMap::new();
        let mut last: BTreeMap<(ProducerId, Epoch), Sequence> = BTreeMap::new();
        for (offset, entry) in p.log.iter().enumerate() {
            let LogEntry::Data { producer_id, epoch, sequence, value, attempt, .. } = entry else { continue };
            if let Some(first) = seen.insert((*attempt, *value), offset) {
                return Some(format!("out-{i} holds record {value} twice: at @{first} and again at @{offset}"));
            }
            if let Some(pid) = producer_id {
                if let Some(previous) = last.insert((*pid, *epoch), *sequence) {
                    if *sequence != previous + 1 {
                        return Some(format!(
                            "out-{i} @{offset}: sequence {sequence} of pid {pid} epoch {epoch} follows sequence \
                             {previous}: not contiguous"
                        ));
                    }
                }
            }
        }
        None
    })
}

pub(super) fn lso_bounded_and_monotone(step: &Step) -> Option<String> {
    if let (Some(before), true) = (step.before, newly(step, Violation::LsoRegressed)) {
        let moved = partitions(step.after).zip(&before.partitions).find_map(|((i, after), before)| {
            let (b, a) = (before.last_stable_offset(), after.last_stable_offset());
            (a < b).then(|| format!("out-{i}'s last stable offset went back from {b} to {a}"))
        });
        if moved.is_some() {
            return moved;
        }
    }
    partitions(step.after).find_map(|(i, p)| {
        (p.last_stable_offset() > p.high_watermark()).then(|| {
            format!(
                "out-{i}'s last stable offset {} is beyond its high watermark {}",
                p.last_stable_offset(),
                p.high_watermark()
            )
        })
    })
}

pub(super) fn offsets_visible_iff_committed(step: &Step) -> Option<String> {
    let s = step.after;
    for (g, group) in s.group.groups.iter().enumerate() {
        if let (Some(attempt), Some(offset)) = (group.committed_by, group.committed) {
            if s.history.decisions.get(&attempt) != Some(true) {
                return Some(format!(
                    "the {}'s committed offset {offset} comes from attempt {attempt}, whose transaction was {}",
                    group_label(g as GroupIndex),
                    decision_text(s, &attempt)
                ));
            }
        }
    }
    s.history.offset_fates.iter().find(|(a, fate)| *fate && s.history.decisions.get(a) != Some(true)).map(|(a, _)| {
        format!("the offsets of attempt {a} were materialised, but its transaction was {}", decision_text(s, &a))
    })
}

pub(super) fn copier_exactly_once(step: &Step) -> Option<String> {
    let s = step.after;
    let mut outputs: BTreeMap<u8, String> = BTreeMap::new();
    for (i, p) in partitions(s) {
        for (offset, entry) in p.read_committed() {
            if let LogEntry::Data { value: Value::Copied { input }, .. } = entry {
                let here = format!("out-{i} @{offset}");
                if let Some(first) = outputs.insert(*input, here.clone()) {
                    return Some(format!(
                        "input in-{input} was copied twice into the committed output: {first} and {here}"
                    ));
                }
            }
        }
    }
    let (g, committed) = (s.group.groups.iter().enumerate())
        .map(|(g, group)| (g, group.committed.unwrap_or(0)))
        .max_by_key(|(_, committed)| *committed)
        .unwrap_or((0, 0));
    (0..committed).map(|input| input as u8).find(|input| !outputs.contains_key(input)).map(|input| {
        format!(
            "the {} committed offset {committed}, so input in-{input} counts as processed, but no committed output \
             holds in-{input}: it is lost",
            group_label(g as GroupIndex)
        )
    })
}

pub(super) fn no_spurious_fence(step: &Step) -> Option<String> {
    let s = step.after;
    let (i, _) = s.clients.iter().enumerate().find(|(i, c)| {
        c.phase == crate::client::Phase::FatalError
            && !(c.fatal_by_fence && s.history.fenced_instances.contains(&(*i as ProducerIndex)))
    })?;
    let how = match step.action {
        Some(Action::Deliver { message: Message::Response { request, reply } }) if request.from as usize == i => {
            format!(" by {} to its {}", reply.error, request.body.kind())
        }
        _ => String::new(),
    };
    let why = if s.history.fenced_instances.contains(&(i as ProducerIndex)) {
        "was fenced but failed with an error that does not say so"
    } else {
        "failed fatally though no newer instance and no timeout fenced it"
    };
    Some(format!("producer-{i} {why}{how}"))
}
