//! The bounds and switches of one model-checking run, read from `specs/scenarios/NAME.toml`.
//!
//! Everything the checker explores is bounded here: producers, partitions, transactions, the faults the
//! environment may inject, and the guards (the seeds' pitfalls) that may be switched off.

use crate::types::Epoch;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// Largest bounds a scenario may ask for: beyond them the state space is out of reach anyway, and the
/// small integer types of the model stay safe.
pub const MAX_PRODUCERS: u8 = 4;
/// See [`MAX_PRODUCERS`].
pub const MAX_PARTITIONS: u8 = 4;
/// See [`MAX_PRODUCERS`].
pub const MAX_TRANSACTIONS: u8 = 6;
/// See [`MAX_PRODUCERS`].
pub const MAX_FAULTS: u8 = 6;
/// See [`MAX_PRODUCERS`].
pub const MAX_BATCHES_PER_PARTITION: u8 = 4;
/// Kafka's bound on `max.in.flight.requests.per.connection` for an idempotent producer: the leader
/// remembers the last five batches of each producer (KAFKA-17927).
pub const MAX_IN_FLIGHT: u8 = 5;
/// The most consumer groups a copier commits offsets to in one transaction.
pub const MAX_GROUPS: u8 = 2;

/// The transaction protocol (specs/eos.md §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Protocol {
    /// Classic transactions (KIP-98).
    #[serde(rename = "tv1")]
    Tv1,
    /// Classic transactions with partition verification (KIP-890 part 1).
    #[serde(rename = "tv1-verified")]
    Tv1Verified,
    /// Transactions V2 (KIP-890 part 2): epoch bump at every EndTxn, implicit partition add.
    #[serde(rename = "tv2")]
    Tv2,
}

impl Protocol {
    /// Every protocol, in the order reports list them.
    pub const ALL: [Protocol; 3] = [Protocol::Tv1, Protocol::Tv1Verified, Protocol::Tv2];

    /// The command-line and trace name.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tv1 => "tv1",
            Protocol::Tv1Verified => "tv1-verified",
            Protocol::Tv2 => "tv2",
        }
    }

    /// Whether the client adds partitions explicitly (AddPartitionsToTxn / AddOffsetsToTxn).
    pub fn explicit_add(self) -> bool {
        self != Protocol::Tv2
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Protocol {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Protocol::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| format!("unknown protocol `{s}`: expected one of tv1, tv1-verified, tv2"))
    }
}

/// The consumer isolation level whose view the properties judge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Isolation {
    /// Only committed (and non-transactional) records below the LSO.
    ReadCommitted,
    /// Everything below the high watermark (the pitfall).
    ReadUncommitted,
}

/// When a producer instance may start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Restart {
    /// Instance i+1 of a transactional id starts only after instance i crashed or failed fatally.
    AfterCrash,
    /// Every instance may start at any time: the older one becomes a zombie.
    AnyTime,
}

/// The producers and their script.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProducersConfig {
    /// Number of transactional ids.
    #[serde(default = "one")]
    pub transactional_ids: u8,
    /// Producer instances per transactional id (more than one makes restarts or zombies possible).
    #[serde(default = "one")]
    pub instances: u8,
    /// Whether the producers are transactional (false: idempotent or plain producers, one batch of
    /// records and no transactions).
    #[serde(default = "yes")]
    pub transactional: bool,
    /// When an instance may start.
    #[serde(default = "after_crash")]
    pub restart: Restart,
    /// Transaction attempts per instance (copier: the most attempts it makes).
    #[serde(default = "one")]
    pub transactions: u8,
    /// Whether the client may choose to abort a transaction.
    #[serde(default)]
    pub client_aborts: bool,
    /// Whether an abort may give up on unacknowledged requests (what a delivery timeout does): the
    /// ingredient of the late-produce anomalies.
    #[serde(default)]
    pub abort_with_outstanding: bool,
    /// Which client's transaction manager the producers run (specs/eos.md §7).
    #[serde(default)]
    pub client: ClientVersion,
    /// The producers run under Kafka Streams, which treats a Produce answered INVALID_TXN_STATE as
    /// fatal (an INVALID_PRODUCER_EPOCH means the task migrated: it closes the producer cleanly).
    #[serde(default)]
    pub streams: bool,
    /// Batches each attempt writes to each of its partitions, each a Produce with its own sequence
    /// (pipelined batches; 1: one record per partition).
    #[serde(default = "one")]
    pub batches_per_partition: u8,
    /// Produce requests a producer may have in flight per partition (Java's
    /// `max.in.flight.requests.per.connection`, at most 5 with idempotence). Only matters with more
    /// than one batch per partition.
    #[serde(default = "one")]
    pub max_in_flight: u8,
}

/// The client behaviour the producers follow (specs/eos.md §7).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientVersion {
    /// Java's 4.x `TransactionManager`: any failed batch makes a tv1 client bump its epoch after the
    /// abort; INVALID_PRODUCER_ID_MAPPING is abortable and skips EndTxn; TRANSACTION_ABORTABLE
    /// (KIP-1050) is known.
    #[default]
    #[serde(rename = "java-4")]
    Java4,
    /// A client from before KIP-1050 and before KIP-360's bump after every failed batch: a tv1 client
    /// bumps its epoch only after OUT_OF_ORDER_SEQUENCE_NUMBER or INVALID_PRODUCER_EPOCH, an abort that
    /// gives up outstanding requests keeps the epoch, INVALID_PRODUCER_ID_MAPPING is fatal, and leaders
    /// answer it INVALID_TXN_STATE for TRANSACTION_ABORTABLE. The late-produce anomaly needs it.
    Legacy,
}

/// Fixes Kafka made to its transaction protocol, each named by its JIRA issue. Every fix is on (Kafka
/// trunk) unless a scenario of the bug museum (`specs/scenarios/bugs/`) switches it off to rediscover
/// the bug (specs/eos.md §15).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixes {
    /// KIP-1228: a TV2 marker must carry an epoch above the partition's (off: `>=`, as TV1).
    #[serde(default = "yes")]
    pub kafka_19446: bool,
    /// A TV2 marker at the partition's epoch with no open transaction is an idempotent retry.
    #[serde(default = "yes")]
    pub kafka_19999: bool,
    /// TV2 EndTxn answers CONCURRENT_TRANSACTIONS for a pending transition before checking the epoch.
    #[serde(default = "yes")]
    pub kafka_18464: bool,
    /// Epoch overflow in TV2: EndTxn answers the next producer id, and AddPartitions checks a pending
    /// transition before the producer id and epoch.
    #[serde(default = "yes")]
    pub kafka_18660: bool,
    /// A coordinator fence bumps the epoch once in TV2 (off: once for the fence, once for the abort).
    #[serde(default = "yes")]
    pub kafka_19367: bool,
    /// The fence's abort rotates the producer id when the epoch is exhausted.
    #[serde(default = "yes")]
    pub kafka_20090: bool,
    /// A commit arriving in CompleteAbort at a retry epoch (a coordinator abort won the race) is
    /// answered PRODUCER_FENCED, not INVALID_TXN_STATE.
    #[serde(default = "yes")]
    pub kafka_20785: bool,
    /// The group coordinator materialises a marker's offsets before it answers the marker (off: it
    /// answers at once and completes the transaction later, asynchronously).
    #[serde(default = "yes")]
    pub kafka_17507: bool,
    /// KIP-890's verification guard: with the verification as a round trip
    /// (`broker.verification_round_trip`), the leader appends a verified Produce only if the
    /// verification it started is still the producer's (no marker or transactional append came in
    /// between). Off: it appends whatever happened meanwhile.
    #[serde(default = "yes")]
    pub kafka_14884: bool,
    /// The leader checks a verified batch's epoch before its verification guard, so that a producer
    /// fenced meanwhile gets INVALID_PRODUCER_EPOCH (off: the guard first, INVALID_TXN_STATE).
    #[serde(default = "yes")]
    pub kafka_19690: bool,
    /// Another broker's bug: Redpanda before 21.11 kept no duplicate window, so a retried batch that
    /// was already appended, but is not the producer's last one, was answered
    /// OUT_OF_ORDER_SEQUENCE_NUMBER, which a Java idempotent producer answers with an epoch bump and
    /// a re-send (redpanda-data/redpanda#3039, fixed by the five-batch window of #3077). Off: the
    /// leader looks no batch up in the window.
    #[serde(default = "yes")]
    pub redpanda_3039: bool,
    /// Under transactions V2 a transactional batch that the leader verifies, from a producer it holds
    /// no batch of, must start at sequence 0 (KAFKA-18202, `ProducerAppendInfo.checkSequence`). Off:
    /// any first sequence is accepted, as under V1, so a pipelined later batch can overtake the first.
    #[serde(default = "yes")]
    pub kafka_18202: bool,
    /// A transaction-log append that fails clears the prepared transition (off: it stays pending, so
    /// every later request of the id is answered CONCURRENT_TRANSACTIONS for good).
    #[serde(default = "yes")]
    pub kafka_5351: bool,
    /// The verification state entry keeps the lowest sequence it was started for, and the leader
    /// refuses a batch with a higher one (OUT_OF_ORDER_SEQUENCE_NUMBER) while the entry lasts, so a
    /// pipelined later batch cannot be appended before an earlier one still being verified (KAFKA-14920,
    /// `VerificationStateEntry.lowestSequence`, `ProducerAppendInfo.checkSequence`). Off: no such check.
    #[serde(default = "yes")]
    pub kafka_14920: bool,
    /// KAFKA-14034, a fix Java's client does not have (apache/kafka#13796, closed unmerged): an
    /// idempotent producer answered OUT_OF_ORDER_SEQUENCE_NUMBER for the sequence after its last
    /// acknowledged one marks the partition's sequence unresolved (`markSequenceUnresolved`) and
    /// retries, instead of bumping its epoch at once and renumbering every unanswered batch of the
    /// partition, one of which may have landed already (`requestEpochBumpForPartition`,
    /// `TxnPartitionEntry.startSequencesAtBeginning`). Default off, as Java is; a client-side switch
    /// that no broker implements.
    #[serde(default)]
    pub kafka_14034: bool,
}

impl Default for Fixes {
    fn default() -> Self {
        Fixes {
            kafka_19446: true,
            kafka_19999: true,
            kafka_18464: true,
            kafka_18660: true,
            kafka_19367: true,
            kafka_20090: true,
            kafka_20785: true,
            kafka_17507: true,
            kafka_14884: true,
            kafka_19690: true,
            redpanda_3039: true,
            kafka_18202: true,
            kafka_5351: true,
            kafka_14920: true,
            kafka_14034: false,
        }
    }
}

impl Fixes {
    /// The switches' names, as in scenario files.
    pub const NAMES: &'static [&'static str] = &[
        "kafka_19446",
        "kafka_19999",
        "kafka_18464",
        "kafka_18660",
        "kafka_19367",
        "kafka_20090",
        "kafka_20785",
        "kafka_17507",
        "kafka_14884",
        "kafka_19690",
        "redpanda_3039",
        "kafka_18202",
        "kafka_5351",
        "kafka_14920",
        "kafka_14034",
    ];

    /// Fixes of Java's client that Java does not have: off is Kafka as it is, so no scenario lists
    /// them among its fixes switched off.
    pub const CLIENT_ONLY: &'static [&'static str] = &["kafka_14034"];

    /// The switch named `name`, for the museum.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut bool> {
        Some(match name {
            "kafka_19446" => &mut self.kafka_19446,
            "kafka_19999" => &mut self.kafka_19999,
            "kafka_18464" => &mut self.kafka_18464,
            "kafka_18660" => &mut self.kafka_18660,
            "kafka_19367" => &mut self.kafka_19367,
            "kafka_20090" => &mut self.kafka_20090,
            "kafka_20785" => &mut self.kafka_20785,
            "kafka_17507" => &mut self.kafka_17507,
            "kafka_14884" => &mut self.kafka_14884,
            "kafka_19690" => &mut self.kafka_19690,
            "redpanda_3039" => &mut self.redpanda_3039,
            "kafka_18202" => &mut self.kafka_18202,
            "kafka_5351" => &mut self.kafka_5351,
            "kafka_14920" => &mut self.kafka_14920,
            "kafka_14034" => &mut self.kafka_14034,
            _ => return None,
        })
    }

    /// The names of the fixes switched off (Kafka's own fixes: [`Fixes::CLIENT_ONLY`] ones are off in
    /// Kafka too).
    pub fn off(&self) -> Vec<&'static str> {
        let mut copy = self.clone();
        Self::NAMES
            .iter()
            .copied()
            .filter(|n| !Self::CLIENT_ONLY.contains(n) && !*copy.get_mut(n).expect("known name"))
            .collect()
    }
}

/// The data partitions.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionsConfig {
    /// Number of data partitions of topic `out`.
    #[serde(default = "one")]
    pub count: u8,
    /// Partitions each transaction writes one record to (the first `per_transaction` partitions);
    /// 0 means all.
    #[serde(default)]
    pub per_transaction: u8,
}

/// The consume-transform-produce application.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CopierConfig {
    /// Records in the input topic `in`.
    pub input_records: u8,
    /// Consumer groups whose offsets each transaction commits (1..=[`MAX_GROUPS`]): group 0 is
    /// `copier-group`, group g > 0 is `copier-group-{g}`. All of them keep their offsets on the one
    /// offsets partition `__consumer_offsets-0`, so one marker ends the transaction in every group
    /// (specs/eos.md §6).
    #[serde(default = "one")]
    pub groups: u8,
}

impl CopierConfig {
    /// The consumer groups the copier commits offsets to, in the order it sends them.
    pub fn group_indices(&self) -> std::ops::Range<u8> {
        0..self.groups
    }
}

/// How many faults of each kind the environment may inject.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultsConfig {
    /// Lost messages.
    #[serde(default)]
    pub losses: u8,
    /// Duplicates by client retry (request timeouts while the request is still in flight).
    #[serde(default)]
    pub duplicates: u8,
    /// Duplicate markers: the coordinator's marker request times out while the original is still in
    /// flight, and it sends the marker again (both may reach the leader).
    #[serde(default)]
    pub marker_duplicates: u8,
    /// Producer crashes.
    #[serde(default)]
    pub producer_crashes: u8,
    /// Coordinator failovers.
    #[serde(default)]
    pub coordinator_failovers: u8,
    /// Timeouts of transactions whose producer is alive but stalled (timeouts of abandoned
    /// transactions are free).
    #[serde(default)]
    pub timeouts: u8,
    /// Producer-state expiries: a leader forgets the state of a producer with no transaction open
    /// there (`producer.id.expiration.ms`, Kafka's `ProducerStateManager.removeExpiredProducers`).
    #[serde(default)]
    pub producer_expirations: u8,
    /// Transactional-id expiries: the coordinator expires an idle transactional id (Empty or
    /// Complete*, nothing pending) to Dead, writes its tombstone and forgets it
    /// (`transactional.id.expiration.ms`, Kafka's `TransactionStateManager.removeExpiredTransactionalIds`).
    #[serde(default)]
    pub transactional_id_expirations: u8,
    /// Transaction-log append failures: the coordinator's append of the transition a client request
    /// prepares fails (Kafka's `appendTransactionToLog` callback maps it to COORDINATOR_NOT_AVAILABLE).
    #[serde(default)]
    pub txn_log_append_failures: u8,
    /// Completion append failures: the append of a transaction's completion (Prepare* → Complete*,
    /// logged when its last marker is acknowledged) fails; the transaction stays Prepare* with every
    /// marker acknowledged until the marker-retry tick logs the completion again (Kafka's
    /// `TransactionMarkerChannelManager.tryAppendToLog` queues it on COORDINATOR_NOT_AVAILABLE).
    #[serde(default)]
    pub completion_append_failures: u8,
    /// Rebalances of the copier's group: its current member rejoins (the same member, a new
    /// generation, which it learns at once), so an offset commit it sent before is refused
    /// ILLEGAL_GENERATION (KIP-447). Copier scenarios only.
    #[serde(default)]
    pub group_rebalances: u8,
    /// Batches a producer gives up by its delivery timeout (`delivery.timeout.ms`): an unanswered
    /// Produce is no longer awaited, its request may still land; the partition's sequence is
    /// unresolved until its other batches are answered (specs/eos.md §7).
    #[serde(default)]
    pub batch_expirations: u8,
}

/// Broker settings that bound the model.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerSettings {
    /// The largest producer epoch (Kafka: 32767). An epoch at `max - 1` or above is exhausted: the
    /// next bump moves to a new producer id. A small value (3) makes epoch overflow reachable.
    #[serde(default = "max_epoch")]
    pub max_producer_epoch: Epoch,
    /// The leader's verification (tv1-verified) or implicit add (tv2) of a Produce as a round trip
    /// (Kafka's `AddPartitionsToTxnManager`): the leader asks the coordinator, the answer comes back as
    /// a message of its own, and only then does the leader append (behind the verification guard,
    /// `fixes.kafka_14884`). Off: the call is synchronous inside the Produce's step.
    #[serde(default)]
    pub verification_round_trip: bool,
    /// The coordinator's transaction-log append as a step of its own (Kafka's
    /// `TransactionStateManager.appendTransactionToLog` and its callback): a client's InitProducerId,
    /// AddPartitionsToTxn, AddOffsetsToTxn or EndTxn prepares its transition (pending) when it
    /// arrives; the append's completion (action `CoordinatorAppendCompletes`) applies it and answers.
    /// Off: prepare, append and complete happen in the request's step.
    #[serde(default)]
    pub coordinator_append_round_trip: bool,
    /// With `coordinator_append_round_trip`: an append in flight when the coordinator fails over had
    /// become durable (replicated) before it, and only its callback was late. The new coordinator
    /// loads the appended record; the callback meets the new coordinator epoch and answers
    /// NOT_COORDINATOR (Kafka's `TransactionStateManager.appendTransactionToLog`). Off: such an append
    /// never lands.
    #[serde(default)]
    pub appends_durable_at_failover: bool,
}

impl Default for BrokerSettings {
    fn default() -> Self {
        BrokerSettings {
            max_producer_epoch: max_epoch(),
            verification_round_trip: false,
            coordinator_append_round_trip: false,
            appends_durable_at_failover: false,
        }
    }
}

fn max_epoch() -> Epoch {
    Epoch::MAX
}

/// The guards that the seeds' pitfalls switch off.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardsConfig {
    /// Idempotent producer (producer id and sequence numbers).
    #[serde(default = "yes")]
    pub idempotence: bool,
    /// Producer-epoch checks at coordinator, leaders and group coordinator.
    #[serde(default = "yes")]
    pub fencing: bool,
    /// The copier sends its offsets inside the transaction.
    #[serde(default = "yes")]
    pub offsets_in_transaction: bool,
    /// The judged consumer's isolation level.
    #[serde(default = "read_committed")]
    pub isolation: Isolation,
}

impl Default for GuardsConfig {
    fn default() -> Self {
        GuardsConfig {
            idempotence: true,
            fencing: true,
            offsets_in_transaction: true,
            isolation: Isolation::ReadCommitted,
        }
    }
}

/// What the scenario is expected to show under each protocol: the properties that must be violated
/// (every other applicable property must hold).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    /// Violated under tv1.
    #[serde(default)]
    pub tv1: BTreeSet<String>,
    /// Violated under tv1-verified.
    #[serde(default, rename = "tv1-verified")]
    pub tv1_verified: BTreeSet<String>,
    /// Violated under tv2.
    #[serde(default)]
    pub tv2: BTreeSet<String>,
}

impl Expectations {
    /// The properties expected to be violated under `protocol`.
    pub fn violated(&self, protocol: Protocol) -> &BTreeSet<String> {
        match protocol {
            Protocol::Tv1 => &self.tv1,
            Protocol::Tv1Verified => &self.tv1_verified,
            Protocol::Tv2 => &self.tv2,
        }
    }
}

/// How the conformance harness should classify a replayed counterexample of this scenario.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Triage {
    /// The implementation goes through the same states: it shows the same violation.
    #[default]
    Reproduced,
    /// The implementation's state differs from the model's at some step.
    Diverged,
    /// The implementation refuses an action of the counterexample.
    Rejected,
}

/// What the conformance harness expects of this scenario.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConformanceExpectations {
    /// The class every counterexample of the scenario is expected to get (under every protocol).
    #[serde(default)]
    pub counterexamples: Triage,
}

/// What a scenario of the bug museum (`specs/scenarios/bugs/`) documents: a real bug, the fix that
/// removed it (a switch), and what the checker must find with the fix off. The scenario itself is
/// the fixed system: every property holds.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BugConfig {
    /// The bug's id, e.g. `KAFKA-18464` (or another tracker's).
    pub id: String,
    /// The mechanism, in one line.
    pub mechanism: String,
    /// Where the bug and its fix are described.
    pub link: String,
    /// The fix: a switch of `[fixes]`, or `protocol` when the fix is a protocol version.
    pub fix: String,
    /// With `fix = "protocol"`: the protocol before the fix.
    #[serde(default)]
    pub unfixed_protocol: Option<Protocol>,
    /// The properties the checker must find violated with the fix off (every other one holds).
    pub violates: BTreeSet<String>,
    /// How conformance classifies the counterexamples of the fix-off variant: `reproduced` when the
    /// implementation has the switch too, else where it refuses or departs from the trace.
    #[serde(default)]
    pub unfixed_conformance: Triage,
}

/// A scenario: everything that bounds one model-checking run.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The scenario's name (the file stem).
    pub name: String,
    /// One line saying what the scenario shows.
    pub summary: String,
    /// The protocol `eos check` uses unless `--protocol` says otherwise.
    pub protocol: Protocol,
    /// Producers and their script.
    pub producers: ProducersConfig,
    /// Data partitions.
    pub partitions: PartitionsConfig,
    /// Present for consume-transform-produce scenarios.
    #[serde(default)]
    pub copier: Option<CopierConfig>,
    /// Fault budgets.
    #[serde(default)]
    pub faults: FaultsConfig,
    /// Guards.
    #[serde(default)]
    pub guards: GuardsConfig,
    /// Kafka's fixes (all on unless a museum scenario switches one off).
    #[serde(default)]
    pub fixes: Fixes,
    /// Broker settings.
    #[serde(default)]
    pub broker: BrokerSettings,
    /// Expected verdicts.
    #[serde(default)]
    pub expect: Expectations,
    /// What conformance expects.
    #[serde(default)]
    pub conformance: ConformanceExpectations,
    /// Present for a scenario of the bug museum.
    #[serde(default)]
    pub bug: Option<BugConfig>,
}

/// A scenario file that cannot be used, with the reason.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// The TOML does not parse or does not match the schema.
    #[error("scenario {name}: {message}")]
    Parse {
        /// The scenario's name or path.
        name: String,
        /// The parser's message.
        message: String,
    },
    /// The values are out of range or contradict each other.
    #[error("scenario {name}: {message}")]
    Invalid {
        /// The scenario's name.
        name: String,
        /// What is wrong.
        message: String,
    },
}

impl Config {
    /// Parses and validates a scenario from TOML text; `origin` names it in errors.
    pub fn from_toml(origin: &str, text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text)
            .map_err(|e| ConfigError::Parse { name: origin.to_string(), message: e.to_string() })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks bounds and consistency; every message says what to change.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |message: String| Err(ConfigError::Invalid { name: self.name.clone(), message });
        let p = &self.producers;
        if p.transactional_ids == 0 || p.instances == 0 {
            return invalid("producers.transactional_ids and producers.instances must be at least 1".into());
        }
        let instances = u16::from(p.transactional_ids) * u16::from(p.instances);
        if instances > u16::from(MAX_PRODUCERS) {
            return invalid(format!(
                "producers.transactional_ids = {} × producers.instances = {} makes {instances} producer instances; \
                 the model's limit is {MAX_PRODUCERS} (lower transactional_ids or instances)",
                p.transactional_ids, p.instances
            ));
        }
        if p.transactions == 0 || p.transactions > MAX_TRANSACTIONS {
            return invalid(format!("producers.transactions must be in 1..={MAX_TRANSACTIONS}"));
        }
        if p.batches_per_partition == 0 || p.batches_per_partition > MAX_BATCHES_PER_PARTITION {
            return invalid(format!("producers.batches_per_partition must be in 1..={MAX_BATCHES_PER_PARTITION}"));
        }
        if p.max_in_flight == 0 || p.max_in_flight > MAX_IN_FLIGHT {
            return invalid(format!(
                "producers.max_in_flight must be in 1..={MAX_IN_FLIGHT} (Kafka's bound with idempotence)"
            ));
        }
        if self.partitions.count == 0 || self.partitions.count > MAX_PARTITIONS {
            return invalid(format!("partitions.count must be in 1..={MAX_PARTITIONS}"));
        }
        if self.partitions.per_transaction > self.partitions.count {
            return invalid("partitions.per_transaction cannot exceed partitions.count".into());
        }
        let f = &self.faults;
        for (name, value) in [
            ("losses", f.losses),
            ("duplicates", f.duplicates),
            ("marker_duplicates", f.marker_duplicates),
            ("producer_crashes", f.producer_crashes),
            ("coordinator_failovers", f.coordinator_failovers),
            ("timeouts", f.timeouts),
            ("producer_expirations", f.producer_expirations),
            ("transactional_id_expirations", f.transactional_id_expirations),
            ("txn_log_append_failures", f.txn_log_append_failures),
            ("completion_append_failures", f.completion_append_failures),
            ("group_rebalances", f.group_rebalances),
            ("batch_expirations", f.batch_expirations),
        ] {
            if value > MAX_FAULTS {
                return invalid(format!("faults.{name} = {value} exceeds the limit of {MAX_FAULTS}"));
            }
        }
        if self.broker.max_producer_epoch < 2 {
            return invalid("broker.max_producer_epoch must be at least 2".into());
        }
        if f.completion_append_failures > 0 && !self.fixes.kafka_5351 {
            return invalid(
                "faults.completion_append_failures needs fixes.kafka_5351 (a completion's failed append is retried \
                 from a transition that is no longer pending)"
                    .into(),
            );
        }
        if self.broker.appends_durable_at_failover && !self.broker.coordinator_append_round_trip {
            return invalid("broker.appends_durable_at_failover needs broker.coordinator_append_round_trip".into());
        }
        if !self.guards.idempotence && p.transactional {
            return invalid(
                "transactions need idempotence: set producers.transactional = false to switch idempotence off".into(),
            );
        }
        if let Some(copier) = &self.copier {
            if !p.transactional {
                return invalid(
                    "the copier is a transactional application: producers.transactional must be true".into(),
                );
            }
            if copier.input_records == 0 || copier.input_records > MAX_TRANSACTIONS {
                return invalid(format!("copier.input_records must be in 1..={MAX_TRANSACTIONS}"));
            }
            if copier.groups == 0 || copier.groups > MAX_GROUPS {
                return invalid(format!("copier.groups must be in 1..={MAX_GROUPS}"));
            }
            if copier.groups > 1 && !self.guards.offsets_in_transaction {
                return invalid(
                    "copier.groups > 1 needs guards.offsets_in_transaction (the plain OffsetCommit has one group)"
                        .into(),
                );
            }
            if p.transactional_ids != 1 {
                return invalid("the copier uses one transactional id (producers.transactional_ids = 1)".into());
            }
            if p.batches_per_partition != 1 {
                return invalid(
                    "the copier writes one record per input record (producers.batches_per_partition = 1)".into(),
                );
            }
        } else if !self.guards.offsets_in_transaction {
            return invalid("guards.offsets_in_transaction only applies to copier scenarios".into());
        }
        if self.copier.is_none() && f.group_rebalances > 0 {
            return invalid("faults.group_rebalances only applies to copier scenarios".into());
        }
        if let Some(bug) = &self.bug {
            self.validate_bug(bug)?;
        }
        for protocol in Protocol::ALL {
            for property in self.expect.violated(protocol) {
                if !crate::properties::ALL_NAMES.contains(&property.as_str()) {
                    return invalid(format!(
                        "expect.{protocol} names unknown property `{property}`; known: {}",
                        crate::properties::ALL_NAMES.join(", ")
                    ));
                }
            }
        }
        Ok(())
    }

    fn validate_bug(&self, bug: &BugConfig) -> Result<(), ConfigError> {
        let invalid = |message: String| Err(ConfigError::Invalid { name: self.name.clone(), message });
        match (bug.fix.as_str(), bug.unfixed_protocol) {
            ("protocol", None) => return invalid("bug.fix = \"protocol\" needs bug.unfixed_protocol".into()),
            ("protocol", Some(p)) if p == self.protocol => {
                return invalid("bug.unfixed_protocol must differ from the scenario's protocol".into())
            }
            ("protocol", Some(_)) => {}
            (_, Some(_)) => return invalid("bug.unfixed_protocol only goes with bug.fix = \"protocol\"".into()),
            (name, None) if !Fixes::NAMES.contains(&name) => {
                return invalid(format!("bug.fix `{name}` is no switch; known: protocol, {}", Fixes::NAMES.join(", ")))
            }
            _ => {}
        }
        if bug.violates.is_empty() {
            return invalid("bug.violates must name the property the bug breaks".into());
        }
        match bug.violates.iter().find(|p| !crate::properties::ALL_NAMES.contains(&p.as_str())) {
            Some(p) => invalid(format!("bug.violates names unknown property `{p}`")),
            None => Ok(()),
        }
    }

    /// A museum scenario with its fix switched off, expecting exactly the bug's violations (and the
    /// conformance class of the bug's counterexamples); `None` for other scenarios.
    pub fn without_fix(&self) -> Option<Config> {
        let bug = self.bug.as_ref()?;
        let mut config = self.clone();
        if bug.fix == "protocol" {
            config.protocol = bug.unfixed_protocol.expect("validated");
        } else {
            *config.fixes.get_mut(&bug.fix).expect("validated") = false;
        }
        config.name = format!("{}-unfixed", self.name);
        config.expect = Expectations::default();
        match config.protocol {
            Protocol::Tv1 => config.expect.tv1 = bug.violates.clone(),
            Protocol::Tv1Verified => config.expect.tv1_verified = bug.violates.clone(),
            Protocol::Tv2 => config.expect.tv2 = bug.violates.clone(),
        }
        config.conformance.counterexamples = bug.unfixed_conformance;
        Some(config)
    }

    /// Total producer instances.
    pub fn producer_count(&self) -> u8 {
        self.producers.transactional_ids * self.producers.instances
    }

    /// The transactional id of producer instance `producer` (instances are grouped by id).
    pub fn txn_id_of(&self, producer: u8) -> u8 {
        producer / self.producers.instances
    }

    /// The index of `producer` among the instances of its transactional id.
    pub fn instance_of(&self, producer: u8) -> u8 {
        producer % self.producers.instances
    }

    /// The partitions each transaction writes to.
    pub fn partitions_per_transaction(&self) -> u8 {
        match self.partitions.per_transaction {
            0 => self.partitions.count,
            n => n,
        }
    }

    /// Whether this is a consume-transform-produce scenario.
    pub fn is_copier(&self) -> bool {
        self.copier.is_some()
    }

    /// The consumer groups of the scenario: the copier's, or one group nobody joins.
    pub fn group_count(&self) -> u8 {
        self.copier.as_ref().map_or(1, |c| c.groups)
    }

    /// The same scenario under another protocol.
    pub fn with_protocol(&self, protocol: Protocol) -> Config {
        Config { protocol, ..self.clone() }
    }
}

fn one() -> u8 {
    1
}
fn yes() -> bool {
    true
}
fn after_crash() -> Restart {
    Restart::AfterCrash
}
fn read_committed() -> Isolation {
    Isolation::ReadCommitted
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
        name = "t"
        summary = "s"
        protocol = "tv2"
        [producers]
        [partitions]
    "#;

    /// A minimal scenario parses with the documented defaults.
    #[test]
    fn minimal_scenario_takes_defaults() {
        let c = Config::from_toml("t", MINIMAL).unwrap();
        assert_eq!(c.producer_count(), 1);
        assert_eq!(c.partitions_per_transaction(), 1);
        assert!(c.guards.fencing && c.guards.idempotence);
        assert_eq!(c.guards.isolation, Isolation::ReadCommitted);
    }

    /// Impossible configurations are refused with a message naming the field.
    #[test]
    fn impossible_configurations_are_refused() {
        let too_many = MINIMAL.replace("[partitions]", "[partitions]\ncount = 9");
        let err = Config::from_toml("t", &too_many).unwrap_err();
        assert!(err.to_string().contains("partitions.count"), "{err}");

        let no_idempotence = format!("{MINIMAL}\n[guards]\nidempotence = false\n");
        let err = Config::from_toml("t", &no_idempotence).unwrap_err();
        assert!(err.to_string().contains("idempotence"), "{err}");

        let unknown_field = MINIMAL.replace("[producers]", "[producers]\nbogus = 1");
        let err = Config::from_toml("t", &unknown_field).unwrap_err();
        assert!(matches!(err, ConfigError::Parse { .. }));
        assert!(err.to_string().contains("bogus") && err.to_string().contains("transactional_ids"), "{err}");

        // 200 × 200 does not wrap around in a u8 and the message names the fields the user wrote.
        let too_many = MINIMAL.replace("[producers]", "[producers]\ntransactional_ids = 200\ninstances = 200");
        let err = Config::from_toml("t", &too_many).unwrap_err().to_string();
        assert!(
            err.contains("producers.transactional_ids = 200") && err.contains("producers.instances = 200"),
            "{err}"
        );

        let rebalance_without_copier = format!("{MINIMAL}\n[faults]\ngroup_rebalances = 1\n");
        let err = Config::from_toml("t", &rebalance_without_copier).unwrap_err();
        assert!(err.to_string().contains("faults.group_rebalances"), "{err}");

        let unknown_property = format!("{MINIMAL}\n[expect]\ntv1 = [\"no_such_property\"]\n");
        let err = Config::from_toml("t", &unknown_property).unwrap_err();
        assert!(err.to_string().contains("no_such_property"), "{err}");
    }

    /// Protocol names parse and print the same way.
    #[test]
    fn protocol_names_round_trip() {
        for p in Protocol::ALL {
            assert_eq!(p.name().parse::<Protocol>(), Ok(p));
        }
        assert!("tv3".parse::<Protocol>().unwrap_err().contains("tv1-verified"));
    }
}
