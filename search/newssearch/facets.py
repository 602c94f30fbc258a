"""Facet counts as a search returns them: the values of a facet and how many results carry each.

The counting itself runs over the per-document arrays of
:mod:`newssearch.docvalues`; this module holds only the result types, which
the CLI and the library's users import without loading NumPy arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FacetValue:
    """One value of a facet and the number of results that carry it."""

    value: str
    count: int


@dataclass(frozen=True)
class Facets:
    """Facet counts over the whole result set (see ``IndexSearcher.search``)."""

    topics: tuple[FacetValue, ...] = ()
    provider: tuple[FacetValue, ...] = ()
    published: tuple[FacetValue, ...] = ()


def top_values(names: np.ndarray, counts: np.ndarray, limit: int) -> tuple[FacetValue, ...]:
    """The ``limit`` values of ``names`` with the highest nonzero ``counts``, most frequent first."""
    nonzero = np.flatnonzero(counts)
    if not len(nonzero):
        return ()
    # Most frequent first; equal counts in name order, so the list is stable.
    order = np.lexsort((names[nonzero], -counts[nonzero]))[:limit]
    return tuple(FacetValue(str(names[nonzero[i]]), int(counts[nonzero[i]])) for i in order)
