"""The import graph follows the layer table in README.md ("Layers"), and importing low layers stays cheap.

Every module of the package is read with ``ast``: top-level and function-level imports, relative
and absolute, ``from X import name`` counted as an import of ``X.name`` when that is a module. A
module may import its own layer and the layers below; within a layer the imports that run (not
those under ``TYPE_CHECKING``) must not form a cycle. The top-level package (a lazy facade, run by every import anyway) is outside the layers, and
entry points (``__main__`` modules and ``if __name__ == "__main__":`` blocks) count as the cli.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "aagcn_lab"
ROOT = "aagcn_lab"

# Cycles inside one layer that are known and left for their owners (the modules -> why it is there): none
# today; a new cycle fails the test.
KNOWN_CYCLES: dict[frozenset[str], str] = {}


@dataclass(frozen=True)
class Edge:
    """``source`` imports ``target`` at ``path:line`` (``entry``: in an entry point; ``typing``: under TYPE_CHECKING)."""

    source: str
    target: str
    path: str
    line: int
    entry: bool
    typing: bool = False

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.source} -> {self.target}"


def layer_table() -> dict[str, int]:
    """README's layer table: module prefix (``data``, ``train.rundir``) -> layer number."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- layer table.*?-->(.*?)<!-- /layer table -->", text, re.S)
    assert m, "README.md has no '<!-- layer table -->' ... '<!-- /layer table -->' block"
    table: dict[str, int] = {}
    for row in m.group(1).splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[0].isdigit():
            continue
        for name in re.findall(r"`([\w.]+)`", cells[1]):
            assert name not in table, f"README layer table lists {name!r} twice"
            table[name] = int(cells[0])
    assert table, "README's layer table has no rows"
    return table


def module_name(path: Path) -> str:
    """``aagcn_lab/data/pipeline.py`` -> ``aagcn_lab.data.pipeline`` (a package: its ``__init__``)."""
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules() -> dict[str, Path]:
    """Every module of the package, by dotted name."""
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def _is_main_guard(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return (
        isinstance(node, ast.If)
        and isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
    )


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> list[Edge]:
    """The package modules that module ``name`` imports, at any depth of its code."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    rel = str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)
    edges: list[Edge] = []

    def visit(node: ast.AST, entry: bool, typing: bool) -> None:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found = sub if sub in modules else target
                if found in modules and all(e.target != found or e.line != node.lineno for e in edges):
                    edges.append(Edge(name, found, rel, node.lineno, entry, typing))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                target = alias.name
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target:
                    edges.append(Edge(name, target, rel, node.lineno, entry, typing))
        for child in ast.iter_child_nodes(node):
            visit(child, entry or _is_main_guard(node), typing or _is_type_checking(node))

    visit(ast.parse(path.read_text(encoding="utf-8"), rel), path.name == "__main__.py", False)
    return edges


def layer_of(module: str, table: dict[str, int]) -> int | None:
    """The layer of the longest table prefix of ``module`` (``aagcn_lab.data.pipeline`` -> ``data``)."""
    parts = module.split(".")[1:]
    for n in range(len(parts), 0, -1):
        key = ".".join(parts[:n])
        if key in table:
            return table[key]
    return None


def _cycles(edges: list[Edge]) -> list[list[Edge]]:
    """One cycle (its edges) per strongly connected component of more than one module (Tarjan)."""
    graph: dict[str, list[Edge]] = {}
    for e in edges:
        graph.setdefault(e.source, []).append(e)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def strongconnect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for e in graph.get(v, []):
            w = e.target
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                components.append(comp)

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    out = []
    for comp in components:  # a shortest cycle through the component's first module names it
        start = min(comp)
        paths: dict[str, list[Edge]] = {start: []}
        queue = [start]
        while queue:
            v = queue.pop(0)
            for e in graph.get(v, []):
                if e.target == start:
                    out.append(paths[v] + [e])
                    queue = []
                    break
                if e.target in comp and e.target not in paths:
                    paths[e.target] = paths[v] + [e]
                    queue.append(e.target)
    return out


@pytest.fixture(scope="module")
def graph() -> tuple[dict[str, int], dict[str, Path], list[Edge]]:
    table = layer_table()
    modules = package_modules()
    edges = [e for name, path in modules.items() for e in imports_of(name, path, modules) if e.source != e.target]
    return table, modules, edges


def test_every_module_has_a_layer(graph):
    table, modules, _ = graph
    missing = sorted(m for m in modules if m != ROOT and layer_of(m, table) is None)
    assert not missing, f"modules missing from README.md's layer table: {', '.join(missing)}"
    unknown = sorted(k for k in table if not any(m == f"{ROOT}.{k}" or m.startswith(f"{ROOT}.{k}.") for m in modules))
    assert not unknown, f"README.md's layer table names modules that do not exist: {', '.join(unknown)}"


def test_imports_point_down_the_layers(graph):
    table, _, edges = graph
    top = max(table.values())
    bad = []
    for e in edges:
        if ROOT in (e.source, e.target):
            continue  # the lazy facade: loaded by every import, it loads nothing itself
        src = top if e.entry else layer_of(e.source, table)
        dst = layer_of(e.target, table)
        if dst > src:
            bad.append(f"{e} (layer {src} imports layer {dst})")
    assert not bad, "imports against README.md's layer order:\n" + "\n".join(bad)


def test_no_cycles_within_a_layer(graph):
    table, _, edges = graph
    same = [e for e in edges if ROOT not in (e.source, e.target) and not e.entry and not e.typing
            and layer_of(e.source, table) == layer_of(e.target, table)]  # fmt: skip
    found = [c for c in _cycles(same) if frozenset(e.source for e in c) not in KNOWN_CYCLES]  # one cycle per tangle
    assert not found, "import cycles inside a layer:\n" + "\n\n".join("\n".join(map(str, c)) for c in found)


def command_line_code(source: str, rel: str) -> list[str]:
    """Where ``source`` imports argparse or calls sys.exit outside an ``if __name__ == "__main__":`` block."""
    found = []

    def visit(node: ast.AST, entry: bool) -> None:
        if not entry:
            if isinstance(node, ast.Import) and any(a.name == "argparse" for a in node.names):
                found.append(f"{rel}:{node.lineno}: imports argparse")
            if isinstance(node, ast.ImportFrom) and node.module == "argparse":
                found.append(f"{rel}:{node.lineno}: imports from argparse")
            if isinstance(node, ast.Attribute) and node.attr == "exit" and getattr(node.value, "id", "") == "sys":
                found.append(f"{rel}:{node.lineno}: calls sys.exit")
        for child in ast.iter_child_nodes(node):
            visit(child, entry or _is_main_guard(node))

    visit(ast.parse(source), False)
    return found


def test_library_modules_have_no_command_line(graph):
    """argparse and sys.exit live in aagcn_lab.cli and in entry points only (the CLI pattern)."""
    _, modules, _ = graph
    bad = []
    for name, path in modules.items():
        if name == f"{ROOT}.cli" or name.startswith(f"{ROOT}.cli.") or path.name == "__main__.py":
            continue
        bad += command_line_code(path.read_text(encoding="utf-8"), str(path.relative_to(REPO)))
    assert not bad, "command-line code outside aagcn_lab/cli (move it into a cli/<command>.py):\n" + "\n".join(bad)
    sample = "import sys\ndef f():\n    import argparse\n    sys.exit(1)\nif __name__ == '__main__':\n    sys.exit(f())\n"
    assert command_line_code(sample, "x.py") == ["x.py:3: imports argparse", "x.py:4: calls sys.exit"]


def test_the_check_sees_function_level_and_relative_imports(tmp_path):
    """The walker on a made-up module: a relative import in a function, a submodule by name, a __main__ block."""
    src = tmp_path / "aagcn_lab" / "viz" / "fake.py"
    src.parent.mkdir(parents=True)
    src.write_text(
        "import numpy\n"
        "def f():\n"
        "    from ..train import trainer\n"
        "    import aagcn_lab.graph\n"
        "if __name__ == '__main__':\n"
        "    from ..cli import main\n"
    )
    modules = {"aagcn_lab.viz.fake": src, "aagcn_lab.train": src, "aagcn_lab.train.trainer": src, "aagcn_lab.graph": src, "aagcn_lab.cli": src}
    edges = imports_of("aagcn_lab.viz.fake", src, modules)
    assert [(e.target, e.line, e.entry) for e in edges] == [
        ("aagcn_lab.train.trainer", 3, False), ("aagcn_lab.graph", 4, False), ("aagcn_lab.cli", 6, True)
    ]  # fmt: skip
    table = {"graph": 1, "train": 4, "viz": 5, "cli": 7}
    assert layer_of("aagcn_lab.train.trainer", table) == 4 and layer_of("aagcn_lab.viz.fake", table) == 5


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize("statement", ["import aagcn_lab", "import aagcn_lab.graph"])
def test_importing_a_low_layer_stays_light(statement):
    loaded = _loaded_after(statement)
    ours = sorted(m for m in loaded if m == ROOT or m.startswith(f"{ROOT}."))
    assert ours == ["aagcn_lab", "aagcn_lab._lazy"] + (["aagcn_lab.graph"] if "graph" in statement else []), ours
    heavy = sorted(m for m in loaded if m.split(".")[0] in ("torch", "matplotlib", "plotly", "papermill"))
    assert not heavy, f"{statement} loads {heavy[:5]}"


def test_the_lazy_facade_gives_the_same_objects():
    code = (
        "import aagcn_lab\n"
        "from aagcn_lab.prediction import predict\n"
        "from aagcn_lab.streaming import StreamingPredictor\n"
        "from aagcn_lab.graph import get_layout\n"
        "import aagcn_lab.prediction, aagcn_lab.streaming, aagcn_lab.export\n"
        "assert aagcn_lab.predict is predict and aagcn_lab.StreamingPredictor is StreamingPredictor\n"
        "assert callable(aagcn_lab.predict) and type(aagcn_lab) is type(aagcn_lab.graph)  # no submodule hides it, no module class swap\n"
        "assert aagcn_lab.get_layout is get_layout and sorted(aagcn_lab.__all__) == sorted(aagcn_lab._EXPORTS)\n"
        "import aagcn_lab.data as d\n"
        "from aagcn_lab.data.pipeline import Pipeline\n"
        "assert d.Pipeline is Pipeline and sorted(d.__all__) == sorted(d._EXPORTS)\n"
        "assert all(getattr(m, n) is not None for m in (aagcn_lab, d) for n in m.__all__)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


@pytest.mark.parametrize("argv", [["--help"], ["fuse", "--help"]])
def test_cli_help_loads_only_its_command(argv):
    """``aagcn-lab --help`` imports no command module; ``aagcn-lab fuse --help`` only cli.fuse."""
    loaded = _loaded_after(f"from aagcn_lab.cli import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n    pass")
    ours = sorted(m for m in loaded if m.startswith(f"{ROOT}."))
    assert ours == ["aagcn_lab._lazy", "aagcn_lab.cli"] + [f"aagcn_lab.cli.{a}" for a in argv[:-1]], ours
    assert "torch" not in loaded and "numpy" not in loaded
