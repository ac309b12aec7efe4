"""Fails on any import cycle among the Python modules of engine/training.

    /usr/bin/python3 engine/training/check_imports.py [--graph]

Builds the module import graph with `ast` (no module is imported or run): every `import X` / `from X import ...`
of a module of this folder counts, wherever it is written (at the top, inside a function, a class or an `if`),
and so do `importlib.import_module("X")` and `__import__("X")` with a constant name. A cycle is any set of modules
that reach each other through those edges (a strongly connected component of more than one module, or a module
that imports itself). Prints the graph with --graph; exits 1 on a cycle, 0 otherwise. Runs on any Python 3.
"""
from __future__ import annotations

import ast
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP_DIRS = {"runs", "checkpoints", "card-notes", "data-cache", "__pycache__"}


def local_modules(root: str = HERE) -> dict[str, str]:
    """Module name -> file, for the .py files of this folder (the folder itself is on sys.path, so a file's
    name is its module's name; no packages here)."""
    return {f[:-3]: os.path.join(root, f) for f in sorted(os.listdir(root))
            if f.endswith(".py") and os.path.isfile(os.path.join(root, f))}


def imported_names(tree: ast.AST) -> list[tuple[str, int]]:
    """(top-level module name, line) of every import in the tree, at any depth."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name.split(".")[0], node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # a relative import: `from . import x` names x in this folder
                if node.module:
                    out.append((node.module.split(".")[0], node.lineno))
                else:
                    out += [(a.name, node.lineno) for a in node.names]
            elif node.module:
                out.append((node.module.split(".")[0], node.lineno))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else fn.id if isinstance(fn, ast.Name) else ""
            if name in ("import_module", "__import__"):
                out.append((node.args[0].value.split(".")[0], node.lineno))
    return out


def import_graph(root: str = HERE) -> dict[str, dict[str, list[int]]]:
    """module -> {local module it imports -> [lines]}."""
    mods = local_modules(root)
    graph: dict[str, dict[str, list[int]]] = {}
    for name, path in mods.items():
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), filename=path)
        edges: dict[str, list[int]] = {}
        for target, line in imported_names(tree):
            if target in mods:
                edges.setdefault(target, []).append(line)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, dict[str, list[int]]]) -> list[list[str]]:
    """Strongly connected components with a cycle (Tarjan), each sorted; self-imports included."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # recursion depth is bounded by the number of modules (a few dozen)
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
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
            if len(comp) > 1 or v in graph[v]:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def main(argv: list[str]) -> int:
    graph = import_graph()
    if "--graph" in argv:
        for m, edges in graph.items():
            print(f"{m}: {', '.join(sorted(edges)) or '-'}")
    found = cycles(graph)
    n_edges = sum(len(e) for e in graph.values())
    if not found:
        print(f"check_imports: {len(graph)} modules, {n_edges} local imports, no import cycle")
        return 0
    for comp in found:
        members = set(comp)
        print(f"import cycle among {', '.join(comp)}:")
        for m in comp:
            for t, lines in sorted(graph[m].items()):
                if t in members:
                    print(f"  {m}.py imports {t} (line {', '.join(map(str, lines))})")
    print(f"check_imports: {len(graph)} modules, {n_edges} local imports, {len(found)} import cycle(s)")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
