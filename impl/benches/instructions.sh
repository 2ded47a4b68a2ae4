#!/usr/bin/env bash
# Instructions executed per record by the broker core for each case of the `produce` bench, counted by
# valgrind's callgrind in the timed function only (`run`): repeatable whatever else the machine does,
# unlike wall-clock time. Needs valgrind. Usage: impl/benches/instructions.sh [RECORDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
records="${1:-100000}"
bench=$(cargo bench -p eos-broker --bench produce --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys; print([json.loads(l)["executable"] for l in sys.stdin if "\"executable\":\"" in l and "produce" in l][-1])')
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cases=$("$bench" --list-cases)
printf '%-36s %14s %12s %10s\n' case instructions "per record" overhead
for case in $cases; do
  file="$out/$(echo "$case" | tr / _).out"
  EOS_BENCH_CASE="$case" EOS_BENCH_ROUNDS=0 EOS_BENCH_RECORDS="$records" \
    valgrind --tool=callgrind --callgrind-out-file="$file" --collect-atstart=no --toggle-collect='produce::run*' \
    "$bench" --bench >/dev/null 2>&1
  total=$(grep -m1 '^totals:' "$file" | awk '{print $2}')
  case "$case" in */idempotent) base=$total ;; esac
  python3 -c "import sys; t,b,n=int(sys.argv[1]),int(sys.argv[2]),int(sys.argv[3]); print(f'{sys.argv[4]:<36} {t:>14,} {t/n:>12.1f} {100*(t/b-1):>9.1f}%')" \
    "$total" "$base" "$records" "$case"
done
