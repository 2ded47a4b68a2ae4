//! Explainers of the liveness properties, judged at terminal states: what is stuck.

use super::{partitions, terminal, txn_records, Step};
use crate::coordinator::TxnState;
use crate::partition::LogEntry;
use crate::types::*;

pub(super) fn prepare_completes(step: &Step) -> Option<String> {
    let s = step.after;
    txn_records(s).find(|(_, r)| r.state.is_prepare()).map(|(t, r)| {
        let pending: Vec<String> =
            s.coordinator.markers[usize::from(t)].pending.iter().map(|p| p.to_string()).collect();
        terminal(
            step,
            format!("txn-{t} stays in {:?}: its markers to [{}] are never acknowledged", r.state, pending.join(", ")),
        )
    })
}

pub(super) fn ongoing_ends(step: &Step) -> Option<String> {
    txn_records(step.after).find(|(_, r)| r.state == TxnState::Ongoing).map(|(t, r)| {
        let parts: Vec<String> = r.partitions.iter().map(|p| p.to_string()).collect();
        terminal(
            step,
            format!(
                "txn-{t} stays Ongoing (pid {} epoch {}, partitions [{}]): no EndTxn or timeout will end it",
                r.producer_id,
                r.producer_epoch,
                parts.join(", ")
            ),
        )
    })
}

pub(super) fn lso_advances(step: &Step) -> Option<String> {
    let s = step.after;
    let stuck = partitions(s).find_map(|(i, p)| {
        let lso = p.last_stable_offset();
        if lso >= p.high_watermark() {
            return None;
        }
        let pid = p.producers.iter().find(|(_, e)| e.open_transaction == Some(lso)).map(|(pid, _)| *pid)?;
        Some(format!("out-{i}'s LSO stays at {lso}: the transaction of pid {pid} at offset {lso} is never ended"))
    });
    let stuck = stuck.or_else(|| {
        s.group.groups.iter().enumerate().find_map(|(g, group)| {
            let (pid, pending) = group.pending.iter().next()?;
            let group = group_label(g as GroupIndex);
            Some(format!("the {group}'s pending offset {} of pid {pid} is never committed or aborted", pending.offset))
        })
    });
    stuck.map(|what| terminal(step, what))
}

pub(super) fn committed_eventually_visible(step: &Step) -> Option<String> {
    let s = step.after;
    let committed =
        |a: &Attempt| s.history.decisions.get(a) == Some(true) || s.history.acknowledged.get(a) == Some(true);
    partitions(s).find_map(|(i, p)| {
        let visible: Vec<Offset> = p.read_committed().iter().map(|(o, _)| *o).collect();
        p.log.iter().enumerate().find_map(|(offset, entry)| match entry {
            LogEntry::Data { transactional: true, attempt, value, .. }
                if committed(attempt) && !visible.contains(&(offset as Offset)) =>
            {
                let lso = p.last_stable_offset();
                let because = if offset as Offset >= lso {
                    format!("out-{i}'s LSO stays at {lso}")
                } else {
                    format!("an ABORT marker's aborted-index entry on out-{i} covers it")
                };
                Some(terminal(
                    step,
                    format!(
                        "record {value} at out-{i} @{offset} belongs to committed attempt {attempt}, but a \
                         read_committed consumer never sees it ({because})"
                    ),
                ))
            }
            _ => None,
        })
    })
}

pub(super) fn live_producer_progresses(step: &Step) -> Option<String> {
    let s = step.after;
    (0..s.clients.len()).find(|i| step.model.has_work_left(s, *i as ProducerIndex)).map(|i| {
        let c = &s.clients[i];
        let waiting: Vec<String> = c.awaiting.keys().map(|r| r.body.to_string()).collect();
        terminal(
            step,
            format!(
                "producer-{i} is {:?} with work left and can only retry [{}]: it never gets on",
                c.phase,
                waiting.join(", ")
            ),
        )
    })
}
