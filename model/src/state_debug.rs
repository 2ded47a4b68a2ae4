//! The compact `Debug` of a [`State`]: what the explorer shows. One line per producer instance,
//! transactional id, partition and message; fields at their initial value, empty collections and
//! absent records are left out, and the ghost history is one line of what it holds, only when it
//! holds something.

use crate::client::{Client, OffsetsProgress, Phase};
use crate::partition::{LogEntry, PartitionState};
use crate::state::State;
use crate::types::NO_EPOCH;
use std::fmt::{self, Write};

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut lines = Vec::new();
        for (i, client) in self.clients.iter().enumerate() {
            lines.push(format!("producer-{i}: {}", client_line(client)));
        }
        let coordinator = &self.coordinator;
        let epoch = match coordinator.coordinator_epoch {
            0 => String::new(),
            e => format!(" (coordinator epoch {e})"),
        };
        for (t, record) in coordinator.log.iter().enumerate() {
            let Some(r) = record else { continue };
            let mut line = format!("txn-{t}: {:?}, pid {} epoch {}", r.state, r.producer_id, r.producer_epoch);
            if !r.partitions.is_empty() {
                let _ = write!(line, ", partitions {:?}", r.partitions);
            }
            let markers = &coordinator.markers[t];
            if !markers.pending.is_empty() {
                let _ = write!(line, ", markers pending {:?}", markers.pending);
            }
            if !markers.failed.is_empty() {
                let _ = write!(line, ", failed {:?}", markers.failed);
            }
            lines.push(line + &epoch);
        }
        if coordinator.log.iter().all(Option::is_none) && !epoch.is_empty() {
            lines.push(format!("coordinator:{epoch}"));
        }
        for (i, p) in self.partitions.iter().enumerate() {
            if let Some(line) = partition_line(p) {
                lines.push(format!("out-{i}: {line}"));
            }
        }
        for (index, g) in self.group.groups.iter().enumerate() {
            if g.member.is_none() && g.committed.is_none() && g.pending.is_empty() {
                continue;
            }
            let mut line = format!("{}: generation {}", crate::types::group_label(index as u8), g.generation);
            if let Some(m) = g.member {
                let _ = write!(line, ", member producer-{m}");
            }
            if let Some(c) = g.committed {
                let _ = write!(line, ", committed {c}");
            }
            for (pid, pending) in g.pending.iter() {
                let _ = write!(line, ", pending {} (pid {pid} epoch {})", pending.offset, pending.epoch);
            }
            lines.push(line);
        }
        for (message, copies) in self.network.iter() {
            let copies = if *copies > 1 { format!(" ×{copies}") } else { String::new() };
            lines.push(format!("in flight: {message}{copies}"));
        }
        let b = &self.budget;
        let budget: Vec<String> = [
            ("losses", b.losses),
            ("duplicates", b.duplicates),
            ("producer crashes", b.producer_crashes),
            ("coordinator failovers", b.coordinator_failovers),
            ("timeouts", b.timeouts),
        ]
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(what, n)| format!("{what} {n}"))
        .collect();
        if !budget.is_empty() {
            lines.push(format!("faults left: {}", budget.join(", ")));
        }
        let h = &self.history;
        let mut ghost = Vec::new();
        let decided: Vec<String> =
            h.decisions.iter().map(|(a, c)| format!("{a} {}", if c { "commit" } else { "abort" })).collect();
        if !decided.is_empty() {
            ghost.push(format!("decided [{}]", decided.join(", ")));
        }
        if !h.violations.is_empty() {
            ghost.push(format!("broken {:?}", h.violations));
        }
        if !h.milestones.is_empty() {
            ghost.push(format!("milestones {:?}", h.milestones));
        }
        if !ghost.is_empty() {
            lines.push(format!("ghost: {}", ghost.join("; ")));
        }
        if f.alternate() {
            writeln!(f, "State {{")?;
            for line in lines {
                writeln!(f, "    {line}")?;
            }
            write!(f, "}}")
        } else {
            write!(f, "State {{ {} }}", lines.join("; "))
        }
    }
}

fn client_line(c: &Client) -> String {
    let mut line = format!("{:?}", c.phase);
    if let Some(pid) = c.producer_id {
        let _ = write!(line, ", pid {pid} epoch {}", c.epoch);
    } else if c.epoch != NO_EPOCH {
        let _ = write!(line, ", epoch {}", c.epoch);
    }
    if c.attempt > 0 {
        let _ = write!(line, ", attempt {}", c.attempt);
    }
    if c.phase == Phase::Uninitialized && c.attempt == 0 {
        return line;
    }
    if !c.sent.is_empty() {
        let _ = write!(line, ", wrote {:?}", c.sent);
    }
    if !c.added.is_empty() {
        let _ = write!(line, ", added {:?}", c.added);
    }
    if c.offsets != OffsetsProgress::NotSent {
        let _ = write!(line, ", offsets {:?}", c.offsets);
    }
    if c.needs_epoch_bump {
        line.push_str(", needs epoch bump");
    }
    if !c.unresolved.is_empty() {
        let _ = write!(line, ", unresolved {:?}", c.unresolved);
    }
    if c.position > 0 {
        let _ = write!(line, ", input position {}", c.position);
    }
    if c.fenced {
        line.push_str(", fenced");
    }
    for (request, status) in c.awaiting.iter() {
        let _ = write!(line, ", awaiting {} ({status:?})", request.body);
    }
    line
}

fn partition_line(p: &PartitionState) -> Option<String> {
    if p.log.is_empty() && p.producers.is_empty() {
        return None;
    }
    let entries: Vec<String> = p
        .log
        .iter()
        .enumerate()
        .map(|(offset, e)| match e {
            LogEntry::Data { value, producer_id: Some(pid), epoch, sequence, .. } => {
                format!("@{offset} {value} (pid {pid} e{epoch} s{sequence})")
            }
            LogEntry::Data { value, .. } => format!("@{offset} {value}"),
            LogEntry::Control { commit, producer_id, epoch, .. } => {
                format!("@{offset} {} (pid {producer_id} e{epoch})", if *commit { "COMMIT" } else { "ABORT" })
            }
        })
        .collect();
    let mut line = format!("[{}], LSO {}", entries.join(", "), p.last_stable_offset());
    for (pid, entry) in p.producers.iter() {
        if let Some(first) = entry.open_transaction {
            let _ = write!(line, ", pid {pid} open from @{first}");
        }
    }
    for a in &p.aborted {
        let _ = write!(line, ", aborted (pid {} @{}..={})", a.producer_id, a.first_offset, a.last_offset);
    }
    Some(line)
}
