#!/usr/bin/env bash
# The implementation's own line and branch coverage under the conformance suite alone (no unit tests):
# `eos conformance` runs instrumented (cargo-llvm-cov, LLVM source-based coverage with branch counters),
# then report.py tables eos-broker per module, checks the core (coordinator, partition, group, client,
# broker.rs) against its targets, and lists every line and branch no trace reaches with the reason from
# unreachable.toml (a line with no reason fails the run).
#
#   conformance/coverage/run.sh                 # the full suite, as `eos conformance` runs it (~15 min here: 5 to build, 10 to run)
#   conformance/coverage/run.sh basic copier    # any `eos conformance` arguments
#   COVERAGE_WRITE=1 conformance/coverage/run.sh   # also rewrite docs/coverage.md
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
cargo llvm-cov run --branch --release -p eos-conformance --bin eos --no-report -- conformance "$@" --out "$out/failures" \
  > "$out/conformance.txt" || status=$?
tail -n 3 "$out/conformance.txt" >&2
# A failing trace still leaves its coverage: report it, then fail.
[[ $status == 0 ]] || echo "eos conformance failed (exit $status): the figures below are of a failing suite" >&2
cargo llvm-cov report --branch --release -p eos-broker --lcov --output-path "$out/eos-broker.lcov" 2>/dev/null
echo "instrumented conformance run and report: $(( $(date +%s) - start )) s" >&2

args=("$out/eos-broker.lcov" --reasons conformance/coverage/unreachable.toml --errors conformance/coverage/error-paths.toml
      --command "conformance/coverage/run.sh $*" --measured-at "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- impl || echo ' with changes to impl/')")
if [[ "${COVERAGE_WRITE:-0}" == 1 ]]; then
  args+=(--write docs/coverage.md --history conformance/coverage/history.md)
fi
python3 conformance/coverage/report.py "${args[@]}" || { report_status=$?; [[ $status != 0 ]] || status=$report_status; }
exit "$status"
