//! End-to-end flows of the consume-transform-produce copier: offsets in and outside the
//! transaction, aborts, and OffsetFetch(require_stable).

use crate::common::*;
use eos_broker::client::{ClientConfig, ClientRole, Phase};
use eos_broker::{ClientError, ClientId, ClusterError, ErrorCode, Message, ProtocolMode, TopicPartition};

const ALL_MODES: [ProtocolMode; 3] = [ProtocolMode::Tv1, ProtocolMode::Tv1Verified, ProtocolMode::Tv2];
const C0: ClientId = ClientId(0);
const C1: ClientId = ClientId(1);

#[test]
fn copier_copies_every_input_exactly_once() {
    // Proves copier_exactly_once on the happy path in every mode: output = input, offset consistent.
    for protocol in ALL_MODES {
        let mut c = cluster(protocol, 2, vec![ClientConfig::copier("txn-0")]);
        start(&mut c, C0);
        assert_eq!(c.client(C0).unwrap().phase(), Phase::FetchingOffsets);
        assert_eq!(c.fetch_offsets(C0), Ok(0));
        for _ in 0..4 {
            copy_one(&mut c, C0);
            c.commit(C0).unwrap();
            settle(&mut c);
        }
        let mut output: Vec<String> = (0..2).flat_map(|p| committed(&c, p)).collect();
        output.sort();
        assert_eq!(output, vec!["in-0", "in-1", "in-2", "in-3"], "{protocol:?}");
        assert_eq!(c.group_view().committed[&TopicPartition::input()], 4);
    }
}

/// Copier: send the next input record and the offsets, deliver until acknowledged.
fn copy_one(c: &mut eos_broker::Cluster, client: ClientId) {
    let (partition, value) = c.copier_next(client).unwrap();
    let position = c.client(client).unwrap().position();
    c.send(client, partition, value).unwrap();
    c.send_offsets(client, position + 1).unwrap();
    settle(c);
}

#[test]
fn copier_abort_goes_back_to_fetching_offsets() {
    // Proves section 7: after an abort the copier refetches offsets; pending offsets are dropped.
    let mut c = cluster(ProtocolMode::Tv2, 2, vec![ClientConfig::copier("txn-0")]);
    start(&mut c, C0);
    c.fetch_offsets(C0).unwrap();
    copy_one(&mut c, C0);
    assert_eq!(c.group_view().pending.len(), 1);
    c.abort(C0).unwrap();
    assert_eq!(c.client(C0).unwrap().phase(), Phase::AbortingTransaction);
    settle(&mut c);
    assert_eq!(c.client(C0).unwrap().phase(), Phase::FetchingOffsets);
    assert!(c.group_view().pending.is_empty());
    assert_eq!(c.fetch_offsets(C0), Ok(0));
}

#[test]
fn unstable_offsets_keep_the_copier_fetching() {
    // Proves OffsetFetch(require_stable): UNSTABLE_OFFSET_COMMIT while another instance's offsets are pending.
    let mut c = cluster(ProtocolMode::Tv2, 2, vec![ClientConfig::copier("txn-0"), ClientConfig::copier("txn-1")]);
    start(&mut c, C0);
    c.fetch_offsets(C0).unwrap();
    copy_one(&mut c, C0);
    c.commit(C0).unwrap();
    // Hold the offsets marker: the offsets stay pending.
    deliver_all_but(&mut c, |m| matches!(&m.message, Message::WriteTxnMarker(w) if w.target.is_group_offsets()));
    start_without_settling(&mut c, C1);
    assert_eq!(
        c.fetch_offsets(C1),
        Err(ClusterError::Client(ClientError::UnstableOffsets(ErrorCode::UnstableOffsetCommit)))
    );
    assert_eq!(c.client(C1).unwrap().phase(), Phase::FetchingOffsets);
    settle(&mut c);
    assert_eq!(c.fetch_offsets(C1), Ok(1));
}

fn start_without_settling(c: &mut eos_broker::Cluster, client: ClientId) {
    c.start(client).unwrap();
    deliver_while(c, |m| matches!(m.message, Message::InitProducerId(_) | Message::InitProducerIdResponse(_)));
}

#[test]
fn offsets_outside_the_transaction_commit_after_end_txn() {
    // Proves the offsets_in_transaction guard off: EndTxn, then a plain OffsetCommit (CommittingOffsets).
    let config = ClientConfig { offsets_in_transaction: false, ..ClientConfig::copier("txn-0") };
    let mut c = cluster(ProtocolMode::Tv1, 2, vec![config]);
    start(&mut c, C0);
    c.fetch_offsets(C0).unwrap();
    let (partition, value) = c.copier_next(C0).unwrap();
    c.send(C0, partition, value).unwrap();
    assert!(c.send_offsets(C0, 1).unwrap().is_empty(), "nothing sent inside the transaction");
    settle(&mut c);
    c.commit(C0).unwrap();
    deliver_while(&mut c, |m| m.message.kind() != "OffsetCommit");
    assert_eq!(c.client(C0).unwrap().phase(), Phase::CommittingOffsets);
    settle(&mut c);
    assert_eq!(c.client(C0).unwrap().phase(), Phase::Ready);
    assert_eq!(c.group_view().committed[&TopicPartition::input()], 1);
}

#[test]
fn copier_role_requires_a_transactional_id() {
    // Proves configuration misuse is an error value: a copier without a transactional id cannot start.
    let config = ClientConfig { role: ClientRole::Copier, ..ClientConfig::default() };
    let mut c = cluster(ProtocolMode::Tv2, 1, vec![config]);
    assert!(matches!(c.start(C0), Err(ClusterError::Client(ClientError::Unsupported { .. }))));
}

#[test]
fn txn_offset_commit_during_the_previous_commit_is_retried() {
    // Proves specs 7: TxnOffsetCommit's CONCURRENT_TRANSACTIONS (tv2's implicit add while the
    // previous transaction's markers are in flight) is retriable: re-sent at once, as Java does.
    let mut c = cluster(ProtocolMode::Tv2, 2, vec![ClientConfig::copier("txn-0")]);
    start(&mut c, C0);
    c.fetch_offsets(C0).unwrap();
    copy_one(&mut c, C0);
    c.commit(C0).unwrap();
    deliver_kind(&mut c, "EndTxn");
    deliver_kind(&mut c, "EndTxnResponse");
    assert_eq!(c.client(C0).unwrap().phase(), Phase::Ready);
    c.send_offsets(C0, 2).unwrap();
    deliver_kind(&mut c, "TxnOffsetCommit");
    let reaction = deliver_kind(&mut c, "TxnOffsetCommitResponse");
    assert_eq!(reaction.len(), 1, "the TxnOffsetCommit is re-sent");
    assert_eq!(c.message(reaction[0]).unwrap().message.kind(), "TxnOffsetCommit");
    assert_eq!(c.client(C0).unwrap().phase(), Phase::InTransaction);
    assert_eq!(c.client_view(C0).unwrap().last_error, Some(ErrorCode::ConcurrentTransactions));
    settle(&mut c);
    c.commit(C0).unwrap();
    settle(&mut c);
    assert_eq!(c.group_view().committed[&TopicPartition::input()], 2, "the retried offsets commit");
}

#[test]
fn a_rebalance_refuses_the_offsets_sent_before_it() {
    // Proves specs 6 (rebalance): the member rejoins at a new generation; its TxnOffsetCommit sent
    // with the old one is refused ILLEGAL_GENERATION (abortable), and the next transaction's offsets,
    // sent with the new generation, commit.
    let mut c = cluster(ProtocolMode::Tv2, 1, vec![ClientConfig::copier("txn-0"), ClientConfig::copier("txn-0")]);
    start(&mut c, C0);
    c.fetch_offsets(C0).unwrap();
    let (partition, value) = c.copier_next(C0).unwrap();
    c.send(C0, partition, value).unwrap();
    c.send_offsets(C0, 1).unwrap();
    deliver_while(&mut c, |m| !matches!(m.message, Message::TxnOffsetCommit(_)));
    let generation = c.group_view().generation;
    c.rebalance(C0).unwrap();
    assert_eq!(c.group_view().generation, generation + 1, "a rebalance is a new generation");
    settle(&mut c);
    assert_eq!(c.client(C0).unwrap().phase(), Phase::AbortableError);
    assert_eq!(c.client_view(C0).unwrap().last_error, Some(ErrorCode::IllegalGeneration));
    c.abort(C0).unwrap();
    settle(&mut c);
    assert_eq!(c.fetch_offsets(C0), Ok(0), "the refused offsets never commit");
    copy_one(&mut c, C0);
    c.commit(C0).unwrap();
    settle(&mut c);
    assert_eq!(c.group_view().committed[&TopicPartition::input()], 1, "the new generation's offsets commit");
    // Only the group's live current member rejoins: not an instance a newer join replaced.
    c.crash(C0).unwrap();
    assert!(matches!(c.rebalance(C0), Err(ClusterError::Client(ClientError::InvalidPhase { .. }))));
    start(&mut c, C1);
    assert!(matches!(c.rebalance(C0), Err(ClusterError::Client(ClientError::Unsupported { .. }))));
    c.rebalance(C1).unwrap();
}
