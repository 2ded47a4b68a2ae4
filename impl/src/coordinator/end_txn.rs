//! Ending transactions (KIP-98, KIP-890 part 2; specs/eos.md 4.4 and 4.5): EndTxn from the
//! client, and the coordinator's own aborts — the fence of an Ongoing transaction (InitProducerId
//! from a new instance) and the transaction timeout. tv2 bumps the epoch at every end (Prepare*
//! carries epoch + 1 and the EndTxn answer returns it) and allows the empty abort.

use super::append_window::Appended;
use super::txn_state::TxnState;
use super::{TransactionCoordinator, TransactionMetadata};
use crate::error::ErrorCode;
use crate::mutation::Fault;
use crate::protocol::{EndTxnRequest, EndTxnResponse, WriteTxnMarkerRequest};
use crate::types::{ProducerEpoch, ProducerId, TimestampMs, TransactionalId, NO_PRODUCER_EPOCH, NO_PRODUCER_ID};

/// Who ends the transaction: the client, or the coordinator itself (fence, timeout).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Initiator {
    Client,
    Coordinator,
}

fn answer(commit: bool, error: ErrorCode, producer_id: ProducerId, producer_epoch: ProducerEpoch) -> EndTxnResponse {
    EndTxnResponse { commit, error, producer_id, producer_epoch }
}

impl TransactionCoordinator {
    /// Handles EndTxn; returns the answer and the markers to send.
    pub fn handle_end_txn(
        &mut self,
        now_ms: TimestampMs,
        request: &EndTxnRequest,
    ) -> (EndTxnResponse, Vec<WriteTxnMarkerRequest>) {
        let commit = request.commit;
        let fail = |code| (answer(commit, code, NO_PRODUCER_ID, NO_PRODUCER_EPOCH), Vec::new());
        let id = &request.transactional_id;
        // An id whose first InitProducerId was never logged has no epoch: nobody owns it yet.
        let Some(metadata) = self.transactions.get(id).filter(|m| m.producer_epoch >= 0) else {
            return fail(ErrorCode::InvalidProducerIdMapping);
        };
        // Step 1: the producer id.
        if let Err(code) = self.check_end_producer_id(metadata, request) {
            return fail(code);
        }
        let tv2 = self.config().protocol.is_tv2();
        let fixes = self.config().fixes;
        let pending = metadata.pending_transition_in_progress();
        // Step 2 (tv2, KAFKA-18464): a pending transition before the epoch, so that a producer's next
        // EndTxn (an empty abort at the bumped epoch) waits instead of fencing itself.
        if tv2 && fixes.kafka_18464 && pending {
            return fail(ErrorCode::ConcurrentTransactions);
        }
        // Step 3: the epoch.
        if self.config().fencing && !self.end_epoch_is_valid(metadata, request) {
            return fail(ErrorCode::ProducerFenced);
        }
        if pending {
            return fail(ErrorCode::ConcurrentTransactions);
        }
        let current = (metadata.producer_id, metadata.producer_epoch);
        let retry = tv2 && self.is_end_retry(metadata, request);
        // Step 4: by state.
        match (metadata.state, commit) {
            (TxnState::Ongoing, _) => match self.end_ongoing(id, commit, Initiator::Client, now_ms) {
                Ok((pid, epoch, markers)) => (answer(commit, ErrorCode::None, pid, epoch), markers),
                Err(code) => fail(code),
            },
            (TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort, false) if tv2 && !retry => {
                match self.empty_abort(id, now_ms) {
                    Ok((pid, epoch)) => (answer(commit, ErrorCode::None, pid, epoch), Vec::new()),
                    Err(code) => fail(code),
                }
            }
            (TxnState::CompleteAbort, false)
                if !tv2
                    && TxnState::PrepareAbort.may_follow(
                        TxnState::CompleteAbort,
                        self.config().protocol,
                        self.config().faults,
                    ) =>
            {
                // Only with fault 7: a retried abort taken for a new, empty one.
                match self.empty_abort(id, now_ms) {
                    Ok((pid, epoch)) => (answer(commit, ErrorCode::None, pid, epoch), Vec::new()),
                    Err(code) => fail(code),
                }
            }
            (TxnState::CompleteCommit, true) | (TxnState::CompleteAbort, false) if !tv2 || retry => {
                (answer(commit, ErrorCode::None, current.0, current.1), Vec::new())
            }
            // KAFKA-20785: a commit at a retry epoch after an abort can only have raced the
            // coordinator's own abort (a timeout or fence): the producer is fenced.
            (TxnState::CompleteAbort, true) if retry && fixes.kafka_20785 => fail(ErrorCode::ProducerFenced),
            _ => fail(ErrorCode::InvalidTxnState),
        }
    }

    /// tv2: a retried EndTxn carries the epoch the end bumped from (or the one before a rotation).
    fn is_end_retry(&self, metadata: &TransactionMetadata, request: &EndTxnRequest) -> bool {
        i32::from(request.producer_epoch) + 1 == i32::from(metadata.producer_epoch)
            || self.is_retry_across_rotation(metadata, request)
    }

    /// Step 1: the producer id must be the current one. tv2 also accepts the next id while the
    /// rotating transaction completes (CONCURRENT_TRANSACTIONS) and a retry across a rotation.
    fn check_end_producer_id(&self, metadata: &TransactionMetadata, request: &EndTxnRequest) -> Result<(), ErrorCode> {
        if request.producer_id == metadata.producer_id || self.is_retry_across_rotation(metadata, request) {
            return Ok(());
        }
        if metadata.next_producer_id != NO_PRODUCER_ID && request.producer_id == metadata.next_producer_id {
            return Err(ErrorCode::ConcurrentTransactions);
        }
        Err(ErrorCode::InvalidProducerIdMapping)
    }

    /// tv2: a retried EndTxn whose transaction rotated the producer id at an exhausted epoch: the
    /// previous id, the last epoch before the maximum, the new id at epoch 0 (Kafka's
    /// `retryOnOverflow`).
    fn is_retry_across_rotation(&self, metadata: &TransactionMetadata, request: &EndTxnRequest) -> bool {
        self.config().protocol.is_tv2()
            && metadata.previous_producer_id != NO_PRODUCER_ID
            && request.producer_id == metadata.previous_producer_id
            && metadata.producer_epoch == 0
            && request.producer_epoch == self.config().max_producer_epoch - 1
    }

    /// Step 3 (specs 4.4): tv1 needs the current epoch; tv2 accepts a retry's older epoch in
    /// Prepare* / Complete* (in Complete* also a retry across a rotation) and the current one for an
    /// empty abort.
    fn end_epoch_is_valid(&self, metadata: &TransactionMetadata, request: &EndTxnRequest) -> bool {
        let epoch = i32::from(request.producer_epoch);
        let current = i32::from(metadata.producer_epoch);
        if !self.config().protocol.is_tv2() {
            return epoch == current;
        }
        // A retry across a rotation counts as a retry only where a retry is valid: once the rotating
        // transaction completed. The next producer id's own transaction (Empty, Ongoing) fences it.
        match metadata.state {
            TxnState::Ongoing | TxnState::Empty | TxnState::Dead | TxnState::PrepareEpochFence => epoch == current,
            TxnState::PrepareCommit | TxnState::PrepareAbort => epoch == current - 1,
            TxnState::CompleteCommit | TxnState::CompleteAbort => {
                epoch == current - 1 || epoch == current || self.is_retry_across_rotation(metadata, request)
            }
        }
    }

    /// The epoch a tv2 end moves to, and whether the producer id rotates at completion. Past the
    /// maximum only with a fix switched off (KAFKA-19367 or KAFKA-20090): Kafka's short wraps there.
    fn end_bump(&self, epoch: ProducerEpoch) -> (ProducerEpoch, bool) {
        let bumped = epoch.checked_add(1).expect("epochs stay below i16::MAX in eos's scenarios");
        if bumped > self.config().max_producer_epoch {
            tracing::warn!(epoch, "the producer epoch overflows (a Kafka fix is switched off)");
        }
        (bumped, self.config().is_epoch_exhausted(epoch))
    }

    /// Ongoing -> PrepareCommit / PrepareAbort, logged, then markers. Returns the producer id and
    /// epoch the client continues with (tv2: bumped; a rotation answers the next id at epoch 0).
    fn end_ongoing(
        &mut self,
        id: &TransactionalId,
        commit: bool,
        initiator: Initiator,
        now_ms: TimestampMs,
    ) -> Result<(ProducerId, ProducerEpoch, Vec<WriteTxnMarkerRequest>), ErrorCode> {
        let state = if commit { TxnState::PrepareCommit } else { TxnState::PrepareAbort };
        let metadata = &self.transactions[id];
        let mut transit = metadata.transit(state, now_ms);
        // fault: Tv2EndTxnKeepsEpoch. The coordinator's own abort follows the fence's bump and, since
        // KAFKA-19367, does not bump again.
        let bump = match initiator {
            Initiator::Client => {
                self.config().protocol.is_tv2() && !self.config().faults.has(Fault::Tv2EndTxnKeepsEpoch)
            }
            Initiator::Coordinator => self.config().protocol.is_tv2() && !self.config().fixes.kafka_19367,
        };
        if bump {
            let (epoch, rotate) = self.end_bump(metadata.producer_epoch);
            transit.producer_epoch = epoch;
            transit.last_producer_epoch = metadata.producer_epoch;
            if rotate {
                transit.next_producer_id = self.generate_producer_id();
            }
        } else if initiator == Initiator::Coordinator
            && self.config().protocol.is_tv2()
            && self.config().fixes.kafka_20090
            && self.config().is_epoch_exhausted(metadata.producer_epoch)
        {
            // KAFKA-20090: the fence's abort rotates an exhausted producer id as a client's end does.
            transit.next_producer_id = self.generate_producer_id();
        }
        if transit.txn_start_timestamp < 0 {
            transit.txn_start_timestamp = now_ms;
        }
        // KAFKA-18660: after a rotation the client continues with the next id at epoch 0 (before the
        // fix it was answered the old id at the overflowing epoch).
        let answer_to = if transit.next_producer_id != NO_PRODUCER_ID && self.config().fixes.kafka_18660 {
            (transit.next_producer_id, 0)
        } else {
            (transit.producer_id, transit.producer_epoch)
        };
        let appended = match initiator {
            Initiator::Client => self.client_transition(transit)?,
            Initiator::Coordinator => self.transition(transit).map(|()| Appended::Now)?,
        };
        // An append in flight sends its markers when it completes.
        let markers = if appended == Appended::Now { self.begin_markers(id, now_ms) } else { Vec::new() };
        Ok((answer_to.0, answer_to.1, markers))
    }

    /// tv2's empty abort: PrepareAbort at epoch + 1 with no partitions, then CompleteAbort at once.
    fn empty_abort(
        &mut self,
        id: &TransactionalId,
        now_ms: TimestampMs,
    ) -> Result<(ProducerId, ProducerEpoch), ErrorCode> {
        let metadata = &self.transactions[id];
        let mut transit = metadata.transit(TxnState::PrepareAbort, now_ms);
        let (epoch, rotate) = self.end_bump(metadata.producer_epoch);
        transit.producer_epoch = epoch;
        transit.last_producer_epoch = metadata.producer_epoch;
        transit.partitions = super::transaction_log::no_partitions();
        transit.txn_start_timestamp = now_ms;
        if rotate {
            transit.next_producer_id = self.generate_producer_id();
        }
        // As a client's end answers (KAFKA-18660: the next id at epoch 0 after a rotation).
        let answer = if transit.next_producer_id != NO_PRODUCER_ID && self.config().fixes.kafka_18660 {
            (transit.next_producer_id, 0)
        } else {
            (transit.producer_id, transit.producer_epoch)
        };
        if self.client_transition(transit)? == Appended::Now {
            let markers = self.begin_markers(id, now_ms);
            assert!(markers.is_empty(), "an empty abort has no partitions");
        }
        Ok(answer)
    }

    /// The fence (specs 4.2 Ongoing, 4.5 timeout): bump the epoch (PrepareEpochFence, memory only),
    /// then PrepareAbort (tv2: bumped once more), logged, markers sent with the final epoch.
    pub(crate) fn fence_and_abort(
        &mut self,
        id: &TransactionalId,
        now_ms: TimestampMs,
    ) -> Result<Vec<WriteTxnMarkerRequest>, ErrorCode> {
        let (protocol, faults, max) = (self.config().protocol, self.config().faults, self.config().max_producer_epoch);
        let metadata = self.transactions.get_mut(id).expect("fencing a known id");
        assert_eq!(metadata.state, TxnState::Ongoing, "only an Ongoing transaction is fenced");
        assert!(TxnState::PrepareEpochFence.may_follow(metadata.state, protocol, faults));
        let epoch = metadata.producer_epoch;
        // KAFKA-20090: an epoch at the maximum is not bumped (it would overflow). Before KAFKA-19367 the
        // abort then bumped once more (in `end_ongoing`), overflowing from max - 1.
        let fenced = if metadata.has_failed_epoch_fence || epoch >= max { epoch } else { epoch + 1 };
        metadata.producer_epoch = fenced;
        metadata.last_producer_epoch = NO_PRODUCER_EPOCH;
        match self.end_ongoing(id, false, Initiator::Coordinator, now_ms) {
            Ok((_, _, markers)) => {
                self.transactions.get_mut(id).expect("known").has_failed_epoch_fence = false;
                Ok(markers)
            }
            Err(code) => {
                self.transactions.get_mut(id).expect("known").has_failed_epoch_fence = true;
                Err(code)
            }
        }
    }

    /// The transaction-timeout timer fired: abort the id's transaction if it is Ongoing and older
    /// than its timeout (the old producer's next request is fenced).
    pub fn handle_transaction_timeout(
        &mut self,
        now_ms: TimestampMs,
        id: &TransactionalId,
    ) -> Vec<WriteTxnMarkerRequest> {
        let Some(metadata) = self.transactions.get(id) else {
            return Vec::new();
        };
        let deadline = metadata.txn_start_timestamp + i64::from(metadata.transaction_timeout_ms);
        // fault: TxnTimeoutFiresLate
        let due =
            if self.config().faults.has(Fault::TxnTimeoutFiresLate) { now_ms > deadline } else { now_ms >= deadline };
        let expired = metadata.state == TxnState::Ongoing && metadata.pending_state.is_none() && due;
        if !expired {
            return Vec::new();
        }
        self.fence_and_abort(id, now_ms).unwrap_or_default()
    }
}
