#!/usr/bin/env bash
# The implementation's own line and branch coverage under conformance alone (no unit tests): the `eos`
# binary runs instrumented (cargo-llvm-cov, LLVM source-based coverage with branch counters) through the
# conformance sections of .ci/run, then report.py tables eos-broker per module, checks the core
# (coordinator, partition, group, client, broker.rs) against its targets, and lists every line and branch
# no run reaches with the reason from unreachable.toml (a line with no reason fails the run).
#
# With no arguments, four runs of the same instrumented build are united:
#   1. the in-process suite: `eos conformance` (every scenario x protocol, as CI runs it);
#   2. the bug museum's replays: `eos bugs --conformance` (counterexamples of the fixes switched off);
#   3. the seeded faults: `eos conformance --mutants` (CI's settings), where each fault's code runs;
#   4. the reverse direction: `eos record` over conformance/reverse-scenarios.txt (CI's list), seed 0.
# The suite's own figure (run 1 alone) is reported too. With arguments, only run 1, with them:
#
#   conformance/coverage/run.sh                 # the four runs (~80 min on this 2-core machine under load:
#                                               # 7 to build, 27 the suite, 46 the seeded faults, 2 recording)
#   conformance/coverage/run.sh basic copier    # `eos conformance` with any arguments, run 1 only
#   COVERAGE_WRITE=1 conformance/coverage/run.sh   # also rewrite docs/coverage.md
#   COVERAGE_MUTANTS_SETTINGS="--enumerate-limit 2000 --walks 1 --large-walks 3" conformance/coverage/run.sh
#                                               # run 3 with smaller corpora than CI's (each fault's code
#                                               # still runs; 46 min of the 80 are CI's corpora)
#
# Needs: rustup's llvm-tools component and cargo-llvm-cov (installed here if missing). Branch coverage is
# an unstable rustc option (-Zcoverage-options=branch), enabled on the stable toolchain with
# RUSTC_BOOTSTRAP=1 for this instrumented build only (its own target dir, target/llvm-cov-target).
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! rustup component list --installed 2>/dev/null | grep -q '^llvm-tools'; then
  echo "== installing rustup's llvm-tools component" >&2
  rustup component add llvm-tools-preview
fi
if ! cargo llvm-cov --version >/dev/null 2>&1; then
  echo "== installing cargo-llvm-cov" >&2
  cargo install cargo-llvm-cov --locked --version 0.9.1
fi

export RUSTC_BOOTSTRAP=1
out=target/coverage
mkdir -p "$out"
cargo llvm-cov clean --workspace
start=$(date +%s)
status=0
# One instrumented run of `eos` (its profile data accumulates until the next clean); a failure is
# remembered, not fatal: a failing run still leaves its coverage, reported below, then the script fails.
eos() {
  local log=$1
  shift
  local run_status=0
  cargo llvm-cov run --branch --release -p eos-conformance --bin eos --no-report -- "$@" > "$out/$log" || run_status=$?
  [[ $log == record.last ]] || tail -n 2 "$out/$log" >&2
  if [[ $run_status != 0 ]]; then
    echo "eos $1 failed (exit $run_status): the figures below include a failing run" >&2
    status=$run_status
  fi
}
lcov() { cargo llvm-cov report --branch --release -p eos-broker --lcov --output-path "$out/$1" 2>/dev/null; }

echo "== 1. the in-process suite" >&2
eos conformance.txt conformance "$@" --out "$out/failures"
lcov suite.lcov
reports=("$out/suite.lcov")
command="conformance/coverage/run.sh $*"
if [[ $# == 0 ]]; then
  echo "== 2. the bug museum's replays" >&2
  eos bugs.txt bugs --conformance --timeout 300
  echo "== 3. the seeded faults" >&2
  # shellcheck disable=SC2086 # word splitting of the settings is intended
  eos mutants.txt conformance --mutants ${COVERAGE_MUTANTS_SETTINGS:---enumerate-limit 25000 --walks 3 --large-walks 30}
  echo "== 4. the reverse direction" >&2
  mkdir -p "$out/recorded"
  : > "$out/record.txt"
  while read -r scenario; do
    for protocol in tv1 tv1-verified tv2; do
      eos record.last record "$scenario" --protocol "$protocol" --seed 0 --out "$out/recorded/$scenario.$protocol.json" 2>/dev/null
      cat "$out/record.last" >> "$out/record.txt"
    done
  done < <(grep -v '^#' conformance/reverse-scenarios.txt)
  echo "$(grep -c . "$out/record.txt") lines of recorded runs" >&2
  lcov all.lcov
  reports=("$out/all.lcov" --suite-alone "$out/suite.lcov")
  command="conformance/coverage/run.sh (the four runs${COVERAGE_MUTANTS_SETTINGS:+; seeded faults with $COVERAGE_MUTANTS_SETTINGS})"
fi
echo "instrumented runs and reports: $(( $(date +%s) - start )) s" >&2

args=("${reports[@]}" --reasons conformance/coverage/unreachable.toml --errors conformance/coverage/error-paths.toml
      --command "$command" --measured-at "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- impl || echo ' with changes to impl/')")
if [[ "${COVERAGE_WRITE:-0}" == 1 ]]; then
  args+=(--write docs/coverage.md --history conformance/coverage/history.md)
fi
python3 conformance/coverage/report.py "${args[@]}" || { report_status=$?; [[ $status != 0 ]] || status=$report_status; }
exit "$status"
