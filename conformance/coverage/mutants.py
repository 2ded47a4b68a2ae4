#!/usr/bin/env python3
"""Mutants of a Rust source tree without cargo-mutants: the same kinds of change cargo-mutants makes, found
by reading rustfmt'd source line by line (planted_bugs.py's `--generator builtin`).

- a binary operator swapped (`==`/`!=`, `<` to `==` or `>`, `&&`/`||`, `+` to `-` or `*`, `+=` to `-=`, ...),
  as cargo-mutants swaps them;
- a unary `!` deleted;
- a function body replaced by a value of its return type (`()`, `true`/`false`, `None`, `vec![]`,
  `Ok(())`, 0 and 1 for the integer types, an empty map or set), where the type makes one obvious.

What it leaves out, unlike cargo-mutants: match arms deleted or their guards replaced, and bodies whose
return type needs type inference (`Default::default()` of a struct). Test code (`tests` directories,
`tests.rs`, everything after a `#[cfg(test)]`) and the seeded faults (lines naming `faults.has(Fault::`)
are not mutated: the planted bugs are bugs of the implementation, not of its tests or its fault switches.

  mutants.py impl/src            # list them (one name a line)
"""

import difflib
import os
import re
import sys

INTEGERS = {"u8", "u16", "u32", "u64", "usize", "i8", "i16", "i32", "i64", "isize",
            "ProducerId", "ProducerEpoch", "Sequence", "Offset", "CoordinatorEpoch", "Generation", "TimestampMs"}

# cargo-mutants' binary-operator replacements.
BINARY = {
    "==": ["!="], "!=": ["=="],
    "<": ["==", ">"], ">": ["==", "<"], "<=": [">"], ">=": ["<"],
    "&&": ["||"], "||": ["&&"],
    "+": ["-", "*"], "-": ["+", "/"],
    "+=": ["-=", "*="], "-=": ["+=", "/="],
}
BINARY_RE = re.compile(r"(?<= )(==|!=|<=|>=|&&|\|\||\+=|-=|\+|-|<|>)(?= )")
NOT_RE = re.compile(r"(?<![\w!)\]>])!(?=[\w(&*])")
FN_RE = re.compile(r"^(\s*)(?:pub(?:\([^)]*\))? )?(?:const )?fn (\w+)")
IMPL_RE = re.compile(r"^impl(?:<[^>]*>)? (?:[\w:<>]+ for )?(\w+)")
SKIP_LINE = ("faults.has(Fault::", "// fault:", "assert", "tracing::", "#[", "use ", "panic!", "unreachable!")


def mask(line):
    """The line with string literals' contents and a trailing comment blanked (columns kept)."""
    out, in_string, i = [], False, 0
    while i < len(line):
        c = line[i]
        if in_string:
            if c == "\\":
                out.append("__")
                i += 2
                continue
            if c == '"':
                in_string = False
                out.append(c)
            else:
                out.append("_")
        elif c == '"':
            in_string = True
            out.append(c)
        elif line.startswith("//", i):
            break
        else:
            out.append(c)
        i += 1
    return "".join(out)


def body_values(return_type):
    """The values a body of this return type is replaced with (none when no obvious value exists)."""
    t = return_type.replace(" ", "")
    if t == "":
        return ["()"]
    if t == "bool":
        return ["true", "false"]
    if t in INTEGERS:
        return ["0", "1"]
    if t.startswith("Option<"):
        return ["None"]
    if t.startswith("Vec<"):
        return ["vec![]"]
    if t.startswith("BTreeMap<"):
        return ["BTreeMap::new()"]
    if t.startswith("BTreeSet<"):
        return ["BTreeSet::new()"]
    if t == "String":
        return ["String::new()"]
    if t.startswith("Result<(),"):
        return ["Ok(())"]
    if t.startswith("Result<Vec<"):
        return ["Ok(vec![])"]
    if t.startswith("Result<bool,"):
        return ["Ok(true)", "Ok(false)"]
    return []


def functions(lines):
    """(name, first body line, closing line, return type, indent) of every fn with a body (0-based)."""
    found, owner = [], None
    i = 0
    while i < len(lines):
        impl = IMPL_RE.match(lines[i])
        if impl:
            owner = impl.group(1)
        m = FN_RE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, name = m.group(1), m.group(2)
        # The signature runs to the first line ending in `{` (or `;`: no body) at bracket depth 0.
        signature, j, depth = "", i, 0
        while j < len(lines):
            text = mask(lines[j])
            signature += " " + text.strip()
            depth += text.count("(") - text.count(")")
            if depth <= 0 and (text.rstrip().endswith("{") or text.rstrip().endswith(";")):
                break
            j += 1
        if j >= len(lines) or signature.rstrip().endswith(";"):
            i = j + 1
            continue
        close = next((k for k in range(j + 1, len(lines)) if lines[k] == indent + "}"), None)
        if close is None:
            i = j + 1
            continue
        head = signature.rsplit("{", 1)[0]
        head = head.split(" where ", 1)[0]
        # The return type: after the `->` that follows the parameter list's closing parenthesis.
        params_end = head.rfind(")") if "->" not in head else head.rfind(")", 0, head.rfind("->") + 1)
        return_type = head.split("->", 1)[1].strip() if "->" in head[params_end:] else ""
        if "->" in head[params_end:]:
            return_type = head[params_end:].split("->", 1)[1].strip()
        qualified = f"{owner}::{name}" if owner and indent else name
        found.append((qualified, j + 1, close, return_type, indent))
        i = j + 1
    return found


def test_start(lines):
    return next((i for i, line in enumerate(lines) if line.strip() == "#[cfg(test)]"), len(lines))


def diff(relative, before, after, title):
    return "".join(difflib.unified_diff(before, after, fromfile=relative, tofile=title, n=3))


def file_mutants(tree, relative):
    with open(os.path.join(tree, relative)) as f:
        source = f.read().splitlines(keepends=True)
    lines = [line.rstrip("\n") for line in source]
    end = test_start(lines)
    fns = [f for f in functions(lines[:end])]

    def owner_of(n):
        inside = [f for f in fns if f[1] - 1 <= n <= f[2]]
        return min(inside, key=lambda f: f[2] - f[1])[0] if inside else "?"

    out = []

    def add(line_no, column, what, after):
        name = f"{relative}:{line_no + 1}:{column + 1}: {what}"
        out.append({"name": name, "file": relative, "diff": diff(relative, source, after, what)})

    for n in range(end):
        raw = lines[n]
        if any(s in raw for s in SKIP_LINE) or raw.strip().startswith("//") or FN_RE.match(raw):
            continue
        text = mask(raw)
        for m in BINARY_RE.finditer(text):
            op = m.group(1)
            if op == "+" and ("impl " in text or "dyn " in text or "'" in text):
                continue  # a trait bound, not an addition
            if op == "||" and text[: m.start()].rstrip().endswith("move"):
                continue  # a closure
            for replacement in BINARY[op]:
                changed = list(source)
                changed[n] = raw[: m.start()] + replacement + raw[m.end():] + "\n"
                add(n, m.start(), f"replace {op} with {replacement} in {owner_of(n)}", changed)
        for m in NOT_RE.finditer(text):
            changed = list(source)
            changed[n] = raw[: m.start()] + raw[m.end():] + "\n"
            add(n, m.start(), f"delete ! in {owner_of(n)}", changed)
    for name, first, close, return_type, indent in fns:
        body = lines[first:close]
        if not any(line.strip() for line in body) or any("faults.has(Fault::" in line for line in body):
            continue
        for value in body_values(return_type):
            changed = source[:first] + [indent + "    " + value + " /* ~ planted ~ */\n"] + source[close:]
            shown = f" -> {return_type}" if return_type else ""
            add(first, len(indent) + 4, f"replace {name}{shown} with {value}", changed)
    return out


def list_mutants(tree, root):
    """Every mutant of the .rs files under tree/root, as {"name", "file", "diff"} (paths relative to tree)."""
    mutants = []
    for directory, subdirs, names in os.walk(os.path.join(tree, root)):
        subdirs[:] = sorted(d for d in subdirs if d != "tests")
        for name in sorted(names):
            if name.endswith(".rs") and name != "tests.rs":
                relative = os.path.relpath(os.path.join(directory, name), tree)
                mutants.extend(file_mutants(tree, relative))
    return mutants


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: mutants.py DIR (relative to the current directory)")
    for mutant in list_mutants(".", sys.argv[1]):
        print(mutant["name"])
