"""The web layer's recency choice, /api/similar and the "More like this" section, and synonyms when serving."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

import newssearch
from newssearch.render import to_data
from newssearch.web.app import create_app

from .web_corpus import FACIAL_URL, build


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, Path]:
    return build(tmp_path_factory.mktemp("web-relevance"))


@pytest.fixture(scope="module")
def client(corpus):
    with TestClient(create_app(corpus[1])) as c:
        yield c


def without_time(data: dict) -> dict:
    data = dict(data)
    data.pop("took_ms")
    return data


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
