//! The identities a real broker chooses for itself, matched to the model's.
//!
//! Kafka hands out producer ids from blocks (not 1000, 1001, … as the model does), a long-lived
//! broker's coordinator epoch is not 0, and a consumer group's generation is the broker's. Each is
//! matched to the model's by first occurrence and must stay a bijection: a broker that gives two
//! model producers one id, or one model producer two ids, shows up as a difference, never as a
//! silent re-mapping.

use eos_model::types::{GroupIndex, ProducerId};
use std::collections::BTreeMap;

/// A bijection learned by first occurrence.
#[derive(Clone, Debug, Default)]
pub struct Bijection {
    model_to_real: BTreeMap<i64, i64>,
    real_to_model: BTreeMap<i64, i64>,
}

impl Bijection {
    /// The real value of a model value, if it is matched.
    pub fn real(&self, model: i64) -> Option<i64> {
        self.model_to_real.get(&model).copied()
    }

    /// The model value of a real value, if it is matched.
    pub fn model(&self, real: i64) -> Option<i64> {
        self.real_to_model.get(&real).copied()
    }

    /// Matches `model` with `real` if neither is matched yet; true if they are now matched to each
    /// other (false: one of them is matched to something else, which is a difference to report).
    pub fn learn(&mut self, model: i64, real: i64) -> bool {
        match (self.real(model), self.model(real)) {
            (None, None) => {
                self.model_to_real.insert(model, real);
                self.real_to_model.insert(real, model);
                true
            }
            (Some(r), Some(m)) => r == real && m == model,
            _ => false,
        }
    }
}

/// Every identity of one trace run.
#[derive(Clone, Debug, Default)]
pub struct Identities {
    /// Model producer ids ↔ the broker's.
    pub producer_ids: Bijection,
    /// Model group generations ↔ the broker's, per consumer group.
    pub generations: BTreeMap<GroupIndex, Bijection>,
    /// The coordinator epochs the broker showed. They are compared by rank: the model's are 0, 1, …
    /// (one per failover), a broker's start anywhere and may jump at a restart (a partition leader
    /// epoch), but both only grow.
    pub coordinator_epochs: std::collections::BTreeSet<i32>,
}

impl Identities {
    /// How a broker producer id reads in a view: the model's id it is matched to, or
    /// `kafka:{id}` when it is matched to none (which differs from every model id).
    pub fn show_producer_id(&self, real: ProducerId) -> String {
        match self.producer_ids.model(real) {
            Some(model) => model.to_string(),
            None => format!("kafka:{real}"),
        }
    }

    /// A broker coordinator epoch as its rank among those the trace has seen (learning it on first
    /// sight); -1 ("no marker yet") stays -1.
    pub fn coordinator_epoch(&mut self, real: i32) -> i32 {
        if real < 0 {
            return real;
        }
        self.coordinator_epochs.insert(real);
        self.coordinator_epochs.range(..real).count() as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bijection learns on first occurrence and refuses to match either side twice.
    #[test]
    fn bijection_is_kept() {
        let mut b = Bijection::default();
        assert!(b.learn(1000, 7001));
        assert!(b.learn(1000, 7001), "the same pair again");
        assert!(!b.learn(1000, 7002), "a second real id for one model id");
        assert!(!b.learn(1001, 7001), "a second model id for one real id");
        assert!(b.learn(1001, 7002));
        assert_eq!((b.real(1001), b.model(7001)), (Some(7002), Some(1000)));
        let ids = Identities { producer_ids: b, ..Identities::default() };
        assert_eq!(ids.show_producer_id(7002), "1001");
        assert_eq!(ids.show_producer_id(9), "kafka:9");
    }

    /// Coordinator epochs are compared by rank; -1 stays -1.
    #[test]
    fn coordinator_epochs_are_ranked() {
        let mut ids = Identities::default();
        assert_eq!(ids.coordinator_epoch(-1), -1);
        assert_eq!(ids.coordinator_epoch(5), 0);
        assert_eq!(ids.coordinator_epoch(7), 1, "a restart may jump");
        assert_eq!(ids.coordinator_epoch(5), 0);
    }
}
