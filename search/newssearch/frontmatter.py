"""Seed front matter read fast, with PyYAML as the authority.

PyYAML's C loader costs about 0.3 ms a seed, the largest single cost of a
build after indexing itself: libyaml scans in C, but every node is then
resolved and constructed in Python. Seed front matter uses a small part of
YAML: block mappings and block sequences, empty ``[]`` and ``{}``, and scalars on
one line, plain or quoted without escapes. :func:`load` reads exactly that part, about four
times faster, and hands everything else to PyYAML's safe loader: flow
collections, anchors and aliases, tags, block scalars, comments, tabs,
escapes, scalars spread over lines, unusual indentation, keys that are not
plain words. Plain scalars are typed by PyYAML's own resolver and
constructors (once per distinct value), so ``yes``, ``~``, ``0o17`` or a
timestamp mean what they mean to PyYAML.

The result is always what ``yaml.load(text, Loader)`` returns, or that
call's error; ``tests/test_frontmatter.py`` checks it on generated documents
and on real and synthetic seeds. ``Loader`` is PyYAML's safe loader (the C one
when libyaml is there) with one change: a scalar that PyYAML types but cannot
build (``2020-02-30`` or ``23:59:60`` as a timestamp, an integer of more than
4,300 digits, ``!!bool maybe``) stays the text it was written as. PyYAML raises
a bare ``ValueError`` or ``KeyError`` for those, so one odd title or date made
the whole seed unreadable; now the field reader decides what the text means.
"""

from __future__ import annotations

import re

import yaml

try:
    _Safe: type = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    _Safe = yaml.SafeLoader


class Loader(_Safe):  # type: ignore[misc, valid-type]
    """PyYAML's safe loader, except that a scalar it cannot build stays its text."""


def _lenient(construct):
    def construct_or_text(loader, node):
        try:
            return construct(loader, node)
        except Exception:  # noqa: BLE001 - ValueError, KeyError, AttributeError: PyYAML's ways of refusing
            return loader.construct_scalar(node)

    return construct_or_text


for _kind in ("bool", "int", "float", "timestamp"):
    _tag = "tag:yaml.org,2002:" + _kind
    Loader.add_constructor(_tag, _lenient(yaml.constructor.SafeConstructor.yaml_constructors[_tag]))
_Loader = Loader

# What a plain scalar may not start with (YAML indicators), or hold anywhere.
_INDICATORS = frozenset("?:,[]{}#&*!|>'\"%@`")
_STR = "tag:yaml.org,2002:str"


class _Unsupported(Exception):
    """Outside the subset: let PyYAML read it."""


def load(text: str):
    """The YAML document ``text``, as PyYAML's safe loader reads it (raises ``yaml.YAMLError`` likewise)."""
    try:
        return _Reader(text).document()
    except _Unsupported:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader


# Every non-blank line, as (indentation, "- " or "", key, value after the key, other content).
# A line matches exactly once: anything that is not a key line is "other" content.
# (Trailing spaces are stripped afterwards: a lazy match before " *$" backtracks on every character.)
_LINE = re.compile(r"^( *)(?:(- )(?=\S))?(?:([A-Za-z_][A-Za-z0-9_]*):(?: +(.*))?|(\S.*))$", re.MULTILINE)


class _Reader:
    __slots__ = ("lines", "i")

    def __init__(self, text: str) -> None:
        if not text.replace("\n", "").isprintable():
            # Control characters (PyYAML refuses them), tabs, BOMs, line breaks other
            # than "\n" (PyYAML has rules of its own for them); also, harmlessly, a few
            # characters PyYAML takes as text (no-break and other Unicode spaces).
            raise _Unsupported
        self.lines = [
            (len(pad), dash, key, rest.rstrip(" "), other.rstrip(" "))
            for pad, dash, key, rest, other in _LINE.findall(text)
        ]
        self.i = 0

    def document(self):
        if not self.lines or self.lines[0][0] != 0 or not self.lines[0][2] or self.lines[0][1]:
            raise _Unsupported  # empty, a top-level sequence or scalar, document markers
        value = self.mapping(0)
        if self.i != len(self.lines):
            raise _Unsupported
        return value

    def block(self, indent: int):
        return self.sequence(indent) if self.lines[self.i][1] else self.mapping(indent)

    def mapping(self, indent: int) -> dict:
        lines = self.lines
        count = len(lines)
        out: dict = {}
        while self.i < count:
            at, dash, key, rest, other = lines[self.i]
            if at < indent:
                break
            if at > indent or dash or not key:
                raise _Unsupported  # a continuation line, an item or text where a key belongs
            if scalar(key).__class__ is not str:
                raise _Unsupported  # "true:", "null:" and the like are not string keys to PyYAML
            self.i += 1
            if rest:
                out[key] = scalar(rest)
                continue
            if self.i < count:
                nxt, nxt_dash, _, _, nxt_other = lines[self.i]
                if nxt == indent and nxt_other.startswith("-"):
                    raise _Unsupported  # "-" alone, or "-  x": items PyYAML reads its own way
                if nxt > indent or (nxt == indent and nxt_dash):
                    out[key] = self.block(nxt)
                    continue
            out[key] = None
        return out

    def sequence(self, indent: int) -> list:
        lines = self.lines
        count = len(lines)
        out: list = []
        while self.i < count:
            at, dash, key, rest, other = lines[self.i]
            if at < indent:
                break
            if at > indent:
                raise _Unsupported
            if not dash:
                if other.startswith("-"):
                    raise _Unsupported  # an empty or oddly spaced item
                break  # a key of the enclosing mapping, at the same indentation
            if key:
                lines[self.i] = (indent + 2, "", key, rest, other)  # "- key: value" opens a mapping two columns in
                out.append(self.mapping(indent + 2))
            else:
                if other.startswith("-"):
                    raise _Unsupported  # a nested sequence (or a negative number: PyYAML decides)
                out.append(scalar(other))
                self.i += 1
        return out


_resolver = yaml.resolver.Resolver()
_constructor = yaml.constructor.SafeConstructor()
_constructor.yaml_constructors = Loader.yaml_constructors
_plain: dict[str, object] = {}


def scalar(text: str):
    """One scalar written on one line, or ``_Unsupported``."""
    first = text[0]
    if first == '"':
        inner = text[1:-1]
        if len(text) < 2 or text[-1] != '"' or '"' in inner or "\\" in inner:
            raise _Unsupported
        return inner
    if first == "'":
        inner = text[1:-1]
        if len(text) < 2 or text[-1] != "'" or "'" in inner:
            raise _Unsupported
        return inner
    found = _plain.get(text)
    if found is not None or text in _plain:
        return found
    if text == "[]":  # the one flow collection seeds use: an empty list
        return []
    if text == "{}":
        return {}
    if first in _INDICATORS or (first == "-" and text[1:2] in ("", " ")) or ": " in text or " #" in text:
        raise _Unsupported
    if text.endswith(":"):
        raise _Unsupported
    tag = _resolver.resolve(yaml.ScalarNode, text, (True, False))
    if tag == _STR:
        value: object = text
    else:
        try:
            value = _constructor.yaml_constructors[tag](_constructor, yaml.ScalarNode(tag, text))
        except Exception:  # noqa: BLE001 - whatever PyYAML makes of it, it decides
            raise _Unsupported from None
        if isinstance(value, (list, dict, set, bytearray)):
            raise _Unsupported  # mutable: cannot be shared between documents
    if len(_plain) >= 100_000:
        _plain.clear()
    _plain[text] = value
    return value
