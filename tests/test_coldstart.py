"""The command's cold-start import deferral (newssearch._coldstart)."""

from __future__ import annotations

import subprocess
import sys


def assert_runs_fine(code: str) -> None:
    """``code`` runs in a fresh interpreter (its imports as a cold process makes them) and prints "fine"."""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.stdout.strip() == "fine", run.stderr


def test_the_cli_defers_imports_without_breaking_them():
    code = (
        "import sys; from newssearch._coldstart import defer_unused_imports; defer_unused_imports()\n"
        "import newssearch.searching, whoosh.compat\n"
        "assert 'urllib.request' not in sys.modules and 'asyncio.base_events' not in sys.modules\n"
        "from cached_property import cached_property\n"
        "class C:\n"
        "    calls = 0\n"
        "    @cached_property\n"
        "    def value(self):\n"
        "        C.calls += 1\n"
        "        return 42\n"
        "    @cached_property\n"
        "    async def later(self):\n"
        "        return 7\n"
        "c = C()\n"
        "assert (c.value, c.value, C.calls) == (42, 42, 1)\n"
        "import urllib.request, asyncio\n"
        "assert callable(urllib.request.urlopen) and asyncio.run(asyncio.sleep(0, 'ok')) == 'ok'\n"
        "async def main():\n"
        "    return await C().later\n"
        "assert asyncio.run(main()) == 7\n"
        "print('fine')\n"
    )
    assert_runs_fine(code)


def test_a_cold_query_loads_no_module_it_does_not_need(tmp_path):
    """``email`` (RFC 2822 dates, only when indexing such a seed) and ``numpy.ma`` (which
    ``np.unique`` pulls in) cost a tenth of a cold ``newssearch query`` between them."""
    from newssearch import index_seeds

    from .conftest import REAL_SEED

    index_seeds([REAL_SEED.parent], tmp_path / "index")
    code = (
        "import sys\n"
        "from newssearch.cli import main\n"
        f"sys.argv = ['newssearch', 'query', 'facial recognition', '--topic', 'AI', '--index-dir', {str(tmp_path / 'index')!r}]\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print('LOADED', sorted(m for m in ('email', 'email.utils', 'numpy.ma', 'socket') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert "LOADED []" in out, out


def test_whooshs_word_variations_stemmer_and_metaphone_still_work_after_their_import_was_deferred():
    code = (
        "import sys; from newssearch._coldstart import defer_unused_imports; defer_unused_imports()\n"
        "import whoosh.query\n"
        "assert 'whoosh.lang.morph_en' not in sys.modules\n"
        "from whoosh.query import terms\n"
        "deferred = terms.variations('rendering')\n"
        "from whoosh.lang import morph_en\n"
        "assert deferred == morph_en.variations('rendering') and 'render' in deferred\n"
        "assert hasattr(morph_en, 'rules')  # the real module, not the stub\n"
        "from whoosh.analysis import StemFilter, DoubleMetaphoneFilter, RegexTokenizer, StemmingAnalyzer\n"
        "assert 'whoosh.lang.porter' not in sys.modules and 'whoosh.lang.dmetaphone' not in sys.modules\n"
        "stemmed = [t.text for t in (RegexTokenizer() | StemFilter())('running ponies')]\n"
        "sounds = [t.text for t in (RegexTokenizer() | DoubleMetaphoneFilter())('Smith')]\n"
        "analysed = [t.text for t in StemmingAnalyzer()('Running ponies')]\n"
        "from whoosh.lang.porter import stem\n"
        "from whoosh.lang.dmetaphone import double_metaphone\n"
        "assert stemmed == analysed == [stem('running'), stem('ponies')] == ['runn', 'poni']\n"
        "assert sounds == list(double_metaphone('Smith')) == ['SM0', 'XMT']\n"
        "print('fine')\n"
    )
    assert_runs_fine(code)


def test_the_deferral_imports_nothing_itself():
    code = (
        "import sys; before = set(sys.modules)\n"
        "from newssearch._coldstart import defer_unused_imports; defer_unused_imports()\n"
        "print(sorted(m for m in set(sys.modules) - before if m.startswith(('whoosh', 'cached_property', 'numpy'))))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.stdout.strip() == "[]", run.stderr


# Modules a plain query has no use for: the indexer and its seed reader, the build's
# near-duplicate hashing (NumPy's random generators), what the deferral spares, and
# zipfile (the facet arrays are mapped, not read through it).
NOT_FOR_A_QUERY = (
    "newssearch.indexing", "newssearch.workers", "newssearch.seeds", "newssearch.frontmatter",
    "newssearch.neardup", "newssearch.export", "yaml", "multiprocessing", "numpy.random", "numpy.ma",
    "whoosh.lang.morph_en", "whoosh.lang.porter", "whoosh.lang.dmetaphone", "urllib.request", "asyncio",
    "zipfile", "email", "socket", "importlib.resources",
)
# Side files a query that finds something does not open: the vocabulary is read for a
# typo, a wildcard or a fuzzy word; the others serve the indexer and ``show``.
NOT_OPENED = ("vocab.json", "related.cols", "manifest.cols", "kept.json")


def test_a_cold_query_process_imports_and_opens_only_what_it_needs(tmp_path):
    from newssearch import index_seeds

    from .conftest import REAL_SEED

    index_seeds([REAL_SEED.parent], tmp_path / "index")
    code = (
        "import os, sys\n"
        "opened = []\n"
        "sys.addaudithook(lambda event, args: opened.append(os.path.basename(os.fsdecode(args[0])))"
        " if event == 'open' and isinstance(args[0], (str, bytes)) else None)\n"
        "from newssearch.cli import main\n"
        f"sys.argv = ['newssearch', 'query', 'facial recognition', '--topic', 'AI', '--format', 'json',"
        f" '--index-dir', {str(tmp_path / 'index')!r}]\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        f"print('LOADED', sorted(m for m in {NOT_FOR_A_QUERY!r} if m in sys.modules))\n"
        f"print('OPENED', sorted(set(opened) & set({NOT_OPENED!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert '"total": 1' in out and "LOADED []" in out and "OPENED []" in out, out
