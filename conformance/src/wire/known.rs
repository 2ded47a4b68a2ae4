//! Divergences of Apache Kafka from the model that were investigated and found to be Kafka's own
//! behaviour (specs/wire-target.md §8). Each has a narrow signature over the trace, the model's
//! states and the divergence, so it cannot hide another difference; docs/kafka-conformance.md explains
//! each with its reproducer. A known divergence is counted under its name and does not fail a run.

use super::replay::WireDivergence;
use eos_model::coordinator::TxnState;
use eos_model::message::{Message, RequestBody};
use eos_model::types::{Epoch, PartitionIndex, ProducerId};
use eos_model::{Action, Protocol, State};

/// A known divergence.
#[derive(Clone, Copy)]
pub struct Known {
    /// Its name (a heading of docs/kafka-conformance.md).
    pub id: &'static str,
    /// One line saying what it is.
    pub summary: &'static str,
    matches: fn(&Context) -> bool,
}

/// What a signature is matched against.
pub struct Context<'a> {
    /// The protocol of the trace.
    pub protocol: Protocol,
    /// The trace's actions.
    pub actions: &'a [Action],
    /// The model's states (initial first).
    pub states: &'a [State],
    /// The divergence.
    pub divergence: &'a WireDivergence,
}

/// Every known divergence.
pub const KNOWN: &[Known] = &[
    Known {
        id: "stale-verification-state",
        summary: "tv1-verified: a duplicate of an already written batch, verified while no transaction is \
                  open on the partition, leaves a verification state whose lowest sequence makes the next \
                  in-order batch OUT_OF_ORDER_SEQUENCE_NUMBER (Kafka bug; the client aborts and bumps its epoch)",
        matches: stale_verification_state,
    },
    Known {
        id: "KAFKA-20785",
        summary: "tv2: a commit sent before the coordinator fenced and aborted its transaction arrives at \
                  the retry epoch in CompleteAbort and is answered INVALID_TXN_STATE (fatal), not \
                  PRODUCER_FENCED (Kafka bug, fixed on trunk after Apache Kafka 4.4; the model has the fix)",
        matches: kafka_20785,
    },
];

/// The known divergence `divergence` is, if any.
pub fn classify(cx: &Context) -> Option<&'static Known> {
    KNOWN.iter().find(|k| (k.matches)(cx))
}

fn produce_of(action: &Action) -> Option<(PartitionIndex, ProducerId, Epoch, i32)> {
    match action {
        Action::Deliver {
            message:
                Message::Request(eos_model::message::Request {
                    body: RequestBody::Produce { partition, producer_id: Some(pid), epoch, sequence, txn: Some(_), .. },
                    ..
                }),
        } => Some((*partition, *pid, *epoch, *sequence)),
        _ => None,
    }
}

fn entries_of(state: &State, partition: PartitionIndex, pid: ProducerId) -> usize {
    state.partitions[usize::from(partition)].log.iter().filter(|e| e.producer_id() == Some(pid)).count()
}

/// Kafka's `ProducerAppendInfo.checkSequence` refuses a batch whose sequence is above the lowest
/// sequence of the producer's verification state; that state is created by verification and cleared
/// only by a transactional append. A duplicate is answered without an append, so a duplicate verified
/// while no transaction of its epoch was open leaves the state behind, and the next in-order batch is
/// refused. Signature: tv1-verified; the diverging step is a transactional Produce of (partition, pid,
/// epoch) with sequence s > 0 that the model accepts and Kafka answers OUT_OF_ORDER_SEQUENCE_NUMBER;
/// earlier, a Produce of the same (partition, pid, epoch) with a lower sequence arrived with no
/// transaction of that epoch open there, was a duplicate (nothing appended), and nothing of that
/// producer was appended to the partition since.
fn stale_verification_state(cx: &Context) -> bool {
    let d = cx.divergence;
    let refused = d
        .diffs
        .iter()
        .any(|f| f.path == "error" && f.left == "\"NONE\"" && f.right == "\"OUT_OF_ORDER_SEQUENCE_NUMBER\"");
    if cx.protocol != Protocol::Tv1Verified || !refused || d.step == 0 {
        return false;
    }
    let Some((partition, pid, epoch, sequence)) = cx.actions.get(d.step - 1).and_then(produce_of) else {
        return false;
    };
    if sequence == 0 {
        return false;
    }
    let before_divergence = &cx.states[d.step - 1];
    (1..d.step).any(|j| {
        let Some((p, q, e, s)) = produce_of(&cx.actions[j - 1]) else { return false };
        let (before, after) = (&cx.states[j - 1], &cx.states[j]);
        let part = &before.partitions[usize::from(p)];
        let open = part.has_open_transaction(pid, epoch);
        let duplicate = part.log.len() == after.partitions[usize::from(p)].log.len();
        (p, q, e) == (partition, pid, epoch)
            && s < sequence
            && !open
            && duplicate
            && entries_of(after, partition, pid) == entries_of(before_divergence, partition, pid)
    })
}

/// Apache Kafka 4.4's TV2 `endTransaction` takes an EndTxn at the epoch just below the coordinator's
/// for a retry, and in CompleteAbort answers a retried commit INVALID_TXN_STATE; when the coordinator
/// fenced and aborted the transaction (a timeout, another instance's InitProducerId) the commit is
/// not a retry but late, and trunk (KAFKA-20785) answers PRODUCER_FENCED, as the model does.
/// Signature: tv2; the diverging step delivers EndTxn(commit, pid, epoch) that the model answers
/// PRODUCER_FENCED and Kafka INVALID_TXN_STATE; before it, the coordinator's record has that producer
/// id in CompleteAbort at epoch + 1.
fn kafka_20785(cx: &Context) -> bool {
    let d = cx.divergence;
    let answered = d
        .diffs
        .iter()
        .any(|f| f.path == "error" && f.left == "\"PRODUCER_FENCED\"" && f.right == "\"INVALID_TXN_STATE\"");
    if cx.protocol != Protocol::Tv2 || !answered || d.step == 0 || d.diffs.len() != 1 {
        return false;
    }
    let Some(Action::Deliver {
        message:
            Message::Request(eos_model::message::Request {
                body: RequestBody::EndTxn { txn, producer_id, epoch, commit: true },
                ..
            }),
    }) = cx.actions.get(d.step - 1)
    else {
        return false;
    };
    cx.states[d.step - 1].coordinator.record(*txn).is_some_and(|r| {
        r.state == TxnState::CompleteAbort
            && r.producer_id == *producer_id
            && i32::from(r.producer_epoch) == i32::from(*epoch) + 1
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Trace;
    use eos_model::observe::FieldDiff;

    fn reproducer() -> (Trace, Vec<State>) {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../specs/kafka/stale-verification-state.tv1-verified.json");
        let trace = Trace::read(std::path::Path::new(path)).unwrap();
        let states = trace.validate().unwrap();
        (trace, states)
    }

    fn refused_at(step: usize) -> WireDivergence {
        WireDivergence {
            step,
            action: None,
            what: "the response to Produce".to_string(),
            diffs: vec![FieldDiff {
                path: "error".to_string(),
                left: "\"NONE\"".to_string(),
                right: "\"OUT_OF_ORDER_SEQUENCE_NUMBER\"".to_string(),
            }],
        }
    }

    /// Every reproducer of specs/kafka is a path of the model with the model's states (when the
    /// observable state changes, rebuild them: `Trace::under_protocol(trace.protocol)` and write).
    #[test]
    fn kafka_reproducers_are_model_paths() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/kafka");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let trace = Trace::read(&path).unwrap();
            trace.validate().unwrap_or_else(|(step, why)| panic!("{}: step {step}: {why}", path.display()));
            seen += 1;
        }
        assert!(seen >= 2);
    }

    /// The reproducer's divergence is recognised, and only there: not at another step, not under
    /// another protocol, not with another error.
    #[test]
    fn stale_verification_state_is_recognised_narrowly() {
        let (trace, states) = reproducer();
        let actions = trace.actions();
        let step = trace.steps.len();
        let at = |protocol, divergence: &WireDivergence| {
            classify(&Context { protocol, actions: &actions, states: &states, divergence }).map(|k| k.id)
        };
        assert_eq!(at(Protocol::Tv1Verified, &refused_at(step)), Some("stale-verification-state"));
        assert_eq!(at(Protocol::Tv1, &refused_at(step)), None, "tv1 has no verification");
        assert_eq!(at(Protocol::Tv1Verified, &refused_at(step - 2)), None, "another step");
        let mut other = refused_at(step);
        other.diffs[0].right = "\"INVALID_PRODUCER_EPOCH\"".to_string();
        assert_eq!(at(Protocol::Tv1Verified, &other), None, "another error");
    }

    fn commit_answered(step: usize, model: &str, broker: &str) -> WireDivergence {
        WireDivergence {
            step,
            action: None,
            what: "the response to EndTxn".to_string(),
            diffs: vec![FieldDiff {
                path: "error".to_string(),
                left: format!("\"{model}\""),
                right: format!("\"{broker}\""),
            }],
        }
    }

    /// KAFKA-20785's reproducer is recognised at its late commit only: not under tv1-verified, not
    /// at another step (an earlier state has no CompleteAbort), not with another answer.
    #[test]
    fn kafka_20785_is_recognised_narrowly() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../specs/kafka/KAFKA-20785.tv2.commit-after-timeout.json");
        let trace = Trace::read(std::path::Path::new(path)).unwrap();
        let states = trace.validate().unwrap();
        let actions = trace.actions();
        let step = trace.steps.len();
        let at = |protocol, divergence: &WireDivergence| {
            classify(&Context { protocol, actions: &actions, states: &states, divergence }).map(|k| k.id)
        };
        let late = commit_answered(step, "PRODUCER_FENCED", "INVALID_TXN_STATE");
        assert_eq!(at(Protocol::Tv2, &late), Some("KAFKA-20785"));
        assert_eq!(at(Protocol::Tv1Verified, &late), None, "tv2 only");
        assert_eq!(at(Protocol::Tv2, &commit_answered(step - 1, "PRODUCER_FENCED", "INVALID_TXN_STATE")), None);
        assert_eq!(at(Protocol::Tv2, &commit_answered(step, "PRODUCER_FENCED", "NONE")), None, "another answer");
        assert_eq!(at(Protocol::Tv2, &commit_answered(step, "NONE", "INVALID_TXN_STATE")), None, "another answer");
    }
}
