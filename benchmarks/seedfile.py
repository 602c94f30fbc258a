"""The benchmark's own, minimal reader of seed files.

The SQLite baseline and the query-set builder read seeds with this instead of
newssearch's reader, so the baseline owes nothing to the code it is compared
with.  It does what any competent competitor would: split off the front
matter, parse it with libyaml's safe loader, keep the searchable fields.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import yaml

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

SEED_SUFFIXES = (".txt", ".md", ".markdown", ".yaml", ".yml")


@dataclass(frozen=True)
class Related:
    """An entry of a seed's ``related`` list: searchable as an article of its own."""
    url: str
    title: str
    excerpt: str
    provider: str
    domain: str
    published: int | None


@dataclass(frozen=True)
class Seed:
    path: str
    url: str
    title: str
    excerpt: str
    body: str
    topics: tuple[str, ...]
    provider: str
    domain: str
    published: int | None  # unix seconds, UTC
    related: tuple[Related, ...] = ()


def split_front_matter(text: str) -> tuple[str, str]:
    """Return (yaml text, body) of a ``---`` delimited seed."""
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise ValueError("no opening '---' line")
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            return "\n".join(lines[1:i]), "\n".join(lines[i + 1:]).strip()
    raise ValueError("no closing '---' line")


def to_unix(value) -> int | None:
    """A YAML timestamp (or ISO string) as unix seconds; naive means UTC."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return int(value.timestamp())
    if isinstance(value, date):
        return int(datetime(value.year, value.month, value.day, tzinfo=timezone.utc).timestamp())
    return None


def parse_seed(path: str) -> Seed | None:
    """Parse one file; None when it is not a usable seed (the baseline skips it)."""
    try:
        with open(path, encoding="utf-8") as fh:
            front, body = split_front_matter(fh.read())
        doc = yaml.load(front, Loader=Loader)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError):
        return None
    if not isinstance(doc, dict) or not doc.get("webUrl"):
        return None
    provider = doc.get("provider") or {}
    topics = doc.get("topics") or []
    related = []
    for item in doc.get("related") or ():
        if isinstance(item, dict) and item.get("webUrl"):
            rp = item.get("provider") or {}
            related.append(Related(str(item["webUrl"]), str(item.get("title") or ""),
                                   str(item.get("excerpt") or ""), str(rp.get("name") or ""),
                                   str(rp.get("domain") or ""), to_unix(item.get("publishedDateTime"))))
    return Seed(
        path=str(path),
        url=str(doc["webUrl"]),
        title=str(doc.get("title") or ""),
        excerpt=str(doc.get("excerpt") or ""),
        body=body,
        topics=tuple(str(t) for t in topics if t is not None),
        provider=str(provider.get("name") or ""),
        domain=str(provider.get("domain") or ""),
        published=to_unix(doc.get("publishedDateTime")),
        related=tuple(related),
    )


def find_seeds(paths) -> list[str]:
    """Files given directly, plus seed files found under the folders given, sorted."""
    found: list[str] = []
    for p in map(Path, paths):
        if p.is_dir():
            for root, _dirs, files in os.walk(p):
                found += [os.path.join(root, f) for f in files
                          if f.endswith(SEED_SUFFIXES) and not f.startswith(".")]
        else:
            found.append(str(p))
    return sorted(found)
