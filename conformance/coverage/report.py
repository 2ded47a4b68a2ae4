#!/usr/bin/env python3
"""Tables eos-broker's coverage under the conformance suite (an lcov file from cargo-llvm-cov) per module,
checks the core against its targets, and lists every line and branch outcome of the core that no trace
reached, each with its reason from unreachable.toml.

Exit status: 0 when the core meets both targets and every unreached line and branch of the core has a
reason; 1 otherwise (what is missing is printed); 2 on bad input.
"""

import argparse
import os
import re
import sys

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    sys.exit("report.py needs Python 3.11 or newer (tomllib)")

# The core: the broker's protocol logic and the client. Outside it: the in-process cluster (the harness's
# driver), the seeded faults (testing only), and plumbing (wire types, errors, storage, config).
CORE = ["coordinator", "partition", "group", "client", "broker"]
OUTSIDE = {
    "cluster": "the deterministic in-process cluster: the harness's driver, not the protocol",
    "mutation": "seeded faults (testing only): a fault's branch runs only when `--fault` switches it on",
    "protocol": "message types and their helpers, shared with the wire server",
    "types": "identifiers and their helpers, shared with the wire server",
    "error": "error codes and their names, shared with the wire server",
    "storage": "in-memory and file storage (the file side is used by `eos broker`)",
    "config": "settings",
    "lib": "crate root",
}
LINE_TARGET = 95.0
BRANCH_TARGET = 90.0


def parse_lcov(paths):
    """{relative path: {"lines": {line: count}, "branches": [(line, index, taken)]}} for impl/src files.

    Several lcov files (runs of the same build: e.g. the suite, then further scenarios) are united: a line
    or branch outcome is reached if any run reached it. A line may carry several branch records (one per
    condition, closure or generic instance); they are matched across files by their order on the line."""
    files = {}
    for path in paths:
        seen = {}  # per file of this lcov: (line, block, index) -> how many records so far
        current = None
        with open(path) as f:
            for raw in f:
                line = raw.strip()
                if line.startswith("SF:"):
                    name = line[3:]
                    marker = os.sep + os.path.join("impl", "src") + os.sep
                    current, seen = None, {}
                    if marker in name:
                        current = files.setdefault(
                            name.split(marker, 1)[1], {"lines": {}, "branch_counts": {}, "path": name}
                        )
                elif current is None:
                    continue
                elif line.startswith("DA:"):
                    number, count = line[3:].split(",")[:2]
                    # A line may carry several records (closures, generic instances): it ran if any ran.
                    current["lines"][int(number)] = max(int(count), current["lines"].get(int(number), 0))
                elif line.startswith("BRDA:"):
                    number, block, index, taken = line[5:].split(",")
                    key = (int(number), int(block), int(index))
                    ordinal = seen.get(key, 0)
                    seen[key] = ordinal + 1
                    counts = current["branch_counts"]
                    counts[key + (ordinal,)] = max(counts.get(key + (ordinal,), 0), 0 if taken == "-" else int(taken))
                elif line == "end_of_record":
                    current = None
    if not files:
        sys.exit(f"{', '.join(paths)}: no impl/src files in this lcov report")
    for data in files.values():
        data["branches"] = [(n, index, taken) for (n, _block, index, _o), taken in sorted(data.pop("branch_counts").items())]
    return files


def module_of(relative):
    head = relative.split("/", 1)[0]
    return head[:-3] if head.endswith(".rs") else head


def load_reasons(path):
    with open(path, "rb") as f:
        entries = tomllib.load(f).get("unreachable", [])
    for entry in entries:
        for key in ("file", "from", "reason"):
            if key not in entry:
                sys.exit(f"{path}: an [[unreachable]] entry has no `{key}`: {entry}")
    return entries


def explained_ranges(entries, relative, source):
    """(first, last, reason, entry) per place an entry names in this file; lines are 1-based."""
    ranges = []
    for entry in entries:
        if entry["file"] != relative:
            continue
        starts = [i for i, text in enumerate(source) if entry["from"] in text]
        if entry.get("block") and len(starts) > 1:
            sys.exit(f"unreachable.toml: a block's `from` must name one line; `{entry['from']}` names {len(starts)} in {relative}")
        for start in starts:
            end = start
            if entry.get("block"):
                # The whole block the `from` line opens: through the `}` at the same indentation.
                indent = len(source[start]) - len(source[start].lstrip())
                end = next((i for i in range(start + 1, len(source))
                            if source[i].strip().startswith("}") and len(source[i]) - len(source[i].lstrip()) == indent),
                           None)
                if end is None:
                    sys.exit(f"unreachable.toml: no end of the block opened by `{entry['from']}` in {relative}")
            elif "through" in entry:
                end = next((i for i in range(start, len(source)) if entry["through"] in source[i]), None)
                if end is None:
                    sys.exit(f"unreachable.toml: `{entry['through']}` not found after `{entry['from']}` in {relative}")
            ranges.append((start + 1, end + 1, entry["reason"], entry))
    return ranges


def error_sites(path, files):
    """[(site, hits or None if the line has no counter)] for every site of error-paths.toml."""
    with open(path, "rb") as f:
        sites = tomllib.load(f).get("site", [])
    out = []
    for site in sites:
        data = files.get(site["file"])
        if data is None:
            sys.exit(f"{path}: no coverage data for {site['file']}")
        with open(data["path"]) as f:
            source = f.read().split("\n")
        starts = [i for i, text in enumerate(source) if site["from"] in text]
        if len(starts) != 1:
            sys.exit(f"{path}: `{site['from']}` occurs {len(starts)} times in {site['file']} (must be once)")
        line = starts[0]
        if "at" in site:
            line = next((i for i in range(line, len(source)) if site["at"] in source[i]), None)
            if line is None:
                sys.exit(f"{path}: `{site['at']}` not found after `{site['from']}` in {site['file']}")
        out.append((site, data["lines"].get(line + 1)))
    return out


FAULT_REASON = "a seeded fault's code (testing only): runs only when `--fault` switches the fault on"
IMPOSSIBLE_REASON = "an impossible state (`unreachable!`): a programming error if ever reached"
ASSERT_REASON = "an assertion's failing side: it would be a bug"


def automatic_reasons(source):
    """{line: reason} for what needs no entry in unreachable.toml: seeded-fault branches and the blocks they
    guard, `unreachable!`; {-line: reason} for branch outcomes only: the conditions inside assertions."""
    reasons = {}
    indent = lambda text: len(text) - len(text.lstrip())
    for i, text in enumerate(source):
        if "faults.has(Fault::" in text or "// fault:" in text:
            reasons[i + 1] = FAULT_REASON
            if text.rstrip().endswith("{") and "faults.has(Fault::" in text:
                for j in range(i + 1, len(source)):
                    if source[j].strip() and indent(source[j]) <= indent(text):
                        break
                    reasons[j + 1] = FAULT_REASON
        if "unreachable!(" in text or "debug_assert!(false" in text:
            reasons[i + 1] = IMPOSSIBLE_REASON
        if "assert!(" in text or "assert_eq!(" in text:
            depth = 0
            for j in range(i, len(source)):
                reasons.setdefault(-(j + 1), ASSERT_REASON)  # negative: for branch outcomes only
                depth += source[j].count("(") - source[j].count(")")
                if depth <= 0:
                    break
    return reasons


def percent(hit, total):
    return 100.0 * hit / total if total else 100.0


def summarise(data):
    lines = data["lines"]
    outcomes = data["branches"]
    return (
        sum(1 for c in lines.values() if c > 0),
        len(lines),
        sum(1 for b in outcomes if b[2] > 0),
        len(outcomes),
    )


def group_runs(numbers):
    runs = []
    for n in sorted(numbers):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return runs


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lcov", nargs="+", help="lcov files of one build, united")
    parser.add_argument("--reasons", required=True)
    parser.add_argument("--errors", help="error-paths.toml: the sites of specs/eos.md §14's error codes")
    parser.add_argument("--command", default="conformance/coverage/run.sh")
    parser.add_argument("--write", help="also write the report (markdown) to this file")
    parser.add_argument("--measured-at", help="the commit measured (line numbers below are of its sources)")
    parser.add_argument("--history", help="a markdown file appended to the report (earlier figures, planted bugs)")
    parser.add_argument("--suite-alone", metavar="LCOV",
                        help="the in-process suite's own lcov (one of the runs united): its core figure is reported too")
    args = parser.parse_args()
    files = parse_lcov(args.lcov)
    entries = load_reasons(args.reasons)
    used = set()

    modules = {}
    for relative, data in files.items():
        hit_l, all_l, hit_b, all_b = summarise(data)
        m = modules.setdefault(module_of(relative), [0, 0, 0, 0])
        for i, v in enumerate((hit_l, all_l, hit_b, all_b)):
            m[i] += v

    out = []
    out.append("# eos-broker's coverage under conformance alone\n")
    if args.suite_alone:
        what = ("the `eos` binary runs the conformance sections of .ci/run against the in-process cluster, united: "
                "the suite (`eos conformance`), the bug museum's replays (`eos bugs --conformance`), the seeded "
                "faults (`eos conformance --mutants`) and the reverse direction (`eos record`)")
    else:
        what = "the `eos` binary replays the suite against the in-process cluster"
    out.append(f"Measured with `{args.command.strip()}` (cargo-llvm-cov: LLVM source-based coverage of the "
               f"release build, branch counters on): {what}; no unit test runs. A *branch* is one outcome (true "
               "or false) of an `if`, `while`, `&&`, `||` or guard condition, as rustc's branch coverage counts them.\n")
    if args.measured_at:
        out.append(f"Measured at commit {args.measured_at}; the line numbers below are of its sources.\n")
    out.append("| module | lines | line coverage | branch outcomes | branch coverage |")
    out.append("|---|---:|---:|---:|---:|")
    core = [0, 0, 0, 0]
    for name in CORE:
        m = modules.get(name, [0, 0, 0, 0])
        core = [a + b for a, b in zip(core, m)]
        out.append(f"| {name} | {m[0]}/{m[1]} | {percent(m[0], m[1]):.1f}% | {m[2]}/{m[3]} | {percent(m[2], m[3]):.1f}% |")
    line_pct, branch_pct = percent(core[0], core[1]), percent(core[2], core[3])
    out.append(f"| **core** | **{core[0]}/{core[1]}** | **{line_pct:.1f}%** | **{core[2]}/{core[3]}** | **{branch_pct:.1f}%** |")
    if args.suite_alone:
        alone = [0, 0, 0, 0]
        for relative, data in parse_lcov([args.suite_alone]).items():
            if module_of(relative) in CORE:
                alone = [a + b for a, b in zip(alone, summarise(data))]
        out.append(f"| core, the suite alone | {alone[0]}/{alone[1]} | {percent(alone[0], alone[1]):.1f}% "
                   f"| {alone[2]}/{alone[3]} | {percent(alone[2], alone[3]):.1f}% |")
    out.append("")
    out.append(f"Targets for the core: ≥ {LINE_TARGET:.0f}% of lines, ≥ {BRANCH_TARGET:.0f}% of branch outcomes.\n")
    out.append("Outside the core (reported, not targeted):\n")
    out.append("| module | lines | line coverage | branch outcomes | why outside |")
    out.append("|---|---:|---:|---:|---|")
    for name in sorted(set(modules) - set(CORE)):
        m = modules[name]
        out.append(f"| {name} | {m[0]}/{m[1]} | {percent(m[0], m[1]):.1f}% | {m[2]}/{m[3]} | {OUTSIDE.get(name, '?')} |")
    out.append("")

    unexplained = []
    if args.errors:
        out.append("## The error paths of specs/eos.md §14\n")
        out.append("Every place the implementation produces one of §14's error codes, and whether a conformance trace "
                   "reached it (the count is how often the line ran).\n")
        out.append("| code | where (specs/eos.md) | reached | why not |")
        out.append("|---|---|---:|---|")
        for site, hits in error_sites(args.errors, files):
            reached = bool(hits)
            reason = site.get("reason", "")
            if not reached and not reason:
                unexplained.append(f"error path {site['code']} ({site['spec']}) is not reached and has no reason")
                reason = "**UNEXPLAINED**"
            if reached and reason:
                print(f"note: {site['code']} ({site['spec']}) is reached; its reason is stale", file=sys.stderr)
                reason = ""
            count = f"{hits:,}" if reached else "no"
            out.append(f"| `{site['code']}` | {site['spec']} | {count} | {reason} |")
        out.append("")

    if args.history:
        with open(args.history) as f:
            out.append(f.read().rstrip("\n") + "\n")
    out.append("## What no trace reaches in the core, and why\n")
    for relative in sorted(files):
        if module_of(relative) not in CORE:
            continue
        data = files[relative]
        with open(data["path"]) as f:
            source = f.read().split("\n")
        ranges = explained_ranges(entries, relative, source)
        automatic = automatic_reasons(source)

        def reason_for(line, branch):
            for first, last, reason, entry in ranges:
                if first <= line <= last:
                    used.add(id(entry))
                    return reason
            return automatic.get(line) or (automatic.get(-line) if branch else None)

        missed_lines = [n for n, c in data["lines"].items() if c == 0]
        missed_branches = {}
        for n, index, taken in data["branches"]:
            if taken == 0:
                missed_branches.setdefault(n, []).append("true" if index % 2 == 0 else "false")
        items = []
        for first, last in group_runs(missed_lines):
            items.append((first, last, "lines"))
        for n, sides in missed_branches.items():
            if data["lines"].get(n, 1) == 0:
                continue  # the line itself never ran: listed with the lines
            items.append((n, n, "condition never " + "/".join(sorted(set(sides)))))
        if not items:
            continue
        out.append(f"### {relative}\n")
        for first, last, what in sorted(items):
            reasons = {reason_for(n, what != "lines") for n in range(first, last + 1)}
            reason = " / ".join(sorted(r for r in reasons if r)) if None not in reasons else None
            text = source[first - 1].strip()
            where = f"{first}" if first == last else f"{first}-{last}"
            label = "" if what == "lines" else f" ({what})"
            if reason is None:
                unexplained.append(f"{relative}:{where}{label}: {text}")
                reason = "**UNEXPLAINED**"
            out.append(f"- `{where}`{label} `{text[:90]}` — {reason}")
        out.append("")

    stale = [e for e in entries if id(e) not in used]
    report = "\n".join(out)
    if args.write:
        with open(args.write, "w") as f:
            f.write(report + "\n")
    print(report)
    ok = True
    if line_pct < LINE_TARGET or branch_pct < BRANCH_TARGET:
        print(f"\ncore below target: lines {line_pct:.1f}% (≥ {LINE_TARGET}%), branches {branch_pct:.1f}% "
              f"(≥ {BRANCH_TARGET}%)", file=sys.stderr)
        ok = False
    if unexplained:
        print(f"\n{len(unexplained)} unreached place(s) of the core have no reason in {args.reasons}:",
              file=sys.stderr)
        for u in unexplained:
            print("  " + u, file=sys.stderr)
        ok = False
    if stale:
        print(f"\nnote: {len(stale)} reason(s) in {args.reasons} explain nothing unreached now:", file=sys.stderr)
        for e in stale:
            print(f"  {e['file']}: {e['from']}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
