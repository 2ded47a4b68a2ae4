//! First contact with a broker: is it there, does it speak Kafka, which API versions does it offer,
//! and which of the model's protocol modes does it run?
//!
//! A Kafka broker tells its transaction protocol through the finalized `transaction.version` feature
//! (ApiVersions v3+) and the broker configuration `transaction.partition.verification.enable`
//! (DescribeConfigs): 2 means tv2, below 2 means tv1-verified or tv1 depending on verification. A
//! broker that reports neither (tansu, for one) can be run under any mode the user names.

use super::connection::Connection;
use super::error::WireError;
use super::target::KafkaTarget;
use super::versions::{ApiTable, Versions};
use eos_model::Protocol;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::{DescribeConfigsRequest, MetadataRequest};
use kafka_protocol::protocol::StrBytes;
use std::time::Duration;

/// The broker configuration that switches KIP-890 part 1's partition verification.
pub const VERIFICATION_CONFIG: &str = "transaction.partition.verification.enable";

/// What the harness learned about a broker.
#[derive(Clone, Debug)]
pub struct BrokerInfo {
    /// The target.
    pub target: KafkaTarget,
    /// Its API versions and features.
    pub table: ApiTable,
    /// `transaction.version`, if reported.
    pub transaction_version: Option<i16>,
    /// `transaction.partition.verification.enable`, if it could be read.
    pub verification: Option<bool>,
}

impl BrokerInfo {
    /// Probes `target`: ApiVersions, then (if offered) DescribeConfigs of the node it reaches.
    pub fn probe(target: &KafkaTarget, timeout: Duration) -> Result<BrokerInfo, WireError> {
        let mut connection = Connection::open(&target.addr(), timeout)?;
        let table = ApiTable::fetch(&mut connection)?;
        let transaction_version = table.transaction_version();
        let verification = read_verification(&mut connection, &table).unwrap_or(None);
        Ok(BrokerInfo { target: target.clone(), table, transaction_version, verification })
    }

    /// The protocol mode the broker runs, when it says: tv2 when `transaction.version` ≥ 2, else
    /// tv1-verified or tv1 by its verification setting.
    pub fn protocol(&self) -> Option<Protocol> {
        match (self.transaction_version, self.verification) {
            (Some(level), _) if level >= 2 => Some(Protocol::Tv2),
            (Some(_), Some(true)) => Some(Protocol::Tv1Verified),
            (Some(_), Some(false)) => Some(Protocol::Tv1),
            _ => None,
        }
    }

    /// Whether traces of `protocol` can be held to this broker; `Err` says why not.
    ///
    /// A tv2 broker with verification on also runs tv1-verified for clients that send the older
    /// request versions (Kafka decides per request), so it realises both.
    pub fn check_protocol(&self, protocol: Protocol) -> Result<Versions, String> {
        let versions = Versions::choose(&self.table, protocol).map_err(|e| e.to_string())?;
        let runs = match (self.protocol(), protocol) {
            (None, _) => true,
            (Some(own), wanted) if own == wanted => true,
            (Some(Protocol::Tv2), Protocol::Tv1Verified) => self.verification == Some(true),
            _ => false,
        };
        if runs {
            Ok(versions)
        } else {
            Err(format!(
                "{} runs {} (transaction.version {}, {VERIFICATION_CONFIG}={}): it cannot realise {protocol} traces; \
                 start a broker in that configuration (conformance/kafka/kafka.sh start {protocol} DIR)",
                self.target,
                self.protocol().map_or("an unknown protocol".to_string(), |p| p.to_string()),
                self.transaction_version.map_or("unknown".to_string(), |v| v.to_string()),
                self.verification.map_or("unknown".to_string(), |v| v.to_string()),
            ))
        }
    }

    /// The protocols to run when the user names none: the broker's own, or all three if it does not say.
    pub fn default_protocols(&self) -> Vec<Protocol> {
        match self.protocol() {
            Some(p) => vec![p],
            None => Protocol::ALL.to_vec(),
        }
    }

    /// One line describing the broker.
    pub fn describe(&self) -> String {
        format!(
            "{}: transaction.version {}, {VERIFICATION_CONFIG}={} → {}",
            self.target,
            self.transaction_version.map_or("not reported".to_string(), |v| v.to_string()),
            self.verification.map_or("not reported".to_string(), |v| v.to_string()),
            self.protocol().map_or("protocol not reported".to_string(), |p| format!("runs {p}")),
        )
    }
}

/// The verification setting of the node behind `connection`, if the broker lets it be read.
fn read_verification(connection: &mut Connection, table: &ApiTable) -> Result<Option<bool>, WireError> {
    let Ok(version) = table.pick::<DescribeConfigsRequest>(1..=4, "") else { return Ok(None) };
    let Ok(metadata_version) = table.pick::<MetadataRequest>(1..=12, "") else { return Ok(None) };
    // The node id of the broker we reached: the metadata's broker at our address, else the first.
    let mut metadata = MetadataRequest::default();
    metadata.topics = Some(Vec::new());
    let brokers = connection.call(&metadata, metadata_version)?.brokers;
    let addr = connection.addr().to_string();
    let node = brokers
        .iter()
        .find(|b| format!("{}:{}", b.host.as_str(), b.port) == addr)
        .or(brokers.first())
        .map(|b| b.node_id.0);
    let Some(node) = node else { return Ok(None) };
    let mut resource = DescribeConfigsResource::default();
    const BROKER_RESOURCE: i8 = 4;
    resource.resource_type = BROKER_RESOURCE;
    resource.resource_name = StrBytes::from_string(node.to_string());
    resource.configuration_keys = Some(vec![StrBytes::from_static_str(VERIFICATION_CONFIG)]);
    let mut request = DescribeConfigsRequest::default();
    request.resources = vec![resource];
    let response = connection.call(&request, version)?;
    let value = response
        .results
        .iter()
        .filter(|r| r.error_code == 0)
        .flat_map(|r| r.configs.iter())
        .find(|c| c.name.as_str() == VERIFICATION_CONFIG)
        .and_then(|c| c.value.as_ref())
        .map(|v| v.as_str().eq_ignore_ascii_case("true"));
    Ok(value)
}
