"""Shared helpers: seed files written through YAML, and an index folder per test."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

# The live Typesense servers (fixtures typesense_node and typesense_cluster), for every test module.
from .typesense_servers import typesense_cluster, typesense_node  # noqa: F401

REPO = Path(__file__).resolve().parent.parent
REAL_SEED = REPO / "seeds" / "000_f5098144ecc78018.txt"


def seed_text(
    *,
    title: str = "An article",
    url: str | None = None,
    excerpt: str = "",
    body: str = "",
    topics: object = (),
    provider: object = "Example News",
    domain: str = "example.com",
    published: object = "2020-06-12T11:06:00Z",
    category: str = "news",
    related: list[dict] | None = None,
    **extra: object,
) -> str:
    meta: dict[str, object] = {
        "category": category,
        "title": title,
        "excerpt": excerpt,
        "webUrl": url or "https://example.com/" + "-".join(title.lower().split()),
        "type": "article",
        "quality": 50,
        "provider": {"name": provider, "domain": domain} if isinstance(provider, str) else provider,
        "topics": list(topics) if isinstance(topics, (list, tuple)) else topics,
        "related": related or [],
        "secured": "c2VjcmV0",
    }
    if published is not None:
        meta["publishedDateTime"] = published
    meta.update(extra)
    return "---\n" + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False) + "---\n" + body


def write_seed(folder: Path, name: str, **fields: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(seed_text(**fields), encoding="utf-8")
    return path


def related(title: str, url: str, **fields: object) -> dict:
    entry = {
        "title": title,
        "excerpt": fields.pop("excerpt", ""),
        "publishedDateTime": fields.pop("published", "2020-06-13T08:00:00Z"),
        "webUrl": url,
        "type": "article",
        "provider": {"name": fields.pop("provider", "Other Paper"), "domain": "other.example"},
    }
    entry.update(fields)
    return entry


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    folder = tmp_path / "seeds"
    folder.mkdir()
    return folder


@pytest.fixture
def index_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An index folder in tmp_path, also set as $NEWSSEARCH_INDEX so nothing touches ./index."""
    folder = tmp_path / "index"
    monkeypatch.setenv("NEWSSEARCH_INDEX", str(folder))
    return folder
