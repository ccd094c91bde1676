#!/usr/bin/env python3
"""Fails when a module of the crate imports a module that imports it back.

Each file under src/ is a module (`a/b.rs` and `a/b/mod.rs` are `a::b`). Every path a file
names (`use crate::x::y`, `super::z`, `crate::x::y::f(...)` in code) is resolved to the
deepest module that exists, following `pub use child::{A, B}` re-exports (and private
`use child::A` imports, which the children see too) in a parent so that `super::Sense`
counts as a use of the sibling that defines `Sense`. Uses of an ancestor or a
descendant are the module tree itself and do not count. Every other use `m -> p` is lifted to
the two children of their lowest common ancestor (`scsi::copy -> scsi::outcome`, or
`backstore::file -> uring` between rooms), and the lifted graph must have no cycle.
`#[cfg(test)]` modules (`tests.rs`, `tests/`, inline `mod x { .. }`) are left
out: tests may look anywhere. Usage: tests/check-module-cycles.py [SRC_DIR]
"""
import re
import sys
from pathlib import Path

src = Path(sys.argv[1] if len(sys.argv) > 1 else "src")
crate_roots = {"lib.rs", "main.rs"}


def module_of(path: Path) -> tuple:
    rel = path.relative_to(src).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "mod" or (len(parts) == 1 and parts[0] in ("lib", "main")):
        parts = parts[:-1]
    return tuple(parts)


def is_test(mod: tuple) -> bool:
    return any(p == "tests" or p == "testing" for p in mod)


files = {}
for f in src.rglob("*.rs"):
    if f.name == "main.rs" and f.parent == src:
        continue
    mod = module_of(f)
    if not is_test(mod):
        files[mod] = f.read_text()
modules = set(files)

# Re-exports: (parent module, name) -> child module. A private `use child::X` counts
# too: the parent's children can name it as `super::X`.
reexports = {}
for mod, text in files.items():
    for m in re.finditer(r"\buse\s+(?:self::)?([a-z_][a-z0-9_]*)::([^;]+);", text):
        child = mod + (m.group(1),)
        if child not in modules:
            continue
        names = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", m.group(2).split("::")[-1])
        for n in names:
            reexports[(mod, n)] = child


def resolve(mod: tuple, path: list) -> tuple:
    """The deepest existing module a path from `mod` names, through re-exports."""
    if path[0] == "crate":
        base, rest = (), path[1:]
    elif path[0] == "super":
        base, rest = mod, path
        while rest and rest[0] == "super":
            base, rest = base[:-1], rest[1:]
    elif path[0] == "self":
        base, rest = mod, path[1:]
    else:
        return None
    cur = base
    for seg in rest:
        if cur + (seg,) in modules:
            cur = cur + (seg,)
        elif (cur, seg) in reexports:
            cur = reexports[(cur, seg)]
        else:
            break
    return cur


path_re = re.compile(r"\b((?:crate|super|self)(?:::[A-Za-z_][A-Za-z0-9_]*)+)")
group_re = re.compile(r"\buse\s+((?:crate|super|self)(?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^;]*)\};", re.S)


def uses(mod: tuple, text: str):
    text = re.sub(r"#\[cfg\(test\)\]\s*(?:pub(?:\([a-z]+\))?\s+)?mod\s+\w+\s*\{.*", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    for m in path_re.finditer(text):
        yield m.group(1).split("::")
    for m in group_re.finditer(text):
        prefix = m.group(1).split("::")
        for item in re.findall(r"[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*", m.group(2)):
            yield prefix + item.split("::")


edges = {}
for mod, text in files.items():
    for path in uses(mod, text):
        target = resolve(mod, path)
        if target is None or target == mod:
            continue
        n = 0
        while n < min(len(mod), len(target)) and mod[n] == target[n]:
            n += 1
        if n == len(mod) or n == len(target):
            continue  # an ancestor or a descendant
        a, b = mod[: n + 1], target[: n + 1]
        edges.setdefault(a, {}).setdefault(b, set()).add("::".join(mod) + " -> " + "::".join(target))

# Tarjan's strongly connected components.
index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]


def visit(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on.add(v)
    for w in edges.get(v, {}):
        if w not in index:
            visit(w)
            low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            on.discard(w)
            comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            sccs.append(comp)


sys.setrecursionlimit(10000)
for v in list(edges):
    if v not in index:
        visit(v)

if not sccs:
    print(f"module cycles: none among {len(modules)} modules")
    sys.exit(0)
for comp in sccs:
    names = sorted("::".join(c) for c in comp)
    print("module cycle: " + " <-> ".join(names))
    for a in comp:
        for b, why in edges.get(a, {}).items():
            if b in comp:
                for w in sorted(why)[:3]:
                    print(f"    {w}")
sys.exit(1)
