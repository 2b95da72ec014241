"""The package's import graph has no cycle, lazy (function-level) imports included, so each
module can be read and tested on top of the ones it imports."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.AST):
    """Every import node, skipping ``if TYPE_CHECKING:`` blocks (annotations only)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from _imports(node)


def import_graph() -> dict[str, set[str]]:
    """module -> the divrec modules it imports, at module level or inside functions."""
    files = {module_name(p): p for p in SRC.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        deps: set[str] = set()
        for node in _imports(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                targets = []
            deps |= {t for t in targets if t in files and t != name}
        graph[name] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
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
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_cycle_finder_finds_a_planted_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle_in_the_package():
    graph = import_graph()
    assert len(graph) > 50
    assert cycles(graph) == []


def test_results_layout_is_written_once():
    """The shared result files are named by ``divrec.paths.Layout`` only: no rule, script or
    library module spells them out again (logs, benchmarks, figure subfolders and the quality
    comparison's own tree under results/quality excepted)."""
    import re

    from divrec.paths import Layout

    lay = Layout("results")
    assert lay.samples("{dataset}", "{model}", "{point}") == \
        "results/{dataset}/samples/{model}/{point}.npz"
    assert lay.metrics("omniglot", "human", "data", "per_class") == \
        "results/omniglot/metrics/human/data/per_class.parquet"
    spelled = re.compile(r"""["'/](models|samples|metrics|critics|data)/[{"']""")
    root = SRC.parent
    files = [*root.glob("workflow/rules/*.smk"), *root.glob("workflow/scripts/*.py"),
             *SRC.rglob("*.py"), root / "Snakefile"]
    offenders = [f"{p.relative_to(root)}:{i}" for p in files if p.name != "paths.py"
                 for i, line in enumerate(p.read_text().splitlines(), 1)
                 if spelled.search(line) and "logs/" not in line and "benchmarks/" not in line
                 and "QRES" not in line and "QD}" not in line and "figures" not in line]
    assert not offenders, offenders
