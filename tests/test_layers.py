"""The package's modules form layers, each importing only from the layers below it.

From the bottom:

1. leaves, which import nothing of newssearch that imports Whoosh's format:
   ``errors``, ``dates``, ``frontmatter``, ``store`` (the index folder),
   ``facets`` (facet result types);
2. ``schema`` (the Whoosh schema and the text analysis) and ``seeds`` (seed
   files into articles);
3. ``codec`` (Whoosh's on-disk format and private names; it may import only
   ``errors`` and ``schema`` from the rest of the package);
4. ``docvalues`` (per-document arrays), ``vocab`` (spelling vocabulary),
   ``highlight``;
5. ``scoring`` (the NumPy query evaluator);
6. everything else: the library's entry points (indexing, searching and the
   modules they use), then the command line.

Imports inside functions count as much as those at the top of a module: a
lazy import is still a dependency. Modules are read with ``ast``, not
imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

import newssearch

PACKAGE = Path(newssearch.__file__).parent
LAYERS = [
    {"errors", "dates", "frontmatter", "store", "facets", "urls", "neardup"},
    {"schema", "seeds"},
    {"codec"},
    {"docvalues", "vocab", "highlight"},
    {"scoring"},
]
CODEC_MAY_IMPORT = {"errors", "schema"}
# Whoosh modules whose names are the format itself: only the codec imports them.
FORMAT_MODULES = ("whoosh.codec", "whoosh.filedb", "whoosh.util.numeric", "whoosh.system", "whoosh.columns")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(("newssearch", *parts))


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(name: str, path: Path) -> list[tuple[str, list[str]]]:
    """Every (imported module, imported names) of a module, relative imports resolved."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.append((base, [alias.name for alias in node.names]))
    return found


def internal_graph() -> dict[str, set[str]]:
    """Module to the package's modules it imports (``from .codec import segments`` is ``codec.segments``)."""
    known = modules()
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        edges = set()
        for target, names in imports(name, path):
            if not target.startswith("newssearch"):
                continue
            submodules = [f"{target}.{n}" for n in names if f"{target}.{n}" in known]
            edges.update(submodules or [target])
        edges.discard(name)
        graph[name] = edges
    return graph


def layer(module: str) -> int:
    """A module's layer: that of its top-level name under ``newssearch`` (``codec.postings`` is ``codec``)."""
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    for number, names in enumerate(LAYERS):
        if top in names:
            return number
    return len(LAYERS)


def test_no_module_imports_a_module_that_imports_it_back():
    graph = internal_graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                cycles.append([*trail[trail.index(target):], target] if target in trail else [node, target])
            elif target not in state:
                visit(target, [*trail, target])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    # The package itself imports its public names (lazily): it is the top, not part of a cycle.
    assert [c for c in cycles if "newssearch" not in c] == []


def test_no_module_imports_from_a_higher_layer():
    upward = [
        (source, target)
        for source, targets in internal_graph().items()
        for target in targets
        if target != "newssearch" and layer(target) > layer(source)
    ]
    assert upward == []


def test_the_codec_imports_only_errors_and_the_schema_from_the_package():
    outside = {
        (source, target)
        for source, targets in internal_graph().items()
        if source.startswith("newssearch.codec")
        for target in targets
        if not target.startswith("newssearch.codec") and target.split(".")[1] not in CODEC_MAY_IMPORT
    }
    assert outside == set()


def test_only_the_codec_touches_whooshs_format_or_private_names():
    found = []
    for name, path in modules().items():
        if name.startswith("newssearch.codec"):
            continue
        for target, names in imports(name, path):
            if not target.startswith("whoosh"):
                continue
            private = [n for n in names if n.startswith("_")]
            if private or target.startswith(FORMAT_MODULES):
                found.append((name, target, private))
    assert found == []


def test_the_layer_checks_see_the_imports_they_are_about():
    # Guards against a parser that finds nothing and so passes everything.
    graph = internal_graph()
    assert "newssearch.codec.postings" in graph["newssearch.scoring"]
    assert "newssearch.codec.columns" in graph["newssearch.docvalues"]
    assert "newssearch.schema" in graph["newssearch.codec.segments"]  # a relative import two dots up
    assert layer("newssearch.codec.toc") == 2 and layer("newssearch.searching") == len(LAYERS)
