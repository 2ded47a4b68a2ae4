//! Human-readable renderings: actions, and the changes a step makes (the counterexample table).

use crate::client::Phase;
use crate::partition::LogEntry;
use crate::state::{Action, State};
use crate::types::{group_label, GroupIndex};
use std::fmt::Write;

/// Who acts in `action`: a producer instance, the network, or the coordinator.
pub fn actor(action: &Action) -> String {
    match action {
        Action::ProducerStart { producer }
        | Action::ProducerSend { producer, .. }
        | Action::ProducerSendOffsets { producer }
        | Action::ProducerFetchOffsets { producer }
        | Action::ProducerCommit { producer }
        | Action::ProducerAbort { producer }
        | Action::ProducerRetry { producer }
        | Action::ProducerRequestTimeout { producer, .. }
        | Action::ProducerCrash { producer }
        | Action::ProducerBatchExpires { producer, .. } => format!("producer-{producer}"),
        Action::Deliver { .. }
        | Action::Lose { .. }
        | Action::CoordinatorAppendFails { .. }
        | Action::CompletionAppendFails { .. } => "network".to_string(),
        Action::CoordinatorRetryMarkers { .. }
        | Action::CoordinatorResendMarker { .. }
        | Action::CoordinatorTimeout { .. }
        | Action::CoordinatorExpireTransactionalId { .. }
        | Action::CoordinatorAppendCompletes { .. }
        | Action::CoordinatorFailover => "coordinator".to_string(),
        Action::GroupCompleteTransaction { .. } | Action::GroupRebalance { .. } => "group".to_string(),
        Action::PartitionExpireProducer { partition, .. } => format!("out-{partition}"),
    }
}

/// What `action` does, in one line.
pub fn action(action: &Action) -> String {
    match action {
        Action::ProducerStart { .. } => "start: InitProducerId".to_string(),
        Action::ProducerSend { partition, .. } => format!("send a record to out-{partition}"),
        Action::ProducerSendOffsets { .. } => "sendOffsetsToTransaction".to_string(),
        Action::ProducerFetchOffsets { .. } => "OffsetFetch(require_stable)".to_string(),
        Action::ProducerCommit { .. } => "commitTransaction".to_string(),
        Action::ProducerAbort { .. } => "abortTransaction".to_string(),
        Action::ProducerRetry { .. } => "retry failed requests".to_string(),
        Action::ProducerRequestTimeout { request, .. } => {
            format!("request timeout: re-send {}", request.body)
        }
        Action::ProducerCrash { .. } => "crash".to_string(),
        Action::ProducerBatchExpires { request, .. } => format!("delivery timeout: give up {}", request.body),
        Action::GroupRebalance { producer } => format!("rebalance: producer-{producer} rejoins copier-group"),
        Action::Deliver { message } => format!("deliver {message}"),
        Action::CoordinatorAppendFails { request } => {
            format!("deliver {}, whose transaction-log append fails", crate::message::Message::Request(*request))
        }
        Action::CompletionAppendFails { marker } => {
            let answer =
                crate::message::Message::MarkerResponse { marker: *marker, error: crate::types::ErrorCode::None };
            format!("deliver {answer}, whose completion's transaction-log append fails")
        }
        Action::CoordinatorAppendCompletes { request } => {
            format!("the transaction-log append of {} completes: apply, answer", request.body)
        }
        Action::Lose { message } => format!("lose {message}"),
        Action::CoordinatorRetryMarkers { txn } => format!("retry the markers (or the completion) of txn-{txn}"),
        Action::CoordinatorResendMarker { marker } => format!("marker request timed out: re-send {marker}"),
        Action::CoordinatorTimeout { txn } => format!("txn-{txn} timed out: fence and abort"),
        Action::CoordinatorExpireTransactionalId { txn } => {
            format!("expire the idle txn-{txn}: Dead, tombstone logged, forgotten")
        }
        Action::CoordinatorFailover => "failover: reload the transaction log".to_string(),
        Action::GroupCompleteTransaction { producer_id } => {
            format!("complete the answered marker of pid {producer_id}: its offsets now")
        }
        Action::PartitionExpireProducer { producer_id, .. } => {
            format!("expire the producer state of pid {producer_id}")
        }
    }
}

fn phase_name(phase: Phase) -> String {
    format!("{phase:?}")
}

fn entry(e: &LogEntry) -> String {
    match e {
        LogEntry::Data { producer_id: Some(pid), epoch, sequence, transactional, value, .. } => {
            let kind = if *transactional { "transactional " } else { "" };
            format!("{kind}record {value} (pid {pid} epoch {epoch} seq {sequence})")
        }
        LogEntry::Data { value, .. } => format!("record {value} (no producer id)"),
        LogEntry::Control { producer_id, epoch, commit, coordinator_epoch, .. } => {
            let what = if *commit { "COMMIT" } else { "ABORT" };
            format!("{what} marker (pid {producer_id} epoch {epoch}, coordinator epoch {coordinator_epoch})")
        }
    }
}

/// The changes from `before` to `after` that matter to a reader: coordinator states and epochs, new
/// log entries, LSO moves, offsets, client phases. Messages sent are listed last.
pub fn changes(before: &State, after: &State) -> Vec<String> {
    let mut out = Vec::new();
    let (cb, ca) = (&before.coordinator, &after.coordinator);
    if cb.coordinator_epoch != ca.coordinator_epoch {
        out.push(format!("coordinator epoch {} → {}", cb.coordinator_epoch, ca.coordinator_epoch));
    }
    for (txn, (rb, ra)) in cb.log.iter().zip(&ca.log).enumerate() {
        if rb == ra {
            continue;
        }
        let Some(ra) = ra else { continue };
        let from = rb.as_ref().map_or("none".to_string(), |r| format!("{:?}", r.state));
        let parts: Vec<String> = ra.partitions.iter().map(|p| p.to_string()).collect();
        out.push(format!(
            "txn-{txn}: {from} → {:?} (pid {} epoch {}, partitions [{}])",
            ra.state,
            ra.producer_id,
            ra.producer_epoch,
            parts.join(", ")
        ));
    }
    for (i, (pb, pa)) in before.partitions.iter().zip(&after.partitions).enumerate() {
        for (offset, e) in pa.log.iter().enumerate().skip(pb.log.len()) {
            out.push(format!("out-{i} @{offset}: {}", entry(e)));
        }
        let (lb, la) = (pb.last_stable_offset(), pa.last_stable_offset());
        if lb != la {
            out.push(format!("out-{i} LSO {lb} → {la}"));
        }
        for a in pa.aborted.iter().skip(pb.aborted.len()) {
            out.push(format!(
                "out-{i} aborted index + (pid {}, {}..={})",
                a.producer_id, a.first_offset, a.last_offset
            ));
        }
    }
    for (g, (gb, ga)) in before.group.groups.iter().zip(&after.group.groups).enumerate() {
        let label = group_label(g as GroupIndex);
        if gb.committed != ga.committed {
            out.push(format!("{label} committed offset {:?} → {:?}", gb.committed, ga.committed));
        }
        if gb.pending != ga.pending {
            let pending: Vec<String> = ga.pending.iter().map(|(pid, p)| format!("pid {pid}: {}", p.offset)).collect();
            out.push(format!("{label} pending offsets [{}]", pending.join(", ")));
        }
    }
    for (i, (c0, c1)) in before.clients.iter().zip(&after.clients).enumerate() {
        if c0.phase != c1.phase {
            out.push(format!("producer-{i}: {} → {}", phase_name(c0.phase), phase_name(c1.phase)));
        }
        if (c0.producer_id, c0.epoch) != (c1.producer_id, c1.epoch) {
            if let Some(pid) = c1.producer_id {
                out.push(format!("producer-{i}: pid {pid} epoch {}", c1.epoch));
            }
        }
    }
    let mut sent = String::new();
    for (message, copies) in after.network.iter() {
        let had = before.network.get(message).copied().unwrap_or(0);
        for _ in had..*copies {
            let _ = write!(sent, "{}{message}", if sent.is_empty() { "sends: " } else { "; " });
        }
    }
    if !sent.is_empty() {
        out.push(sent);
    }
    out
}
