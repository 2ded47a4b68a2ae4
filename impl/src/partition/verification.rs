//! KIP-890's verification state entry of one producer at one partition (Kafka's
//! `VerificationStateEntry`): the guard a verified batch must present, and the lowest sequence a
//! verification was started for (KAFKA-14920), from a verification's start until the producer's next
//! transactional append or marker (specs 5.1 steps 2, 4a and 5).

use crate::types::{ProducerEpoch, Sequence};

/// A verification in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerificationEntry {
    /// The guard handed out when it started.
    pub guard: u64,
    /// The lowest sequence a verification was started for at `epoch`.
    pub lowest_sequence: Sequence,
    /// The highest epoch a verification was started for.
    pub epoch: ProducerEpoch,
}

impl VerificationEntry {
    /// Another batch starts verifying under this entry (`maybeUpdateLowestSequenceAndEpoch`): a lower
    /// sequence at the same epoch lowers the bound, a higher epoch restarts it, an older one is ignored.
    pub fn saw(&mut self, sequence: Sequence, epoch: ProducerEpoch) {
        if epoch == self.epoch {
            self.lowest_sequence = self.lowest_sequence.min(sequence);
        } else if epoch > self.epoch {
            (self.epoch, self.lowest_sequence) = (epoch, sequence);
        }
    }
}
