#!/usr/bin/env python3
"""Planted bugs: how many bugs planted in eos-broker's core, outside the seeded faults, `eos conformance`
catches. The bugs are mutants of the core (coordinator, partition, group, client, broker.rs), a seeded
random sample; each is applied to a source tree, the `eos` binary is rebuilt, and
`eos conformance --fail-fast` decides: exit 1 caught, exit 0 survived.

The mutants come from cargo-mutants (cargo install cargo-mutants) or, with `--generator builtin` (no
install: cargo-mutants takes a quarter of an hour to build on a loaded machine), from mutants.py beside
this file, which applies the same kinds of change as cargo-mutants on rustfmt'd source: swapped binary
and comparison operators, a deleted `!`, a function body replaced by a value of its return type.

  planted_bugs.py sample --tree DIR --count 50 --seed 1 --out sample.json [--generator builtin]
  planted_bugs.py run --tree DIR --sample sample.json --results results.json [-- eos conformance args]
  planted_bugs.py compare before.json after.json

`run` applies each mutant's diff with `patch` (fuzzy, so a sample taken on one tree applies to a later
one where the code moved), restores the file afterwards, and records per mutant: caught, crashed (eos
ended otherwise than 0 or 1, e.g. an assertion of the implementation fired), timeout, survived, or
unviable (the diff does not apply or the mutant does not compile). It resumes from `results` if present.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import time

CORE_PREFIXES = ("impl/src/coordinator/", "impl/src/partition/", "impl/src/group/", "impl/src/client/")
CORE_FILES = ("impl/src/broker.rs",)


def in_core(path):
    return path.startswith(CORE_PREFIXES) or path in CORE_FILES


def sample(args):
    if args.generator == "builtin":
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import mutants as builtin

        listed = builtin.list_mutants(args.tree, "impl/src")
    else:
        listed = json.loads(subprocess.run(
            ["cargo", "mutants", "--list", "--json", "-p", "eos-broker"],
            cwd=args.tree, check=True, capture_output=True, text=True,
        ).stdout)
    mutants = [m for m in listed if in_core(m["file"])]
    rng = random.Random(args.seed)
    # Kept in the order drawn: a run cut short (`run` goes through the sample in order) is still a
    # random subset.
    chosen = rng.sample(mutants, min(args.count, len(mutants)))
    with open(args.out, "w") as f:
        json.dump([{"name": m["name"], "file": m["file"], "diff": m["diff"]} for m in chosen], f, indent=1)
    print(f"{len(chosen)} of {len(mutants)} core mutants sampled (seed {args.seed}) into {args.out}")


def sh(command, cwd, timeout=None, env=None):
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def run(args):
    with open(args.sample) as f:
        mutants = json.load(f)
    results = {}
    if os.path.exists(args.results):
        with open(args.results) as f:
            results = json.load(f)
    env = dict(os.environ)
    env.setdefault("CARGO_PROFILE_RELEASE_DEBUG", "0")  # faster links; set it to reuse a debug=1 target dir
    if args.target_dir:
        env["CARGO_TARGET_DIR"] = args.target_dir
    target = args.target_dir or os.path.join(args.tree, "target")
    eos = os.path.join(target, "release", "eos")
    conformance = ["conformance", *args.conformance, "--fail-fast", "--out", os.path.join(target, "planted")]
    for i, mutant in enumerate(mutants):
        name = mutant["name"]
        if name in results:
            continue
        path = os.path.join(args.tree, mutant["file"])
        started = time.time()
        applied = subprocess.run(["patch", "--fuzz=3", "--no-backup-if-mismatch", "-s", path],
                                 input=mutant["diff"], cwd=args.tree, capture_output=True, text=True)
        try:
            if applied.returncode != 0:
                outcome, detail = "unviable", "the diff does not apply: " + applied.stdout.strip()[:200]
            else:
                build = sh(["cargo", "build", "--release", "-p", "eos-conformance", "--bin", "eos"], args.tree, env=env)
                if build.returncode != 0:
                    outcome, detail = "unviable", "does not compile"
                else:
                    try:
                        ran = sh([eos, *conformance], args.tree, timeout=args.timeout)
                        code = ran.returncode
                        failing = [line.strip() for line in ran.stdout.splitlines() if line.startswith("    ✗")]
                        outcome = {0: "survived", 1: "caught"}.get(code, "crashed")
                        detail = failing[0][:300] if failing else (ran.stderr.strip().splitlines() or [""])[-1][:300]
                    except subprocess.TimeoutExpired:
                        outcome, detail = "timeout", f"no verdict in {args.timeout} s"
        finally:
            subprocess.run(["git", "checkout", "--", mutant["file"]], cwd=args.tree, check=True)
        results[name] = {"outcome": outcome, "detail": detail, "seconds": round(time.time() - started)}
        with open(args.results, "w") as f:
            json.dump(results, f, indent=1)
        print(f"[{i + 1}/{len(mutants)}] {outcome:9} {name}", flush=True)
    summarise(results)


def summarise(results, label=""):
    counts = {}
    for r in results.values():
        counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
    viable = sum(v for k, v in counts.items() if k != "unviable")
    detected = sum(counts.get(k, 0) for k in ("caught", "crashed", "timeout"))
    print(f"{label}{viable} viable mutants: {detected} detected ({100.0 * detected / max(viable, 1):.0f}%) — "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return counts


def compare(args):
    with open(args.before) as f:
        before = json.load(f)
    with open(args.after) as f:
        after = json.load(f)
    both = [n for n in before if n in after and "unviable" not in (before[n]["outcome"], after[n]["outcome"])]
    print(f"{len(both)} mutants viable in both trees")
    summarise({n: before[n] for n in both}, "before: ")
    summarise({n: after[n] for n in both}, "after:  ")
    for n in both:
        b, a = before[n]["outcome"], after[n]["outcome"]
        if b != a:
            print(f"  {b:>9} -> {a:9} {n}")
    for n in both:
        if after[n]["outcome"] == "survived":
            print(f"  survives after: {n}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("sample")
    p.add_argument("--tree", required=True)
    p.add_argument("--count", type=int, default=50)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", required=True)
    p.add_argument("--generator", choices=["cargo-mutants", "builtin"], default="cargo-mutants")
    p = sub.add_parser("run")
    p.add_argument("--tree", required=True)
    p.add_argument("--sample", required=True)
    p.add_argument("--results", required=True)
    p.add_argument("--target-dir")
    p.add_argument("--timeout", type=int, default=900)
    p.add_argument("conformance", nargs="*", help="arguments for `eos conformance` (after --)")
    p = sub.add_parser("compare")
    p.add_argument("before")
    p.add_argument("after")
    args = parser.parse_args()
    {"sample": sample, "run": run, "compare": compare}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
