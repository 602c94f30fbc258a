"""Url identity: :func:`normalize_url`, the key that decides whether two urls are the same article.

Feeds spell one article's address in many ways: ``http`` or ``https``, with
or without ``www.``, the mobile (``m.``) or AMP (``amp.``, ``/amp/``,
``?amp``, ``outputType=amp``) edition, a trailing slash, a fragment, and
tracking parameters a newsletter or a social network appended
(``utm_source``, ``fbclid``...). The normalised url is the same for all of
them, and differs for different articles: a different path, or a different
value of a parameter that is not tracking (``?id=2``), stays different.

What is stored where (see README, "Seed format", ``webUrl``):

* The index term and column ``url`` hold the normalised url: the indexer's
  duplicate rule (the first file in path order holding a url wins), related
  entries, deletions, lookups by url (``IndexSearcher.get``, ``url:`` in a
  query) and the tie-break of the ranking all go by it.
* The stored payload keeps the ``webUrl`` as the seed wrote it: that is what
  hits, ``show``, exports and feeds display and link to.

A leaf module: it imports nothing of newssearch, and never raises on a string.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = ["TRACKING_PARAMETERS", "normalize_url"]

# Query parameters that say how a reader arrived, never which article it is.
# Sources: Google Analytics (utm_*, _ga, _gl), ad click ids (Google gclid,
# dclid, gclsrc, wbraid, gbraid; Microsoft msclkid; Facebook fbclid;
# Yandex yclid; Twitter twclid; LinkedIn li_fat_id; Instagram igshid),
# e-mail tools (Mailchimp mc_cid, mc_eid; HubSpot _hsenc, _hsmi; Marketo
# mkt_tok; Sailthru sr_share), and the feeds of news sites (MSN ocid,
# cmpid; NYT smid, smtyp; CNN and others ncid, icid, s_cid; WebTrends
# wt.mc_id; Twitter's ref_src, ref_url; Yahoo guccounter, guce_referrer).
TRACKING_PARAMETERS = frozenset(
    """
    fbclid gclid gclsrc dclid wbraid gbraid msclkid yclid twclid li_fat_id igshid
    mc_cid mc_eid _hsenc _hsmi mkt_tok sr_share _ga _gl
    ocid cmpid smid smtyp ncid icid s_cid wt.mc_id wt_mc_id ref_src ref_url
    guccounter guce_referrer guce_referrer_sig __twitter_impression
    """.split()
)
_TRACKING_PREFIXES = ("utm_",)
# Host prefixes of the same site's editions: web, mobile, AMP.
_HOST_PREFIXES = ("www.", "m.", "mobile.", "amp.")
_DEFAULT_PORTS = frozenset({"", "80", "443"})
# A percent escape of an unreserved character (RFC 3986) means the character itself.
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Only a result holding one of these can change in a second pass (tested with Hypothesis).
_SECOND_PASS_MAY_CHANGE = re.compile(r"(?i)amp|%|\s").search
_AMP_HTML = re.compile(r"(?:\.amp)+(\.html?)$", re.IGNORECASE)


def normalize_url(url: str) -> str:
    """The identity of the article at ``url``: equal for two spellings of one article's address.

    For an ``http(s)`` url (or a scheme-relative ``//host/...``): the scheme
    is ``https``; the host is lower case, without ``www.``, ``m.``,
    ``mobile.`` or ``amp.`` in front, a trailing dot or a default port (80,
    443); the path loses its trailing slash, its ``amp`` segments
    (``/amp/...``, ``.../amp``) and the ``.amp`` of ``.amp.html``; percent
    escapes of unreserved characters are decoded and the others written in
    upper case; the query loses tracking parameters (:data:`TRACKING_PARAMETERS`,
    ``utm_*``), AMP markers (``amp``, ``outputType=amp``) and empty
    parameters, and keeps the rest sorted; the fragment goes, unless it is a
    ``#!`` route. Anything else (another scheme, no host, a string that is
    not a url) is returned stripped of surrounding whitespace.

    Idempotent, and never raises on a string.
    """
    plain = _PLAIN(url)
    if plain is not None and "amp" not in url.lower():
        # The shape of most feeds' urls (no query, escape, port, user or AMP marker): the steps
        # of the general way that apply, without splitting; tests check both ways agree.
        host = _host(plain.group(1))
        if host:
            return "https://" + host + _path(plain.group(2) or "")
    return _normalize_any(url)


# An http(s) url of a host name and a path of unreserved characters, and nothing else.
_PLAIN = re.compile(r"https?://([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)(/[A-Za-z0-9._~/-]*)?", re.IGNORECASE).fullmatch


def _normalize_any(url: str) -> str:
    """:func:`normalize_url` of any string."""
    text = url.strip()
    # Each step removes something; the rare string whose result a second pass
    # would shorten again (an escape that decodes to a marker, a space that
    # ends up last) is taken to its fixed point, so the function is idempotent.
    for _ in range(8):
        try:
            made = _normalize(text)
        except ValueError:  # urlsplit refuses some malformed hosts ("http://[x")
            made = text
        result = made.strip()
        # (Tested before the strip: a space the strip takes off can leave a bare "?" behind.)
        if result == text or not _SECOND_PASS_MAY_CHANGE(made):
            return result
        text = result
    return text


def _normalize(text: str) -> str:
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https", "") or not parts.netloc or (not scheme and not text.startswith("//")):
        return text
    host = _host(parts.netloc)
    if not host or host != host.strip():  # no host, or one no address has
        return text
    path = _path(parts.path)
    query = _query(parts.query)
    fragment = parts.fragment if parts.fragment.startswith("!") else ""
    return "https://" + host + path + ("?" + query if query else "") + ("#" + fragment if fragment else "")


def _host(netloc: str) -> str:
    userinfo, at, hostport = netloc.rpartition("@")
    hostport = hostport.rstrip(".")
    host, port = hostport, ""
    if not hostport.endswith("]"):  # an IPv6 literal is all colons
        before, colon, after = hostport.rpartition(":")
        if colon and after.isdigit() or colon and not after:
            host, port = before, after
    host = host.lower().rstrip(".")
    if ":" in host and not host.startswith("["):
        return ""  # not a host: "a:b:80"
    changed = True
    while changed:
        changed = False
        for prefix in _HOST_PREFIXES:
            # "m.com" stays: what is left must still be a domain.
            if host.startswith(prefix) and "." in host[len(prefix) :]:
                host = host[len(prefix) :]
                changed = True
    if not host:
        return ""
    port = port.lstrip("0") or ("" if not port else "0")
    return (userinfo + at) + host + ("" if port in _DEFAULT_PORTS else ":" + port)


def _unescape(text: str) -> str:
    if "%" not in text:
        return text
    def fix(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else "%" + match.group(1).upper()

    return _ESCAPE.sub(fix, text)


def _path(path: str) -> str:
    path = _unescape(path)
    if "amp" in path.lower():
        path = "/".join(s for s in path.split("/") if s.lower() != "amp")
        path = _AMP_HTML.sub(r"\1", path)
    path = path.rstrip("/ \t")
    if path and not path.startswith("/"):
        path = "/" + path
    return path


def _query(query: str) -> str:
    if not query:
        return ""
    kept = []
    for pair in query.split("&"):
        pair = _unescape(pair)
        # "&amp;" written into a feed by one HTML escape too many: "?a=1&amp;b=2".
        while pair.lower().startswith("amp;"):
            pair = pair[4:]
        key, _, value = pair.partition("=")
        name = key.lower()
        if not key.strip() or name == "amp" or name in TRACKING_PARAMETERS or name.startswith(_TRACKING_PREFIXES):  # (no name: empty)
            continue
        if name == "outputtype" and value.lower() == "amp":
            continue
        kept.append(pair)
    return "&".join(sorted(kept))
