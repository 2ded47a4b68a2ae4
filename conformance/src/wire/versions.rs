//! API versions: what the broker offers (ApiVersions) and which version of each API the harness
//! sends under each protocol mode.
//!
//! The versions are chosen on purpose, because Kafka decides the transaction protocol per request
//! from them (`TransactionVersion.transactionVersionForEndTxn`, `AddPartitionsToTxnManager.
//! produceRequestVersionToTransactionSupportedOperation`):
//!
//! | API | tv2 | tv1, tv1-verified | why |
//! |---|---|---|---|
//! | Produce | v12 | v11 (Java 4.x client), v3–v10 (legacy client) | v12+ asks the leader to add the partition implicitly (KIP-890 part 2); v13 names topics by id; v11 is answered `TRANSACTION_ABORTABLE` when verification finds no transaction (KIP-1050), up to v10 `INVALID_TXN_STATE`, as the model's `java-4` and `legacy` clients expect |
//! | EndTxn | v5 | v0–v4 | v5+ bumps the epoch at every EndTxn and returns it |
//! | TxnOffsetCommit | v5 | v4 (Java 4.x client), v3 (legacy client) | v5+ adds the offsets partition implicitly; v3+ carries KIP-447's generation and member; v4 knows `TRANSACTION_ABORTABLE`, v3 predates it |
//! | AddPartitionsToTxn | – | v0–v3 | v4+ is the brokers' batched verification request |
//! | AddOffsetsToTxn | – | v0–v4 | |
//! | InitProducerId | v3–v5 | v3–v5 | v3+ carries KIP-360's expected producer id and epoch |
//! | Fetch | v4–v12 | v4–v12 | v4+ has isolation levels and aborted transactions; v13 names topics by id |
//! | ListOffsets | v2+ | v2+ | v2+ has the isolation level (read_committed answers the LSO) |
//! | OffsetFetch | v7 | v7 | v7 has require_stable for one group (v8+ batches groups) |
//!
//! DescribeTransactions and DescribeProducers are optional: a broker without them is compared on
//! the rest of what a client can see.

use super::connection::{api_name, Connection};
use super::error::WireError;
use eos_model::config::ClientVersion;
use eos_model::Protocol;
use kafka_protocol::messages::{
    AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, ApiVersionsRequest, ApiVersionsResponse, CreateTopicsRequest,
    DeleteTopicsRequest, DescribeConfigsRequest, DescribeProducersRequest, DescribeTransactionsRequest, EndTxnRequest,
    FetchRequest, FindCoordinatorRequest, InitProducerIdRequest, JoinGroupRequest, ListOffsetsRequest, MetadataRequest,
    OffsetCommitRequest, OffsetFetchRequest, ProduceRequest, SyncGroupRequest, TxnOffsetCommitRequest,
};
use kafka_protocol::protocol::{Request, StrBytes};
use std::collections::BTreeMap;
use std::ops::RangeInclusive;

/// What a broker says it offers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiTable {
    /// The broker's address.
    pub addr: String,
    /// API key → (min, max) version.
    pub ranges: BTreeMap<i16, (i16, i16)>,
    /// Finalized feature levels (e.g. `transaction.version`), from ApiVersions v3+.
    pub features: BTreeMap<String, i16>,
}

impl ApiTable {
    /// Asks the broker behind `connection` (ApiVersions v3, or v0 if it refuses v3).
    pub fn fetch(connection: &mut Connection) -> Result<ApiTable, WireError> {
        let mut request = ApiVersionsRequest::default();
        request.client_software_name = StrBytes::from_static_str("eos-conformance");
        request.client_software_version = StrBytes::from_static_str(env!("CARGO_PKG_VERSION"));
        let mut response: ApiVersionsResponse = connection.call(&request, 3)?;
        const UNSUPPORTED_VERSION: i16 = 35;
        if response.error_code == UNSUPPORTED_VERSION {
            response = connection.call(&ApiVersionsRequest::default(), 0)?;
        }
        if response.error_code != 0 {
            return Err(WireError::Broker(format!(
                "{} answered ApiVersions with error code {}",
                connection.addr(),
                response.error_code
            )));
        }
        let ranges = response.api_keys.iter().map(|a| (a.api_key, (a.min_version, a.max_version))).collect();
        let features =
            response.finalized_features.iter().map(|f| (f.name.as_str().to_string(), f.max_version_level)).collect();
        Ok(ApiTable { addr: connection.addr().to_string(), ranges, features })
    }

    /// Whether the broker offers `R` in a version the crate can speak.
    pub fn offers<R: Request>(&self) -> bool {
        self.pick::<R>(R::VERSIONS.min..=R::VERSIONS.max, "").is_ok()
    }

    /// The highest version of `R` within `wanted` that both the broker and the crate speak.
    pub fn pick<R: Request>(&self, wanted: RangeInclusive<i16>, why: &str) -> Result<i16, WireError> {
        let (crate_min, crate_max) = (R::VERSIONS.min, R::VERSIONS.max);
        let low = *wanted.start().max(&crate_min);
        let high = *wanted.end().min(&crate_max);
        let offered = self.ranges.get(&R::KEY).copied();
        match offered {
            Some((min, max)) if low.max(min) <= high.min(max) => Ok(high.min(max)),
            _ => Err(WireError::Unsupported {
                addr: self.addr.clone(),
                api: api_name(R::KEY),
                wanted: if wanted.start() == wanted.end() {
                    format!("v{}", wanted.start())
                } else {
                    format!("v{}-v{}", wanted.start(), wanted.end())
                },
                offered: offered.map_or("none".to_string(), |(min, max)| format!("v{min}-v{max}")),
                why: if why.is_empty() { String::new() } else { format!(": {why}") },
            }),
        }
    }

    /// The finalized `transaction.version` feature level, if the broker reports one.
    pub fn transaction_version(&self) -> Option<i16> {
        self.features.get("transaction.version").copied()
    }
}

/// The version of every API the harness sends, for one protocol mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Versions {
    pub protocol: Protocol,
    pub produce: i16,
    pub fetch: i16,
    pub list_offsets: i16,
    pub metadata: i16,
    pub offset_commit: i16,
    pub offset_fetch: i16,
    pub find_coordinator: i16,
    pub join_group: i16,
    pub sync_group: i16,
    pub create_topics: i16,
    pub delete_topics: Option<i16>,
    pub init_producer_id: i16,
    /// tv1 modes only.
    pub add_partitions_to_txn: Option<i16>,
    /// tv1 modes only.
    pub add_offsets_to_txn: Option<i16>,
    pub end_txn: i16,
    pub txn_offset_commit: i16,
    /// tv1 modes: the Produce of a client that predates KIP-1050 (`client = "legacy"`).
    pub produce_legacy: i16,
    /// tv1 modes: the TxnOffsetCommit of a client that predates KIP-1050.
    pub txn_offset_commit_legacy: i16,
    pub describe_configs: Option<i16>,
    /// Optional: the coordinator's view of each transactional id.
    pub describe_transactions: Option<i16>,
    /// Optional: each partition's producer states.
    pub describe_producers: Option<i16>,
}

impl Versions {
    /// The Produce version of `client`'s requests.
    pub fn produce_of(&self, client: ClientVersion) -> i16 {
        match client {
            ClientVersion::Java4 => self.produce,
            ClientVersion::Legacy => self.produce_legacy,
        }
    }

    /// The TxnOffsetCommit version of `client`'s requests.
    pub fn txn_offset_commit_of(&self, client: ClientVersion) -> i16 {
        match client {
            ClientVersion::Java4 => self.txn_offset_commit,
            ClientVersion::Legacy => self.txn_offset_commit_legacy,
        }
    }

    /// The versions to use against a broker offering `table` under `protocol`, or why it cannot be.
    pub fn choose(table: &ApiTable, protocol: Protocol) -> Result<Versions, WireError> {
        let tv2 = protocol == Protocol::Tv2;
        let optional = |r: Result<i16, WireError>| r.ok();
        let (produce, end_txn, txn_offset_commit) = if tv2 {
            (
                table.pick::<ProduceRequest>(12..=12, "tv2 needs KIP-890 part 2's Produce v12 (implicit add)")?,
                table.pick::<EndTxnRequest>(5..=5, "tv2 needs EndTxn v5 (epoch bump at every end)")?,
                table.pick::<TxnOffsetCommitRequest>(5..=5, "tv2 needs TxnOffsetCommit v5 (implicit add)")?,
            )
        } else {
            (
                table.pick::<ProduceRequest>(11..=11, "the tv1 modes' Java 4.x client uses Produce v11 (KIP-1050)")?,
                table.pick::<EndTxnRequest>(0..=4, "the tv1 modes use a pre-KIP-890 EndTxn")?,
                table
                    .pick::<TxnOffsetCommitRequest>(4..=4, "the tv1 modes' Java 4.x client uses TxnOffsetCommit v4")?,
            )
        };
        let (produce_legacy, txn_offset_commit_legacy) = if tv2 {
            (produce, txn_offset_commit)
        } else {
            (
                table.pick::<ProduceRequest>(3..=10, "the tv1 modes' legacy client uses a pre-KIP-1050 Produce")?,
                table.pick::<TxnOffsetCommitRequest>(3..=3, "the tv1 modes' legacy client uses TxnOffsetCommit v3")?,
            )
        };
        Ok(Versions {
            protocol,
            produce,
            fetch: table.pick::<FetchRequest>(4..=12, "read_committed fetches by topic name")?,
            list_offsets: table.pick::<ListOffsetsRequest>(2..=i16::MAX, "the LSO needs an isolation level")?,
            metadata: table.pick::<MetadataRequest>(1..=12, "")?,
            offset_commit: table.pick::<OffsetCommitRequest>(2..=9, "offsets by topic name")?,
            offset_fetch: table.pick::<OffsetFetchRequest>(7..=7, "OffsetFetch with require_stable for one group")?,
            find_coordinator: table.pick::<FindCoordinatorRequest>(1..=i16::MAX, "")?,
            join_group: table.pick::<JoinGroupRequest>(4..=i16::MAX, "")?,
            sync_group: table.pick::<SyncGroupRequest>(3..=i16::MAX, "")?,
            create_topics: table.pick::<CreateTopicsRequest>(2..=i16::MAX, "")?,
            delete_topics: optional(table.pick::<DeleteTopicsRequest>(1..=5, "")),
            init_producer_id: table.pick::<InitProducerIdRequest>(3..=5, "KIP-360's expected producer id and epoch")?,
            add_partitions_to_txn: if tv2 {
                None
            } else {
                Some(table.pick::<AddPartitionsToTxnRequest>(0..=3, "the client's AddPartitionsToTxn")?)
            },
            add_offsets_to_txn: if tv2 { None } else { Some(table.pick::<AddOffsetsToTxnRequest>(0..=4, "")?) },
            end_txn,
            txn_offset_commit,
            produce_legacy,
            txn_offset_commit_legacy,
            describe_configs: optional(table.pick::<DescribeConfigsRequest>(1..=i16::MAX, "")),
            describe_transactions: optional(table.pick::<DescribeTransactionsRequest>(0..=i16::MAX, "")),
            describe_producers: optional(table.pick::<DescribeProducersRequest>(0..=i16::MAX, "")),
        })
    }
}
