"""A faster cold start for the ``newssearch`` command: two imports deferred (see :func:`defer_unused_imports`).

Process-wide surgery on ``sys.modules``, so only the command line calls it,
first thing in :func:`newssearch.cli.main`; the library never does this to
the program that imports it.
"""

from __future__ import annotations

import sys


def defer_unused_imports() -> None:
    """Spare a command-line run two imports Whoosh makes and newssearch never uses.

    ``whoosh.compat`` imports ``urllib.request`` (HTTP and e-mail parsing,
    about 25 ms) for a download helper, and ``cached_property`` imports
    ``asyncio`` (about 20 ms) for coroutine support: together about a fifth
    of a cold ``newssearch query``. Each is replaced by a stub only while the
    module that imports it loads; the stub's functions import the real module
    when first called, so ``urlretrieve`` and async cached properties still
    work. Only this process is touched: the library never does this to its
    host. (A ``LazyLoader`` does not help on Python 3.11: ``import asyncio``
    touches the module and loads it at once.)
    """
    import importlib
    import inspect  # already loaded (dataclasses imports it)
    import types

    def real(name: str, attribute: str):
        return getattr(importlib.import_module(name), attribute)

    def iscoroutinefunction(func) -> bool:
        if isinstance(sys.modules.get("asyncio"), types.ModuleType) and "asyncio.base_events" in sys.modules:
            return real("asyncio", "iscoroutinefunction")(func)
        return inspect.iscoroutinefunction(func)  # what asyncio's answers on Python 3.11+

    stubs = {
        ("urllib.request", "whoosh.compat"): {"urlretrieve": lambda *a, **k: real("urllib.request", "urlretrieve")(*a, **k)},
        ("asyncio", "cached_property"): {
            "iscoroutinefunction": iscoroutinefunction,
            "ensure_future": lambda *a, **k: real("asyncio", "ensure_future")(*a, **k),
        },
    }
    for (name, importer), functions in stubs.items():
        if name in sys.modules or importer in sys.modules:
            continue
        stub = types.ModuleType(name)
        stub.__dict__.update(functions)
        sys.modules[name] = stub
        try:
            importlib.import_module(importer)
        except ImportError:
            pass  # not installed: nothing to spare
        finally:
            if sys.modules.get(name) is stub:
                del sys.modules[name]
