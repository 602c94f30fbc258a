"""The command's cold-start import deferral (newssearch._coldstart)."""

from __future__ import annotations

import subprocess
import sys


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
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.stdout.strip() == "fine", run.stderr


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
