//! The model's state (fields grouped by role, as in stateright's `2pc.rs`) and its actions.

use crate::client::Client;
use crate::collections::{InlineVec, SmallMap};
use crate::config::Config;
use crate::coordinator::Coordinator;
use crate::group::GroupState;
use crate::history::History;
use crate::message::{Message, Request};
use crate::partition::PartitionState;
use crate::shared::Shared;
use crate::symmetry::Symmetry;
use crate::types::*;

/// Faults the environment may still inject.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Budget {
    /// Messages it may still lose.
    pub losses: u8,
    /// Requests it may still duplicate (client request timeouts).
    pub duplicates: u8,
    /// Markers the coordinator may still send twice (marker request timeouts).
    pub marker_duplicates: u8,
    /// Producer crashes left.
    pub producer_crashes: u8,
    /// Coordinator failovers left.
    pub coordinator_failovers: u8,
    /// Timeouts of live transactions left.
    pub timeouts: u8,
    /// Producer-state expiries left.
    pub producer_expirations: u8,
    /// Transactional-id expiries left.
    pub transactional_id_expirations: u8,
    /// Transaction-log append failures left.
    pub txn_log_append_failures: u8,
    /// Completion (Prepare* → Complete*) append failures left.
    pub completion_append_failures: u8,
    /// Rebalances of the copier's group left.
    pub group_rebalances: u8,
    /// Batches a producer may still give up by its delivery timeout.
    pub batch_expirations: u8,
}

/// A state of the whole system. (`Default` is the empty value a stand-in is made of, not a state of
/// any model: [`State::initial`] is. `Hash` is the state's fingerprint: see [`crate::symmetry`].
/// `Debug` is the compact one of [`crate::state_debug`].)
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct State {
    /// Producer instances (their transaction managers).
    pub clients: InlineVec<Shared<Client>, 4>,
    /// The transaction coordinator and its log.
    pub coordinator: Shared<Coordinator>,
    /// Data partitions of topic `out`.
    pub partitions: InlineVec<Shared<PartitionState>, 4>,
    /// The group coordinator: `copier-group` (and `copier-group-1` with `copier.groups = 2`).
    pub group: GroupState,
    /// Messages in flight: an unordered multiset (message → copies).
    pub network: SmallMap<Message, u8>,
    /// Faults left.
    pub budget: Budget,
    /// Ghost state for the properties.
    pub history: History,
    /// The model's symmetry (constant; not part of equality or hashing).
    pub symmetry: Symmetry,
    /// `None` on every state of the model. Set only on the stand-in that symmetry reduction gives the
    /// checker instead of a representative ([`State::stand_in`]): the fingerprint of the canonical form.
    pub canonical: Option<u64>,
}

impl State {
    /// The initial state of `config`.
    pub fn initial(config: &Config) -> State {
        let f = &config.faults;
        State {
            clients: (0..config.producer_count()).map(|_| Shared::default()).collect(),
            coordinator: Shared::new(Coordinator::new(config)),
            partitions: (0..config.partitions.count).map(|_| Shared::default()).collect(),
            group: GroupState::new(config.group_count()),
            network: SmallMap::new(),
            budget: Budget {
                losses: f.losses,
                duplicates: f.duplicates,
                marker_duplicates: f.marker_duplicates,
                producer_crashes: f.producer_crashes,
                coordinator_failovers: f.coordinator_failovers,
                timeouts: f.timeouts,
                producer_expirations: f.producer_expirations,
                transactional_id_expirations: f.transactional_id_expirations,
                txn_log_append_failures: f.txn_log_append_failures,
                completion_append_failures: f.completion_append_failures,
                group_rebalances: f.group_rebalances,
                batch_expirations: f.batch_expirations,
            },
            history: History::default(),
            symmetry: Symmetry::of(config),
            canonical: None,
        }
    }

    /// What symmetry reduction hands the checker in place of a representative: an empty state with
    /// the canonical form's fingerprint, which is all stateright hashes of it ([`crate::symmetry`]).
    pub fn stand_in(canonical_fingerprint: u64) -> State {
        State { canonical: Some(canonical_fingerprint), ..State::default() }
    }

    /// Puts a message in flight.
    pub fn send(&mut self, message: Message) {
        *self.network.get_or_insert_with(message, || 0) += 1;
    }

    /// Takes one copy of `message` out of flight; false if none is in flight.
    pub fn take(&mut self, message: &Message) -> bool {
        // One copy fewer; the last copy takes the entry with it.
        self.network.update_or_remove(message, |copies| {
            *copies -= 1;
            *copies == 0
        })
    }
}

/// What can happen next: a client call, the environment, or the coordinator's timers.
/// Named actor + verb; each maps onto one implementation step (specs/eos.md §10).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[allow(missing_docs)]
pub enum Action {
    /// (Copier: join the group,) then InitProducerId.
    ProducerStart { producer: ProducerIndex },
    /// Send the script's record for `partition`.
    ProducerSend { producer: ProducerIndex, partition: PartitionIndex },
    /// sendOffsetsToTransaction.
    ProducerSendOffsets { producer: ProducerIndex },
    /// OffsetFetch(require_stable).
    ProducerFetchOffsets { producer: ProducerIndex },
    /// commitTransaction.
    ProducerCommit { producer: ProducerIndex },
    /// abortTransaction.
    ProducerAbort { producer: ProducerIndex },
    /// The retry tick: re-send failed requests.
    ProducerRetry { producer: ProducerIndex },
    /// A request timeout: re-send `request` while it may still be in flight (a duplicate).
    ProducerRequestTimeout { producer: ProducerIndex, request: Request },
    /// The instance crashes.
    ProducerCrash { producer: ProducerIndex },
    /// The delivery timeout gives up `request`, an unanswered Produce: the instance no longer awaits
    /// it (a copy on its way may still land) and its partition's sequence is unresolved.
    ProducerBatchExpires { producer: ProducerIndex, request: Request },
    /// The network delivers one copy of `message`.
    Deliver { message: Message },
    /// The network loses one copy of `message`.
    Lose { message: Message },
    /// The coordinator's marker-retry tick for a transactional id.
    CoordinatorRetryMarkers { txn: TxnId },
    /// The coordinator's request for `marker` timed out while it is still in flight: it sends the
    /// marker again (a duplicate the leader may receive after the original).
    CoordinatorResendMarker { marker: crate::message::Marker },
    /// The coordinator aborts a timed-out transaction.
    CoordinatorTimeout { txn: TxnId },
    /// The coordinator fails over.
    CoordinatorFailover,
    /// Before KAFKA-17507's fix: the group coordinator completes, asynchronously, the transaction of
    /// `producer_id` whose marker it already answered.
    GroupCompleteTransaction { producer_id: ProducerId },
    /// The leader of `partition` expires the state of `producer_id`, which has no transaction open
    /// there (`producer.id.expiration.ms`).
    PartitionExpireProducer { partition: PartitionIndex, producer_id: ProducerId },
    /// The coordinator expires the idle transactional id `txn` (Empty or Complete*, nothing
    /// pending): Dead, a tombstone logged, the id forgotten (`transactional.id.expiration.ms`).
    CoordinatorExpireTransactionalId { txn: TxnId },
    /// The network delivers the coordinator request `request`, and the transaction-log append of the
    /// transition it prepares fails: the client is answered COORDINATOR_NOT_AVAILABLE.
    CoordinatorAppendFails { request: Request },
    /// The network delivers the acknowledgement of `marker`, the last its transaction waits for, and
    /// the append of the transaction's completion fails: it stays Prepare* with every marker
    /// acknowledged until the marker-retry tick logs the completion again.
    CompletionAppendFails { marker: crate::message::Marker },
    /// The copier's group rebalances: its current member `producer` rejoins with the same member id
    /// and learns the new generation (an offset commit already sent carries the old one).
    GroupRebalance { producer: ProducerIndex },
    /// The transaction-log append of the transition `request` prepared completes
    /// (`broker.coordinator_append_round_trip`): applied and answered, or, if the coordinator failed
    /// over since, answered NOT_COORDINATOR with nothing changed.
    CoordinatorAppendCompletes { request: Request },
}

impl Action {
    /// The action's kind (its variant name), for coverage and reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::ProducerStart { .. } => "ProducerStart",
            Action::ProducerSend { .. } => "ProducerSend",
            Action::ProducerSendOffsets { .. } => "ProducerSendOffsets",
            Action::ProducerFetchOffsets { .. } => "ProducerFetchOffsets",
            Action::ProducerCommit { .. } => "ProducerCommit",
            Action::ProducerAbort { .. } => "ProducerAbort",
            Action::ProducerRetry { .. } => "ProducerRetry",
            Action::ProducerRequestTimeout { .. } => "ProducerRequestTimeout",
            Action::ProducerCrash { .. } => "ProducerCrash",
            Action::ProducerBatchExpires { .. } => "ProducerBatchExpires",
            Action::Deliver { .. } => "Deliver",
            Action::Lose { .. } => "Lose",
            Action::CoordinatorRetryMarkers { .. } => "CoordinatorRetryMarkers",
            Action::CoordinatorResendMarker { .. } => "CoordinatorResendMarker",
            Action::CoordinatorTimeout { .. } => "CoordinatorTimeout",
            Action::CoordinatorFailover => "CoordinatorFailover",
            Action::GroupCompleteTransaction { .. } => "GroupCompleteTransaction",
            Action::PartitionExpireProducer { .. } => "PartitionExpireProducer",
            Action::CoordinatorExpireTransactionalId { .. } => "CoordinatorExpireTransactionalId",
            Action::CoordinatorAppendFails { .. } => "CoordinatorAppendFails",
            Action::CompletionAppendFails { .. } => "CompletionAppendFails",
            Action::GroupRebalance { .. } => "GroupRebalance",
            Action::CoordinatorAppendCompletes { .. } => "CoordinatorAppendCompletes",
        }
    }

    /// Every action kind a scenario with all its fixes on can take (GroupCompleteTransaction needs
    /// KAFKA-17507's fix off).
    pub const KINDS: [&'static str; 22] = [
        "ProducerStart",
        "ProducerSend",
        "ProducerSendOffsets",
        "ProducerFetchOffsets",
        "ProducerCommit",
        "ProducerAbort",
        "ProducerRetry",
        "ProducerRequestTimeout",
        "ProducerCrash",
        "ProducerBatchExpires",
        "Deliver",
        "Lose",
        "CoordinatorRetryMarkers",
        "CoordinatorTimeout",
        "CoordinatorFailover",
        "CoordinatorResendMarker",
        "PartitionExpireProducer",
        "CoordinatorExpireTransactionalId",
        "CoordinatorAppendFails",
        "CompletionAppendFails",
        "GroupRebalance",
        "CoordinatorAppendCompletes",
    ];
}
