"""The fast front-matter reader must always agree with PyYAML's safe loader."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from newssearch import frontmatter
from newssearch.seeds import split_front_matter

from .conftest import REPO, seed_text


def pyyaml(text: str, loader=frontmatter.Loader):
    try:
        return ("value", yaml.load(text, Loader=loader))
    except yaml.YAMLError as exc:
        return ("error", type(exc).__name__)
    except (ValueError, KeyError, AttributeError) as exc:  # plain PyYAML's refusals of a scalar it typed
        return ("refused", type(exc).__name__)


PLAIN = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # PyYAML's own safe loader, unchanged


def fast(text: str):
    try:
        return ("value", frontmatter.load(text))
    except yaml.YAMLError as exc:
        return ("error", type(exc).__name__)


def agrees(text: str) -> None:
    expected = pyyaml(text)
    got = fast(text)
    assert got == expected, text
    assert type(got[1]) is type(expected[1])
    # Loader is PyYAML's safe loader wherever that one builds the document at all.
    plain = pyyaml(text, PLAIN)
    if plain[0] != "refused":
        assert expected == plain, text


def took_fast_path(text: str) -> bool:
    try:
        frontmatter._Reader(text).document()
    except frontmatter._Unsupported:
        return False
    return True


def test_the_bundled_seeds_take_the_fast_path_and_agree():
    for path in sorted((REPO / "seeds").iterdir()):
        front, _ = split_front_matter(path.read_text(encoding="utf-8"))
        agrees(front)
        assert took_fast_path(front), path


CASES = [
    "a: 1\nb: yes\nc: ~\nd: null\ne:\nf: 0o17\ng: 1:20\nh: 2020-06-12T11:06:00Z\ni: 2020-06-12\nj: 1.5e3\nk: .inf",
    "title: \"Quoted: with colon # and hash\"\nurl: https://x.com/a#frag\nq: 'it''s'\nr: 'single'",
    "topics:\n- AI\n- ML\nnext: x",
    "topics:\n  - AI\n  -  spaced\n",
    "related:\n  - title: A\n    provider:\n      name: P\n    images: []\n  - title: B\nafter: 1",
    "x: [a, b]\n",
    "x: {a: 1}\n",
    "x: &anchor 1\ny: *anchor\n",
    "x: !!str 1\n",
    "x: |\n  block\n  text\n",
    "x: plain\n  continued\n",
    "# a comment\nx: 1\n",
    "x: 1 # trailing comment\n",
    "x: \"esc\\n\"\n",
    "x: \"multi\n  line\"\n",
    "x:\ty\n",
    "true: 1\n",
    "null: 1\n",
    "1: one\n",
    "x: 1\nx: 2\n",
    "x: -1\ny: - 1\n",
    "x: a: b\n",
    "- a\n- b\n",
    "  x: 1\n",
    "x: 1\n  y: 2\n",
    "x:\n- a\ny: 1\n- b\n",
    "x: '\n",
    "x: \"\n",
    "x: =\n",
    "x: ?\n",
    "x: @at\n",
    "x: `tick\n",
    "x: %pct\n",
    "",
    "...\n",
    "x: []\ny: {}\n",
    "x:\n  - - nested\n",
    "x:\n  -\n",
    "key with space: 1\n",
    "x: café ü 🙂\n",
    "x: 'a' 'b'\n",
    "x: \"a\" b\n",
    "x: trailing spaces   \n",
    "x:    spaced\n",
    "x:\n\n  y: 1\n\n",
    "x: 2020-02-30\n",
    "x: 2016-12-31T23:59:60Z\n",
    "x: 2020-06-12T24:00:00Z\n",
    "x: 2020-13-45 11:06:00\n",
    "x: 2020-06-12 11:06:00 +99\n",
    "x: !!bool maybe\n",
    "x: !!int twelve\n",
    "x: !!float pi\n",
    "x: !!timestamp someday\n",
    "x: " + "1" * 5000 + "\n",
    "x: 0x" + "f" * 5000 + "\n",
    "x: [2020-02-30, 1]\n",
]


@pytest.mark.parametrize("text", CASES)
def test_each_construct_reads_as_pyyaml_reads_it(text):
    agrees(text)


def test_plain_scalars_are_typed_as_pyyaml_types_them():
    value = frontmatter.load("a: 1\nb: yes\nc: ~\nd: 2020-06-12T11:06:00Z\ne: 3.5\nf: text")
    assert value == {"a": 1, "b": True, "c": None, "d": dt.datetime(2020, 6, 12, 11, 6, tzinfo=dt.timezone.utc),
                     "e": 3.5, "f": "text"}


def test_lists_are_never_shared_between_documents():
    first = frontmatter.load("x: []\n")
    first["x"].append(1)
    assert frontmatter.load("x: []\n") == {"x": []}


ATOMS = ["AI", "yes", "no", "on", "~", "null", "", "1", "-1", "0o17", "1:20", "1.5", ".nan", "2020-06-12T11:06:00Z",
         "2020-06-12", "a: b", "a #b", "a#b", "#x", "-", "- x", "'q'", '"q"', "it's", 'say "hi"', "back\\slash",
         "tab\there", "[]", "{}", "[a]", "&a", "*a", "!t", "|", ">", "%", "@", "`", "=", "?", "café", "x:", ":x",
         "  padded  ", "new\nline", "https://x.com/a?b=c&d#e", "2020-02-30", "2016-12-31T23:59:60Z",
         "2020-06-12 24:00:00", "2001-12-14 21:59:43.10 -5", "2020-06-12t11:06:00z", "1" * 4400, "12:30", "NO"]
scalars = st.sampled_from(ATOMS) | st.text(max_size=6)
keys = st.sampled_from(["title", "true", "null", "_x", "a1", "1", "key with space", "webUrl", "x"]) | st.text(max_size=4)


def render_scalar(value: str, style: str) -> str:
    if style == "double":
        return f'"{value}"'
    if style == "single":
        return f"'{value}'"
    return value


@st.composite
def documents(draw, depth: int = 0, indent: int = 0) -> str:
    """Block YAML in the shape of seed front matter, with hostile scalars and keys."""
    pad = " " * indent
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        key = draw(keys)
        kind = draw(st.sampled_from(["scalar", "scalar", "map", "seq", "seqmap", "empty"] if depth < 2 else ["scalar"]))
        if kind == "scalar":
            style = draw(st.sampled_from(["plain", "double", "single"]))
            lines.append(f"{pad}{key}: {render_scalar(draw(scalars), style)}")
        elif kind == "empty":
            lines.append(f"{pad}{key}:")
        elif kind == "map":
            lines.append(f"{pad}{key}:")
            lines.append(draw(documents(depth + 1, indent + draw(st.sampled_from([2, 4])))))
        else:
            lines.append(f"{pad}{key}:")
            inner = indent + draw(st.sampled_from([0, 2]))
            for _ in range(draw(st.integers(1, 3))):
                if kind == "seq":
                    lines.append(f"{' ' * inner}- {render_scalar(draw(scalars), draw(st.sampled_from(['plain', 'double'])))}")
                else:
                    body = draw(documents(depth + 1, inner + 2))
                    lines.append(" " * inner + "- " + body[inner + 2 :])
        if draw(st.booleans()):
            lines.append("")
    return "\n".join(lines)


@settings(max_examples=600, deadline=None)
@given(documents())
def test_generated_front_matter_reads_as_pyyaml_reads_it(text):
    agrees(text)


values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10) | st.sampled_from(ATOMS),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5) | st.sampled_from(ATOMS), inner,
                                                                max_size=3),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(max_size=6), values, min_size=1, max_size=4))
def test_whatever_pyyaml_writes_reads_back_the_same(data):
    agrees(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


def test_seeds_written_by_the_tests_take_the_fast_path():
    front, _ = split_front_matter(seed_text(title="Facial recognition", topics=["AI", "Policy"],
                                            related=[{"title": "R", "webUrl": "https://r", "provider": {"name": "P"}}]))
    assert took_fast_path(front)
    agrees(front)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("x: 2020-02-30", "2020-02-30"),
        ("x: 2016-12-31T23:59:60Z", "2016-12-31T23:59:60Z"),
        ("x: !!bool maybe", "maybe"),
        ("x: " + "1" * 5000, "1" * 5000),
    ],
)
def test_a_scalar_pyyaml_types_but_cannot_build_stays_its_text(text, value):
    # Plain PyYAML raises a bare ValueError or KeyError here: one odd date made a whole seed unreadable.
    assert pyyaml(text, PLAIN)[0] == "refused"
    assert frontmatter.load(text) == {"x": value}
    agrees(text)
