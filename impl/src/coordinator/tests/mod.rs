//! Unit tests of the transaction coordinator: every answer of specs 4.2 to 4.5, one file per
//! request family, sharing these helpers.

mod end_txn;
mod expiry;
mod init_and_add;
mod markers_and_failover;

use super::*;
use crate::config::ProtocolMode;
use crate::protocol::{
    AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, EndTxnRequest, InitProducerIdRequest, ProducerIdAndEpoch,
};
use crate::storage::MemoryLog;

pub(super) const T: &str = "txn-0";

pub(super) fn coordinator(protocol: ProtocolMode) -> TransactionCoordinator {
    coordinator_with(BrokerConfig { protocol, ..BrokerConfig::default() })
}

pub(super) fn coordinator_with(config: BrokerConfig) -> TransactionCoordinator {
    TransactionCoordinator::new(config, Box::new(MemoryLog::new()))
}

pub(super) fn id() -> TransactionalId {
    TransactionalId::from(T)
}

pub(super) fn init(c: &mut TransactionCoordinator, expected: Option<(i64, i16)>) -> (ErrorCode, i64, i16) {
    let request = InitProducerIdRequest {
        transactional_id: Some(id()),
        transaction_timeout_ms: 1000,
        expected: expected.map(|(producer_id, producer_epoch)| ProducerIdAndEpoch { producer_id, producer_epoch }),
    };
    let (r, _) = c.handle_init_producer_id(0, &request);
    (r.error, r.producer_id, r.producer_epoch)
}

pub(super) fn add(c: &mut TransactionCoordinator, pid: i64, epoch: i16, partition: i32) -> ErrorCode {
    let request = AddPartitionsToTxnRequest {
        transactional_id: id(),
        producer_id: pid,
        producer_epoch: epoch,
        partition: TopicPartition::output(partition),
    };
    c.handle_add_partitions(10, &request).error
}

pub(super) fn end(
    c: &mut TransactionCoordinator,
    pid: i64,
    epoch: i16,
    commit: bool,
) -> (ErrorCode, i64, i16, Vec<WriteTxnMarkerRequest>) {
    let request = EndTxnRequest { transactional_id: id(), producer_id: pid, producer_epoch: epoch, commit };
    let (r, markers) = c.handle_end_txn(20, &request);
    (r.error, r.producer_id, r.producer_epoch, markers)
}

pub(super) fn ack_all(c: &mut TransactionCoordinator, markers: &[WriteTxnMarkerRequest]) {
    for marker in markers {
        c.handle_marker_response(30, &marker.respond(ErrorCode::None));
    }
}

pub(super) fn state(c: &TransactionCoordinator) -> TxnState {
    c.metadata(&id()).expect("metadata").state
}
