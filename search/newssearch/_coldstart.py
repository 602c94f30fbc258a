"""A faster cold start for the ``newssearch`` command: imports deferred (see :func:`defer_unused_imports`).

Process-wide surgery on the import system, so only the command line calls
it, first thing in :func:`newssearch.cli.main`; the library never does this
to the program that imports it.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import importlib.abc


def _real(name: str, attribute: str) -> Any:
    return getattr(importlib.import_module(name), attribute)


def _forward(name: str, attribute: str) -> Callable[..., Any]:
    """A function that imports ``name`` when first called and calls its ``attribute``."""
    return lambda *args, **kwargs: _real(name, attribute)(*args, **kwargs)


def _iscoroutinefunction(func) -> bool:
    import inspect  # already loaded (dataclasses imports it)

    if isinstance(sys.modules.get("asyncio"), types.ModuleType) and "asyncio.base_events" in sys.modules:
        return bool(_real("asyncio", "iscoroutinefunction")(func))
    return inspect.iscoroutinefunction(func)  # what asyncio's answers on Python 3.11+


# importer -> {module it imports for a rarely used name: the stub's functions}
STUBS: dict[str, dict[str, dict[str, Callable[..., Any]]]] = {
    # A download helper (urlretrieve): HTTP and e-mail parsing, about 25 ms.
    "whoosh.compat": {"urllib.request": {"urlretrieve": _forward("urllib.request", "urlretrieve")}},
    # Coroutine support of cached properties: asyncio, about 20 ms.
    "cached_property": {
        "asyncio": {"iscoroutinefunction": _iscoroutinefunction, "ensure_future": _forward("asyncio", "ensure_future")}
    },
    # English word variations for Whoosh's Variations query, which newssearch never builds:
    # a table of inflections compiled into regular expressions on import, about 9 ms.
    "whoosh.query.terms": {"whoosh.lang.morph_en": {"variations": _forward("whoosh.lang.morph_en", "variations")}},
    # The Porter stemmer (the default of Whoosh's StemFilter and StemmingAnalyzer; newssearch's schema
    # passes Snowball's) and Double Metaphone (a filter newssearch does not use): about 2.5 ms together.
    "whoosh.analysis.morph": {
        "whoosh.lang.porter": {"stem": _forward("whoosh.lang.porter", "stem")},
        "whoosh.lang.dmetaphone": {"double_metaphone": _forward("whoosh.lang.dmetaphone", "double_metaphone")},
    },
    "whoosh.analysis.analyzers": {"whoosh.lang.porter": {"stem": _forward("whoosh.lang.porter", "stem")}},
}


def defer_unused_imports() -> None:
    """Spare a command-line run the imports of :data:`STUBS`, which Whoosh makes and newssearch never uses.

    Together about a fifth of a cold ``newssearch query``. Each module is
    replaced by a stub only while the module that imports it loads (when it
    first loads: nothing is imported here); the stub's functions import the
    real module when first called, so ``urlretrieve``, async cached
    properties, ``Variations`` and Whoosh's default stemmer still work, and a later ``import`` of the
    module gets the real one. Only this process is touched: the library
    never does this to its host. (A ``LazyLoader`` does not help: ``import
    asyncio`` touches the module, and ``from x import y`` reads ``y``, at
    once.)
    """
    pending = {importer: stubs for importer, stubs in STUBS.items() if importer not in sys.modules}
    if pending and not any(isinstance(finder, _StubbingFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _StubbingFinder(pending))


class _StubbingFinder:
    """Finds the importers of :data:`STUBS` as the path finder does, and loads each with its stubs in place.

    A meta path finder by its ``find_spec`` alone: ``importlib.abc`` imports
    ``importlib.resources`` and ``tempfile``, 9 ms.
    """

    def __init__(self, pending: dict[str, dict[str, dict[str, Callable[..., Any]]]]) -> None:
        self.pending = pending

    def find_spec(self, fullname: str, path=None, target=None):
        stubs = self.pending.pop(fullname, None)
        if stubs is None:
            return None
        if not self.pending:  # the last one: step out of every later import
            sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec  # not installed, or loaded in some unusual way: as it would be anyway
        spec.loader = cast("importlib.abc.Loader", _StubbingLoader(spec.loader, stubs))
        return spec


class _StubbingLoader:
    """Runs the real loader with stub modules in ``sys.modules``, and takes them out after."""

    def __init__(self, loader, stubs: dict[str, dict[str, Callable[..., Any]]]) -> None:
        self.loader = loader
        self.stubs = stubs

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        placed = {}
        for name, functions in self.stubs.items():
            if name not in sys.modules:
                stub = types.ModuleType(name)
                stub.__dict__.update(functions)
                sys.modules[name] = placed[name] = stub
        try:
            self.loader.exec_module(module)
        finally:
            for name, stub in placed.items():
                if sys.modules.get(name) is stub:
                    del sys.modules[name]

    def __getattr__(self, name: str):
        return getattr(self.loader, name)  # get_code, get_source, is_package, ... for tools that ask
