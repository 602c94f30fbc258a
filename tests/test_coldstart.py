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
