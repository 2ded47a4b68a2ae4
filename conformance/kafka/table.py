#!/usr/bin/env python3
"""The results table of docs/kafka-conformance.md from `eos conformance --target kafka://... --json` reports.

    table.py NAME=REPORT.json [NAME=REPORT.json ...]

NAME labels the broker (e.g. `kafka tv2`). One row per scenario and protocol: traces tried, realised,
skipped (with reasons), conforming, known divergences, divergences, broker failures, realised steps,
traces/s and steps/s; then a total per broker.
"""
import json
import sys

REASONS = {
    "fencing-off": "fencing off",
    "fix-off": "fix off",
    "verification-round-trip": "verification round trip",
    "producer-expiry": "producer expiry",
    "small-epoch-space": "small epoch space",
    "broker-message-lost": "marker lost",
    "broker-message-duplicated": "marker re-sent",
    "coordinator-failover": "failover",
    "client-step-before-broker-work": "client before markers",
    "overlapping-timeouts": "overlapping timeouts",
}


def row(broker, s):
    skipped = sum(s["skipped"].values())
    reasons = ", ".join(f"{n} {REASONS.get(r, r)}" for r, n in sorted(s["skipped"].items()))
    known = sum(s["known"].values())
    seconds = max(s["seconds"], 1e-9)
    return (
        f"| {broker} | {s['scenario']} | {s['protocol']} | {s['traces']} | {s['realised']} | "
        f"{skipped}{f' ({reasons})' if reasons else ''} | {s['conforming']} | {known} | {s['diverging']} | "
        f"{s['broker_failures']} | {s['steps']} | {s['traces'] / seconds:.1f} | {s['steps'] / seconds:.0f} |"
    )


def main(args):
    if not args:
        sys.exit(__doc__)
    print("| broker | scenario | protocol | traces | realised | skipped | conform | known | diverge | "
          "broker failures | steps | traces/s | steps/s |")
    print("|---|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    totals = []
    for arg in args:
        broker, path = arg.split("=", 1)
        report = json.load(open(path))
        scenarios = report["scenarios"]
        for s in scenarios:
            print(row(broker, s))
        totals.append((broker, scenarios))
    for broker, scenarios in totals:
        n = lambda key: sum(s[key] for s in scenarios)
        skipped = sum(sum(s["skipped"].values()) for s in scenarios)
        known = sum(sum(s["known"].values()) for s in scenarios)
        seconds = max(sum(s["seconds"] for s in scenarios), 1e-9)
        print(
            f"| **{broker}** | **all** | | **{n('traces')}** | **{n('realised')}** | **{skipped}** | "
            f"**{n('conforming')}** | **{known}** | **{n('diverging')}** | **{n('broker_failures')}** | "
            f"**{n('steps')}** | **{n('traces') / seconds:.1f}** | **{n('steps') / seconds:.0f}** |"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
