"""Url identity: which spellings of an address are one article (newssearch.urls)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newssearch import urls
from newssearch.urls import TRACKING_PARAMETERS, normalize_url

BUNDLED = (
    "https://www.fastcompany.com/90516127/now-microsoft-is-banning-police-from-using-its-facial-recognition-tech-too"
    "?amp&amp&amp&amp"
)


@pytest.mark.parametrize(
    "spellings",
    [
        # the bundled seed's webUrl and its plain form
        [BUNDLED, "https://fastcompany.com/90516127/now-microsoft-is-banning-police-from-using-its-facial-recognition-tech-too"],
        # scheme, host case, www., default ports, trailing slash, fragment
        ["https://example.com/a/b", "http://example.com/a/b", "HTTPS://WWW.Example.COM/a/b/", "https://example.com:443/a/b",
         "http://www.example.com:80/a/b#comments", "//example.com/a/b", "https://example.com./a/b"],
        # mobile and AMP editions
        ["https://news.example/story", "https://m.news.example/story", "https://amp.news.example/story",
         "https://mobile.news.example/story", "https://news.example/amp/story", "https://news.example/story/amp",
         "https://news.example/story/amp/", "https://news.example/story?amp", "https://news.example/story?amp=1",
         "https://news.example/story?outputType=amp", "https://www.news.example/amp/story?amp&amp&amp"],
        ["https://x.example/2020/a.html", "https://x.example/2020/a.amp.html", "https://x.example/amp/2020/a.amp.html"],
        # tracking parameters; the others kept, sorted
        ["https://x.example/a?id=7&page=2", "https://x.example/a?page=2&id=7&utm_source=twitter&utm_medium=social",
         "https://x.example/a?fbclid=IwAR0&id=7&gclid=abc&page=2", "https://x.example/a?mc_cid=1&mc_eid=2&id=7&page=2",
         "https://x.example/a?id=7&ocid=msn&cmpid=rss&page=2", "https://x.example/a?id=7&amp;page=2&smid=tw-share",
         "https://x.example/a?UTM_Campaign=x&id=7&page=2&"],
        # percent escapes of unreserved characters
        ["https://x.example/~user/a-b", "https://x.example/%7Euser/a%2Db"],
    ],
)
def test_spellings_of_one_address_normalise_to_one_url(spellings):
    assert len({normalize_url(u) for u in spellings}) == 1


@pytest.mark.parametrize(
    "different",
    [
        ["https://x.example/a", "https://x.example/b", "https://x.example/a/b", "https://x.example/A"],
        ["https://x.example/a?id=1", "https://x.example/a?id=2", "https://x.example/a", "https://x.example/a?ID=1"],
        ["https://x.example/a", "https://y.example/a", "https://x.example:8080/a", "https://sub.x.example/a"],
        ["https://x.example/a%2Fb", "https://x.example/a/b"],  # an escaped slash is part of a segment
        ["https://x.example/#!/one", "https://x.example/#!/two"],  # hash-bang routes are addresses
        ["https://x.example/a?outputType=print", "https://x.example/a?outputType=amp"],
        ["https://m.example/a", "https://example/a"],  # "m." of a bare name is the name
    ],
)
def test_different_articles_stay_different(different):
    normalised = [normalize_url(u) for u in different]
    if "outputType=print" in different[0]:
        assert normalised[0] != normalised[1] and normalised[1] == "https://x.example/a"
    else:
        assert len(set(normalised)) == len(different), normalised


def test_the_normal_form_is_https_lower_host_without_trailing_slash():
    assert normalize_url("HTTP://WWW.Example.COM/Path/?b=2&a=1#top") == "https://example.com/Path?a=1&b=2"
    assert normalize_url("https://example.com/") == "https://example.com"


@pytest.mark.parametrize("name", sorted(TRACKING_PARAMETERS) + ["utm_source", "utm_whatever"])
def test_every_tracking_parameter_is_dropped(name):
    assert normalize_url(f"https://x.example/a?{name}=1&id=2") == "https://x.example/a?id=2"


@pytest.mark.parametrize("text", ["", "   ", "not a url", "mailto:a@b.example", "urn:isbn:123", "/relative/path",
                                  "ftp://Files.Example/x", "http://[::1", "http://", "https:no-host", "www.x.com/a"])
def test_what_is_not_a_web_url_is_kept_as_written(text):
    assert normalize_url(text) == text.strip()


_URL_CHARS = st.sampled_from(list("aAmMpP/.:?#&=%;_-~!@[] 0123456789wxWXyz") + ["amp", "www.", "utm_", "%7E", "%2F", "%61", "amp;"])
_URLISH = st.builds(
    lambda scheme, host, rest: scheme + host + rest,
    st.sampled_from(["http://", "https://", "HTTP://", "//", "", "ftp://"]),
    st.lists(_URL_CHARS, max_size=6).map(lambda s: "".join(s).replace("/", "")) | st.sampled_from(["www.x.com", "m.amp.x.com", "x.com:443"]),
    st.lists(_URL_CHARS, max_size=20).map("".join),
)


@given(st.text() | _URLISH)
@settings(max_examples=1500)
def test_normalising_never_raises_and_is_idempotent(url):
    once = normalize_url(url)
    assert isinstance(once, str)
    assert normalize_url(once) == once


@pytest.mark.parametrize("spellings", [
    ["https://0", "HTTP://0? #", "https://0? ", "https://0?\t#top"],
    ["https://x.example/a", "https://x.example/a? #", "https://x.example/a?  #x", "https://x.example/a/ #frag"],
    ["https://x.example/a?b=1", "https://x.example/a?b=1& #x", "https://x.example/a? &b=1", "https://x.example/a?b=1&\t=2"],
])
def test_a_space_left_last_or_a_parameter_without_a_name_is_no_part_of_the_url(spellings):
    """Whitespace inside a url that ends up last once the fragment goes (the strip then left a bare
    "?" that a second pass removed: not idempotent), and a parameter whose name is blank (an empty
    parameter): one url for all spellings, and normalising it again changes nothing."""
    assert {normalize_url(u) for u in spellings} == {spellings[0]}
    assert all(normalize_url(normalize_url(u)) == normalize_url(u) for u in spellings)


_SEGMENT = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789-"), min_size=1, max_size=8).filter(lambda s: s != "amp")


@given(st.lists(_SEGMENT, min_size=1, max_size=4), st.lists(_SEGMENT, min_size=1, max_size=4))
def test_different_paths_stay_different(a, b):
    ua, ub = "https://x.example/" + "/".join(a), "https://x.example/" + "/".join(b)
    assert (normalize_url(ua) == normalize_url(ub)) == (a == b)


@given(st.dictionaries(_SEGMENT, _SEGMENT, max_size=4), st.dictionaries(_SEGMENT, _SEGMENT, max_size=4))
def test_different_meaningful_parameters_stay_different(a, b):
    def url(params):
        return "https://x.example/a?" + "&".join(f"{k}={v}" for k, v in params.items())

    assert (normalize_url(url(a)) == normalize_url(url(b))) == (a == b)


_PLAIN_HOSTS = st.lists(st.sampled_from(["www", "m", "amp", "mobile", "news", "Example", "co", "uk", "x-1"]),
                        min_size=1, max_size=4).map(lambda labels: ".".join(labels) + ".com")
_PLAIN_PATHS = st.lists(st.text("abcAMP019-._~", min_size=0, max_size=8), max_size=5).map(
    lambda segments: "".join("/" + s for s in segments))


@given(st.sampled_from(["http://", "https://", "HTTPS://"]), _PLAIN_HOSTS, _PLAIN_PATHS, st.booleans())
def test_the_fast_way_for_plain_urls_gives_what_the_general_way_gives(scheme, host, path, slash):
    url = scheme + host + path + ("/" if slash else "")
    assert normalize_url(url) == urls._normalize_any(url)
