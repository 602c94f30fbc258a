"""The package's public surface: one list of names, the same for type checkers and at run time."""

import ast
import subprocess
import sys
from pathlib import Path

import newssearch

INIT = Path(newssearch.__file__)


def _type_checking_imports() -> dict[str, str]:
    """``{name: module}`` of the imports under ``if TYPE_CHECKING:`` in ``__init__.py``."""
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom)
                for alias in imp.names:
                    found[alias.name] = imp.module or ""
    return found


def test_the_names_type_checkers_see_are_the_names_imported_on_first_use():
    assert _type_checking_imports() == newssearch._LAZY


def test_every_public_name_resolves_and_nothing_else_is_public():
    errors = {e.__name__ for e in newssearch._ERRORS}
    assert set(newssearch.__all__) == errors | set(newssearch._LAZY)
    assert len(newssearch.__all__) == len(set(newssearch.__all__))
    for name in newssearch.__all__:
        assert getattr(newssearch, name).__name__ == name


def test_importing_the_package_imports_neither_the_indexer_nor_the_searcher():
    code = (
        "import sys, newssearch\n"
        "print(sorted(m for m in sys.modules if m.startswith(('newssearch.', 'whoosh', 'numpy', 'yaml'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['newssearch.errors']"


def test_an_exception_is_shown_by_its_first_line():
    from newssearch.errors import first_line

    assert first_line(ValueError("bad block\nat offset 12")) == "bad block"
    assert first_line(ValueError()) == ""
    assert first_line("one line") == "one line"


def test_no_tracked_file_holds_the_markers_of_an_unresolved_merge():
    root = Path(__file__).resolve().parent.parent
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=False)
    if listed.returncode != 0:  # not a git checkout (an unpacked sdist): the docs and sources alone
        names = [str(p.relative_to(root)) for p in root.rglob("*") if p.suffix in (".md", ".py", ".toml", ".cfg")]
    else:
        names = listed.stdout.decode().split("\0")
    marked = []
    for name in filter(None, names):
        path = root / name
        if not path.is_file() or path.suffix not in (".md", ".py", ".toml", ".cfg", ".txt", ".html", ".js", ".css", ""):
            continue
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        if any(line.startswith(("<<<<<<< ", ">>>>>>> ")) for line in lines):
            marked.append(name)
    assert marked == []
