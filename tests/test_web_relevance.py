"""The web layer's recency choice, /api/similar and the "More like this" section, and synonyms when serving."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

import newssearch
from newssearch.render import to_data
from newssearch.web.app import create_app

from .web_corpus import FACIAL_URL, build, without_time


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, Path]:
    return build(tmp_path_factory.mktemp("web-relevance"))


@pytest.fixture(scope="module")
def client(corpus):
    with TestClient(create_app(corpus[1])) as c:
        yield c


# -- recency --------------------------------------------------------------------


def test_api_search_takes_recency_as_the_library_does(client, corpus):
    with newssearch.open_index(corpus[1]) as ix:
        expected = ix.search("police", recency="30d", now="2022-06-01")
        plain = ix.search("police", now="2022-06-01")
    assert [h.url for h in expected.hits] != [h.url for h in plain.hits]  # the choice matters on this corpus
    got = client.get("/api/search", params={"q": "police", "recency": "30d", "now": "2022-06-01"}).json()
    assert without_time(got) == without_time(to_data(expected))


@pytest.mark.parametrize("off", ["", "off", "OFF"])
def test_api_search_recency_off_is_no_decay(client, off):
    got = client.get("/api/search", params={"q": "police", "recency": off}).json()
    assert without_time(got) == without_time(client.get("/api/search", params={"q": "police"}).json())


@pytest.mark.parametrize("bad", ["30", "soon", "0d", "-2w"])
def test_api_search_refuses_a_bad_recency_naming_it(client, bad):
    response = client.get("/api/search", params={"q": "police", "recency": bad})
    assert response.status_code == 400
    assert response.json()["parameter"] == "recency" and "\n" not in response.json()["error"]


def test_the_page_offers_recency_as_a_choice_and_keeps_the_chosen_one(client):
    html = client.get("/", params={"q": "police", "recency": "30d"}).text
    select = re.search(r'<select name="recency".*?</select>', html, re.S).group(0)
    assert re.findall(r'<option value="([^"]*)"', select) == ["", "7d", "30d", "1y"]
    assert re.search(r'<option value="30d" selected>', select)
    assert 'recency=30d' in re.search(r'href="(/api/export[^"]*)"', html).group(1)


def test_the_page_shows_a_half_life_it_does_not_offer_as_chosen(client):
    html = client.get("/", params={"q": "police", "recency": "2w"}).text
    assert '<option value="2w" selected>' in html


def test_the_page_reports_a_bad_recency_naming_it(client):
    response = client.get("/", params={"q": "police", "recency": "later"})
    assert response.status_code == 400 and "<code>recency</code>" in response.text


# -- more like this -------------------------------------------------------------------


def test_api_similar_returns_what_similar_format_json_prints(client, corpus):
    from click.testing import CliRunner

    from newssearch.cli import cli

    got = client.get("/api/similar", params={"url": FACIAL_URL, "limit": "3", "sort": "newest"})
    assert got.status_code == 200
    printed = CliRunner().invoke(cli, ["similar", FACIAL_URL, "--index-dir", str(corpus[1]), "--limit", "3",
                                       "--sort", "newest", "--format", "json"], catch_exceptions=False)
    import json

    assert without_time(got.json()) == without_time(json.loads(printed.output))
    assert FACIAL_URL not in [h["url"] for h in got.json()["hits"]] and got.json()["hits"]


def test_api_similar_filters_reach_the_library(client, corpus):
    with newssearch.open_index(corpus[1]) as ix:
        expected = ix.similar(FACIAL_URL, topics=["AI"], since="2019", facet_limit=2, recency="1y", now="2021-01-01")
    got = client.get("/api/similar", params={"url": FACIAL_URL, "topic": "AI", "since": "2019", "facet_limit": "2",
                                             "recency": "1y", "now": "2021-01-01"}).json()
    assert without_time(got) == without_time(to_data(expected))


@pytest.mark.parametrize(
    ("query", "status", "parameter"),
    [({}, 400, "url"), ({"url": "https://nowhere.example/"}, 404, "url"), ({"url": FACIAL_URL, "q": "x"}, 400, "q"),
     ({"url": FACIAL_URL, "limit": "0"}, 400, "limit"), ({"url": FACIAL_URL, "recency": "x"}, 400, "recency")],
)
def test_api_similar_errors_name_the_parameter(client, query, status, parameter):
    response = client.get("/api/similar", params=query)
    assert response.status_code == status and response.json()["parameter"] == parameter


def test_the_article_page_lists_more_like_this(client, corpus):
    with newssearch.open_index(corpus[1]) as ix:
        expected = [h.title for h in ix.similar(FACIAL_URL, limit=5).hits]
    html = client.get("/article", params={"url": FACIAL_URL}).text
    section = re.search(r'<section class="related-list more-like-this">.*?</section>', html, re.S).group(0)
    assert "More like this" in section and expected
    assert re.findall(r'<li><a href="/article\?url=[^"]*">([^<]*)</a>', section) == expected


def test_the_openapi_document_describes_api_similar(client):
    from newssearch.web import params

    spec = client.get("/api/openapi.json").json()
    described = [p["name"] for p in spec["paths"]["/api/similar"]["get"]["parameters"]]
    assert described == list(params.SIMILAR)
    assert "404" in spec["paths"]["/api/similar"]["get"]["responses"]


# -- synonyms when serving --------------------------------------------------------------


def test_the_server_applies_the_synonyms_it_is_given(corpus, tmp_path):
    rules = tmp_path / "rules.txt"
    rules.write_text("patrols, beat walks\nfacial recognition, face matching\n", encoding="utf-8")
    with TestClient(create_app(corpus[1], synonyms=rules)) as with_rules:
        parsed = with_rules.get("/api/search", params={"q": "facial recognition"}).json()["parsed"]
        assert "<synonyms of facial recognition: face matching>" in parsed
    with TestClient(create_app(corpus[1], synonyms=None)) as without:
        assert "synonyms" not in without.get("/api/search", params={"q": "facial recognition"}).json()["parsed"]


def test_a_bad_synonyms_file_stops_the_app_at_creation(corpus, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("a => b => c\n", encoding="utf-8")
    with pytest.raises(newssearch.SynonymsError, match="line 1"):
        create_app(corpus[1], synonyms=bad)
