//! Proof that the harness can fail: run the suite against the implementation with each seeded fault
//! switched on (eos-broker's `Fault`, testing only) and report which traces caught it. Every fault
//! must be caught.

use crate::replay::replay;
use crate::suite::{self, NamedTrace, SuiteOptions};
use crate::trace::Origin;
use eos_broker::{Fault, Faults};
use eos_model::Config;
use serde::Serialize;

/// The command-line name of a fault.
pub fn fault_name(fault: Fault) -> &'static str {
    match fault {
        Fault::SkipPartitionEpochCheck => "skip-partition-epoch-check",
        Fault::ForgetAbortedIndex => "forget-aborted-index",
        Fault::CommitPendingOffsetsOnAbort => "commit-offsets-on-abort",
        Fault::AcceptDuplicateBatch => "accept-duplicate-batch",
        Fault::LsoIgnoresOpenTransactions => "lso-past-open-transaction",
        Fault::SkipMarkerRetries => "skip-marker-retries",
        Fault::WrongValidPreviousStates => "wrong-valid-previous-states",
        Fault::LoseTransactionLogOnFailover => "lose-transaction-log-on-failover",
        Fault::Tv2EndTxnKeepsEpoch => "tv2-end-txn-keeps-epoch",
        Fault::SkipCoordinatorEpochCheck => "skip-coordinator-epoch-check",
        Fault::OffsetFetchIgnoresPending => "offset-fetch-ignores-pending",
        Fault::TxnTimeoutRestartsOnAdd => "txn-timeout-restarts-on-add",
        Fault::TxnTimeoutFiresLate => "txn-timeout-fires-late",
        Fault::ClientRetryBackoffFromSend => "client-retry-backoff-from-send",
        Fault::RetryKeepsRequestTimer => "retry-keeps-request-timer",
        Fault::MarkerRetryWithoutBackoff => "marker-retry-without-backoff",
        Fault::AppendFailureKeepsPending => "append-failure-keeps-pending",
        Fault::CompletionIgnoresCoordinatorEpoch => "completion-ignores-coordinator-epoch",
        Fault::MarkerCompletesOneGroup => "marker-completes-one-group",
        Fault::DeliveryTimeoutFromLastSend => "delivery-timeout-from-last-send",
        Fault::UnresolvedFromGivenUpSequence => "unresolved-from-given-up-sequence",
        Fault::LogRecordWithoutPartitions => "log-record-without-partitions",
        Fault::NonTransactionalBatchInsideTransaction => "non-transactional-batch-inside-transaction",
        Fault::SkipEndTxnOutlivesTransaction => "skip-end-txn-outlives-transaction",
    }
}

/// The fault with this command-line name.
pub fn parse_fault(name: &str) -> Result<Fault, String> {
    Fault::ALL.into_iter().find(|f| fault_name(*f) == name).ok_or_else(|| {
        let known: Vec<&str> = Fault::ALL.iter().map(|f| fault_name(*f)).collect();
        format!("unknown fault `{name}`; known faults: {}", known.join(", "))
    })
}

/// How one seeded fault fared.
#[derive(Clone, Debug, Serialize)]
pub struct MutantReport {
    /// The fault's name.
    pub fault: &'static str,
    /// Traces that caught it (up to the limit asked for).
    pub caught_by: Vec<String>,
    /// Traces replayed before the search stopped.
    pub replayed: usize,
}

impl MutantReport {
    /// Whether some trace caught the fault.
    pub fn caught(&self) -> bool {
        !self.caught_by.is_empty()
    }
}

/// Whether `trace`, replayed with `faults`, shows the fault: a conforming trace that no longer
/// conforms, or a counterexample that is no longer triaged as expected.
fn catches(config: &Config, named: &NamedTrace, faults: Faults) -> bool {
    let outcome = replay(&named.trace, faults);
    if named.trace.origin == Origin::Counterexample {
        suite::triage(&outcome).0 != config.conformance.counterexamples
    } else {
        !outcome.conforms()
    }
}

/// Runs every fault against the traces of `configs` (generated once, with `options`), stopping a
/// fault's search after `catches_wanted` catching traces.
pub fn run(configs: &[Config], options: &SuiteOptions, catches_wanted: usize) -> Vec<MutantReport> {
    let corpora: Vec<suite::Corpus> = configs.iter().map(|c| suite::Corpus::new(c, options)).collect();
    Fault::ALL
        .iter()
        .map(|fault| {
            let faults = Faults::only(*fault);
            let mut report = MutantReport { fault: fault_name(*fault), caught_by: Vec::new(), replayed: 0 };
            'search: for corpus in &corpora {
                for named in corpus.iter() {
                    report.replayed += 1;
                    if catches(corpus.config(), &named, faults) {
                        report.caught_by.push(named.name.clone());
                        if report.caught_by.len() >= catches_wanted {
                            break 'search;
                        }
                    }
                }
            }
            report
        })
        .collect()
}
