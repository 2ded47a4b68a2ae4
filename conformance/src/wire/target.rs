//! The `kafka://HOST:PORT` target of `eos conformance` and `eos replay`: a bootstrap address of any
//! Kafka-compatible broker or cluster.

use std::fmt;
use std::str::FromStr;

/// Where the broker is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KafkaTarget {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl KafkaTarget {
    /// `host:port`, as a socket address string.
    pub fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for KafkaTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "kafka://{}", self.addr())
    }
}

impl FromStr for KafkaTarget {
    type Err = String;
    /// Parses `kafka://HOST:PORT` (an IPv6 host in brackets: `kafka://[::1]:9092`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| format!("target `{s}` is not kafka://HOST:PORT: {why}");
        let rest = s.strip_prefix("kafka://").ok_or_else(|| bad("it does not start with kafka://"))?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (host, port) = match rest.strip_prefix('[') {
            Some(bracketed) => {
                let (host, after) = bracketed.split_once(']').ok_or_else(|| bad("an unclosed [ in the host"))?;
                (host, after.strip_prefix(':').ok_or_else(|| bad("no :PORT after the host"))?)
            }
            None => rest.rsplit_once(':').ok_or_else(|| bad("no :PORT"))?,
        };
        if host.is_empty() {
            return Err(bad("an empty host"));
        }
        let port: u16 = port.parse().map_err(|_| bad(&format!("`{port}` is not a port number")))?;
        if port == 0 {
            return Err(bad("port 0"));
        }
        Ok(KafkaTarget { host: host.to_string(), port })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Targets parse from kafka://HOST:PORT and print back the same way; malformed ones are refused.
    #[test]
    fn targets_parse() {
        let t: KafkaTarget = "kafka://127.0.0.1:9092".parse().unwrap();
        assert_eq!((t.host.as_str(), t.port, t.addr()), ("127.0.0.1", 9092, "127.0.0.1:9092".to_string()));
        assert_eq!(t.to_string(), "kafka://127.0.0.1:9092");
        let v6: KafkaTarget = "kafka://[::1]:19092/".parse().unwrap();
        assert_eq!(v6.addr(), "[::1]:19092");
        for bad in
            ["127.0.0.1:9092", "kafka://host", "kafka://:9092", "kafka://host:port", "kafka://h:0", "kafka://h:70000"]
        {
            assert!(bad.parse::<KafkaTarget>().is_err(), "{bad} should be refused");
        }
    }
}
