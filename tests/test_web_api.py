"""The HTTP API of ``newssearch serve``, through Starlette's test client."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import lxml.etree as etree
import pytest
import rnc2rng
from click.testing import CliRunner
from starlette.testclient import TestClient

import newssearch
from newssearch import export
from newssearch.cli import cli
from newssearch.render import to_data
from newssearch.web import params
from newssearch.web.app import CSP, create_app

from .conftest import write_seed
from .web_corpus import (
    CONTROL_TITLE,
    FACIAL_URL,
    FORMULA_TITLE,
    HOSTILE_TITLE,
    HOSTILE_URL,
    RELATED_URL,
    build,
    without_time,
)

ATOM_NS = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, Path]:
    return build(tmp_path_factory.mktemp("web"))


@pytest.fixture(scope="module")
def client(corpus):
    with TestClient(create_app(corpus[1])) as c:
        yield c


# -- /api/search ---------------------------------------------------------------

SEARCHES = [
    {},
    {"q": "police"},
    {"q": "police", "topic": ["AI", "climate"]},
    {"q": "police", "provider": "Daily Planet", "sort": "newest"},
    {"q": "police", "category": "news", "sort": "oldest", "limit": "3", "page": "2"},
    {"q": "police", "since": "2019", "until": "2020-06", "date_facet": "month"},
    {"q": "", "since": "2y", "now": "2021-01-01", "date_facet": "day", "facet_limit": "2"},
    {"q": "facal recogniton"},
    {"q": "facal recogniton", "fuzzy": "false"},
    {"q": '"facial recognition" OR patrols -district', "limit": "1000"},
]


def cli_args(search: dict) -> list[str]:
    args = [search.get("q", "")] if search.get("q") else []
    names = {"topic": "--topic", "provider": "--provider", "category": "--category", "since": "--since",
             "until": "--until", "now": "--now", "sort": "--sort", "limit": "--limit", "page": "--page",
             "facet_limit": "--facet-limit", "date_facet": "--date-facet"}
    for key, value in search.items():
        if key == "fuzzy":
            args.append("--no-fuzzy")
        elif key != "q":
            for v in value if isinstance(value, list) else [value]:
                args += [names[key], v]
    return args


@pytest.mark.parametrize("search", SEARCHES, ids=lambda s: urlencode(s, doseq=True) or "empty")
def test_api_search_returns_exactly_what_query_format_json_prints(client, corpus, search):
    response = client.get("/api/search", params=search)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    result = CliRunner().invoke(cli, ["query", *cli_args(search), "--index-dir", str(corpus[1]), "--format", "json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert without_time(response.json()) == without_time(json.loads(result.output))


def test_api_search_parameters_reach_the_library_with_their_meaning(client, corpus):
    with newssearch.open_index(corpus[1]) as ix:
        expected = ix.search("police", topics=["Budget", "climate"], providers=["Metro News", "Daily Planet"], sort="oldest",
                             limit=2, page=2, facet_limit=1, date_facet="month", since="2018-06", until="2022")
    got = client.get("/api/search", params={"q": "police", "topic": ["Budget", "climate"], "provider": ["Metro News", "Daily Planet"],
                                            "sort": "oldest", "limit": 2, "page": 2, "facet_limit": 1,
                                            "date_facet": "month", "since": "2018-06", "until": "2022"}).json()
    assert without_time(got) == without_time(to_data(expected))
    assert got["page"] == 2 and len(got["hits"]) == 2 and len(got["facets"]["topics"]) == 1


def test_fuzzy_false_turns_off_the_typo_retry(client):
    assert client.get("/api/search", params={"q": "facal recogniton"}).json()["suggestion"] == "facial recognition"
    answer = client.get("/api/search", params={"q": "facal recogniton", "fuzzy": "0"}).json()
    assert answer["total"] == 0 and answer["suggestion"] is None


BAD = [
    ("/api/search", {"limit": "0"}, "limit"),
    ("/api/search", {"limit": "1001"}, "limit"),
    ("/api/search", {"limit": "ten"}, "limit"),
    ("/api/search", {"limit": "1e3"}, "limit"),
    ("/api/search", {"page": "0"}, "page"),
    ("/api/search", {"page": "-1"}, "page"),
    ("/api/search", {"page": "99999999999999999999"}, "page"),
    ("/api/search", {"facet_limit": "-1"}, "facet_limit"),
    ("/api/search", {"facet_limit": "1001"}, "facet_limit"),
    ("/api/search", {"sort": "best"}, "sort"),
    ("/api/search", {"date_facet": "week"}, "date_facet"),
    ("/api/search", {"fuzzy": "maybe"}, "fuzzy"),
    ("/api/search", {"since": "yesterday"}, "since"),
    ("/api/search", {"until": "2020-13"}, "until"),
    ("/api/search", {"now": "soon"}, "now"),
    ("/api/search", {"since": "2021", "until": "2020"}, "since"),
    ("/api/search", {"q": "x" * 2001}, "q"),
    ("/api/search", {"topics": "AI"}, "topics"),
    ("/api/search", {"format": "csv"}, "format"),
    ("/api/search", [("sort", "newest"), ("sort", "oldest")], "sort"),
    ("/api/stats", {"limit": "x"}, "limit"),
    ("/api/stats", {"q": "police"}, "q"),
    ("/api/article", {}, "url"),
    ("/api/article", {"url": "a", "q": "b"}, "q"),
    ("/api/export", {"q": "police"}, "format"),
    ("/api/export", {"format": "xml"}, "format"),
    ("/api/export", {"format": "csv", "limit": "10"}, "limit"),
    ("/api/export", {"format": "csv", "since": "never"}, "since"),
    ("/feed.atom", {"entries": "0"}, "entries"),
    ("/feed.atom", {"entries": "101"}, "entries"),
    ("/feed.atom", {"sort": "oldest"}, "sort"),
]


@pytest.mark.parametrize("path,query,parameter", BAD, ids=[f"{p}:{n}:{i}" for i, (p, q, n) in enumerate(BAD)])
def test_a_bad_parameter_is_a_400_json_error_naming_it(client, path, query, parameter):
    response = client.get(path, params=query)
    assert response.status_code == 400
    body = response.json()
    assert body["parameter"] == parameter
    assert isinstance(body["error"], str) and body["error"] and "\n" not in body["error"]


def test_a_search_over_the_time_limit_is_a_503_and_the_server_goes_on(corpus, monkeypatch):
    release = threading.Event()
    original = newssearch.IndexSearcher.search

    def slow(self, *args, **kwargs):
        release.wait(10)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(newssearch.IndexSearcher, "search", slow)
    with TestClient(create_app(corpus[1], request_seconds=0.2)) as c:
        response = c.get("/api/search", params={"q": "police"})
        assert response.status_code == 503
        assert "longer than" in response.json()["error"]
        release.set()
        assert c.get("/api/search", params={"q": "police"}).status_code == 200


# -- missing index, re-indexing ------------------------------------------------


@pytest.mark.parametrize("path", ["/api/search", "/api/stats", "/api/article?url=x", "/api/export?format=csv", "/feed.atom", "/"])
def test_no_index_is_a_503_naming_the_fix(tmp_path, path):
    with TestClient(create_app(tmp_path / "nothing")) as c:
        response = c.get(path)
    assert response.status_code == 503
    text = response.json()["error"] if path != "/" else response.text
    assert "newssearch index" in text


def test_the_server_serves_an_index_built_after_it_started_and_follows_reindexing(tmp_path):
    seeds = tmp_path / "seeds"
    index_dir = tmp_path / "index"
    with TestClient(create_app(index_dir)) as c:
        assert c.get("/api/search").status_code == 503
        write_seed(seeds, "a.txt", title="First police story", url="https://x.example/a")
        newssearch.index_seeds([seeds], index_dir, workers=1)
        assert c.get("/api/search", params={"q": "police"}).json()["total"] == 1
        write_seed(seeds, "b.txt", title="Second police story", url="https://x.example/b")
        newssearch.index_seeds([seeds], index_dir, workers=1)
        assert c.get("/api/search", params={"q": "police"}).json()["total"] == 2
        assert c.get("/api/stats").json()["articles"] == 2


# -- /api/stats and /api/article -----------------------------------------------


def test_api_stats_is_what_stats_format_json_prints(client, corpus):
    result = CliRunner().invoke(cli, ["stats", "--index-dir", str(corpus[1]), "--format", "json", "--limit", "2"],
                                catch_exceptions=False)
    assert client.get("/api/stats", params={"limit": 2}).json() == json.loads(result.output)


def test_api_article_gives_every_stored_field_and_the_related_articles(client):
    seed = client.get("/api/article", params={"url": FACIAL_URL}).json()
    assert seed["title"] == "Council bans facial recognition for police"
    assert seed["kind"] == "seed" and seed["topics"] == ["AI", "Computer Vision"]
    assert seed["body"].startswith("Facial recognition systems") and seed["excerpt"]
    assert [r["url"] for r in seed["related"]] == [RELATED_URL]
    other = client.get("/api/article", params={"url": RELATED_URL}).json()
    assert other["kind"] == "related" and other["related_to"] == FACIAL_URL
    assert [r["url"] for r in other["related"]] == [FACIAL_URL]


def test_api_article_of_an_unknown_url_is_a_404_naming_the_parameter(client):
    response = client.get("/api/article", params={"url": "https://nowhere.example/"})
    assert response.status_code == 404 and response.json()["parameter"] == "url"


# -- export ------------------------------------------------------------------------


def library_urls(index_dir: Path, query: str, **options) -> list[str]:
    with newssearch.open_index(index_dir) as ix:
        total = ix.search(query, **options).total
        return [h.url for h in ix.search(query, limit=max(1, total), **options).hits]


@pytest.mark.parametrize("sort", ["relevance", "newest", "oldest"])
def test_export_csv_streams_every_match_in_order_across_pages(client, corpus, monkeypatch, sort):
    monkeypatch.setattr(export, "MAX_LIMIT", 7)  # several pages from a small corpus
    response = client.get("/api/export", params={"q": "police", "format": "csv", "sort": sort})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["url"] for r in rows] == library_urls(corpus[1], "police", sort=sort)
    assert [int(r["rank"]) for r in rows] == list(range(1, len(rows) + 1))
    assert len(rows) > 3 * 7


def test_export_ndjson_lines_are_the_hits_of_format_json(client, corpus, monkeypatch):
    monkeypatch.setattr(export, "MAX_LIMIT", 5)
    lines = client.get("/api/export", params={"q": "police", "format": "ndjson", "topic": "AI"}).text.splitlines()
    with newssearch.open_index(corpus[1]) as ix:
        expected = to_data(ix.search("police", topics=["AI"], limit=100).hits)
    assert [json.loads(line) for line in lines] == expected


def test_export_of_no_match_is_a_header_only_csv_and_an_empty_ndjson(client):
    assert client.get("/api/export", params={"q": "zzzzqqq", "format": "csv", "fuzzy": "false"}).text.splitlines() == [
        ",".join(export.CSV_COLUMNS)]
    assert client.get("/api/export", params={"q": "zzzzqqq", "format": "ndjson", "fuzzy": "false"}).text == ""


def test_export_csv_defuses_spreadsheet_formulas_and_keeps_the_text(client):
    rows = list(csv.DictReader(io.StringIO(client.get("/api/export", params={"q": "formula", "format": "csv"}).text)))
    assert rows[0]["title"] == "'" + FORMULA_TITLE
    assert rows[0]["provider"] == "'@SUM(1+1)"


def test_an_export_reads_one_generation_even_when_reindexed_midway(tmp_path, monkeypatch):
    seeds, index_dir = build(tmp_path)
    monkeypatch.setattr(export, "MAX_LIMIT", 5)
    # Every copy (collapse=False): twelve articles added are twelve more, whatever they resemble.
    before = library_urls(index_dir, "police", collapse=False)
    hits = export.iter_hits(index_dir, "police", collapse=False)
    first = [next(hits).url for _ in range(5)]
    for i in range(12):
        write_seed(seeds, f"late_{i}.txt", title=f"Late police story {i}", url=f"https://late.example/{i}")
    newssearch.index_seeds([seeds], index_dir, workers=1)
    rest = [h.url for h in hits]
    assert first + rest == before
    assert len(library_urls(index_dir, "police", collapse=False)) == len(before) + 12


# -- Atom ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def atom_schema() -> etree.RelaxNG:
    rng = rnc2rng.dumps(rnc2rng.load(str(Path(__file__).parent / "data" / "atom.rnc")))
    # rnc2rng declares the empty namespace as a prefix, which XML forbids; nsName ns="" is what it means.
    return etree.RelaxNG(etree.fromstring(rng.replace('xmlns:local=""', "").encode()))


def assert_valid_atom(schema: etree.RelaxNG, body: bytes) -> etree._Element:
    root = etree.fromstring(body)
    assert schema.validate(root), schema.error_log
    # RFC 4287's two Schematron rules, which RELAX NG cannot say.
    feed_author = root.find(f"{ATOM_NS}author") is not None
    for entry in root.findall(f"{ATOM_NS}entry"):
        assert feed_author or entry.find(f"{ATOM_NS}author") is not None
        alternate = [link for link in entry.findall(f"{ATOM_NS}link") if link.get("rel", "alternate") == "alternate"]
        assert alternate or entry.find(f"{ATOM_NS}content") is not None
    ids = [e.findtext(f"{ATOM_NS}id") for e in root.findall(f"{ATOM_NS}entry")]
    assert len(ids) == len(set(ids))
    return root


def test_feed_is_valid_atom_of_the_newest_matches(client, corpus, atom_schema):
    response = client.get("/feed.atom", params={"q": "police", "topic": "AI", "entries": 5})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    root = assert_valid_atom(atom_schema, response.content)
    entries = root.findall(f"{ATOM_NS}entry")
    with newssearch.open_index(corpus[1]) as ix:
        newest = ix.search("police", topics=["AI"], sort="newest", limit=5).hits
    assert [e.findtext(f"{ATOM_NS}id") for e in entries] == [h.url for h in newest]
    assert root.findtext(f"{ATOM_NS}updated") == entries[0].findtext(f"{ATOM_NS}published")
    self_link = [link.get("href") for link in root.findall(f"{ATOM_NS}link") if link.get("rel") == "self"]
    assert self_link and "q=police" in self_link[0] and "topic=AI" in self_link[0]


def test_feed_stays_valid_atom_with_hostile_control_and_undated_seeds(client, atom_schema):
    body = client.get("/feed.atom", params={"entries": 100}).content
    root = assert_valid_atom(atom_schema, body)
    titles = [e.findtext(f"{ATOM_NS}title") for e in root.findall(f"{ATOM_NS}entry")]
    assert HOSTILE_TITLE in titles  # text, to be shown as text
    assert CONTROL_TITLE.replace("\x07", "\ufffd").replace("\x1b", "\ufffd") in titles
    hostile = next(e for e in root.findall(f"{ATOM_NS}entry") if e.findtext(f"{ATOM_NS}title") == HOSTILE_TITLE)
    assert hostile.find(f"{ATOM_NS}link") is None  # a javascript: url is never a link
    assert hostile.findtext(f"{ATOM_NS}id").startswith("urn:sha1:")
    assert "<svg" not in hostile.findtext(f"{ATOM_NS}content")  # the html content is escaped html


def test_an_empty_feed_is_valid_atom(client, atom_schema):
    root = assert_valid_atom(atom_schema, client.get("/feed.atom", params={"q": "zzzzqqq", "fuzzy": "no"}).content)
    assert root.findall(f"{ATOM_NS}entry") == []


# -- OpenAPI ------------------------------------------------------------------------


def test_openapi_describes_every_api_route_and_exactly_the_parameters_each_takes(client):
    spec = client.get("/api/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    routes = {r.path for r in client.app.routes if getattr(r, "path", "").startswith("/api/") or r.path == "/feed.atom"}
    assert set(spec["paths"]) == routes - {"/api/openapi.json"}
    taken = {"/api/search": params.SEARCH, "/api/stats": params.STATS, "/api/article": params.ARTICLE,
             "/api/export": params.EXPORT, "/feed.atom": params.FEED}
    for path, names in taken.items():
        described = [p["name"] for p in spec["paths"][path]["get"]["parameters"]]
        assert described == list(names)


def test_openapi_response_schemas_name_every_field_the_api_returns(client):
    spec = client.get("/api/openapi.json").json()
    schemas = spec["components"]["schemas"]
    answer = client.get("/api/search", params={"q": "facial"}).json()
    assert set(schemas["SearchResults"]["properties"]) == set(answer)
    assert set(schemas["Hit"]["properties"]) == set(answer["hits"][0])
    assert set(schemas["FacetValue"]["properties"]) == set(answer["facets"]["topics"][0])
    article = client.get("/api/article", params={"url": FACIAL_URL}).json()
    assert set(schemas["StoredArticle"]["properties"]) == set(article)
    assert set(schemas["IndexStats"]["properties"]) == set(client.get("/api/stats").json())
    for name, schema in schemas.items():
        for prop in schema["properties"].values():
            ref = prop.get("$ref") or prop.get("items", {}).get("$ref")
            assert ref is None or ref.rsplit("/", 1)[1] in schemas, (name, ref)


# -- safety -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/?q=police", "/article?url=x", "/api/search", "/api/stats", "/feed.atom",
                                  "/api/export?format=csv", "/api/search?limit=0", "/static/style.css", "/nowhere"])
def test_every_response_carries_the_content_security_policy(client, path):
    response = client.get(path)
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["x-content-type-options"] == "nosniff"


def test_the_policy_allows_no_inline_script_and_nothing_from_elsewhere():
    directives = dict(d.strip().split(" ", 1) for d in CSP.split(";"))
    assert directives["default-src"] == "'none'"
    for name in ("script-src", "style-src", "img-src", "connect-src", "form-action"):
        assert directives[name] == "'self'"
    assert "unsafe" not in CSP and "http" not in CSP


def test_pages_escape_everything_a_seed_holds(client):
    for page in (client.get("/", params={"q": "hostile"}).text, client.get("/article", params={"url": HOSTILE_URL}).text,
                 client.get("/", params={"entries": "x"}).text):
        assert "<script>window" not in page and "<img src=x" not in page and "<svg onload" not in page
        assert "<i onmouseover" not in page and "</p><script>" not in page
    page = client.get("/", params={"q": "hostile"}).text
    assert "&lt;script&gt;window.__pwned = 1; alert(1)&lt;/script&gt;" in page
    assert 'href="javascript:' not in page and "href='javascript:" not in page
    article = client.get("/article", params={"url": HOSTILE_URL}).text
    assert 'href="javascript:' not in article


def test_the_page_ships_no_inline_script_or_style(client):
    page = client.get("/", params={"q": "police"}).text
    assert "<script>" not in page and "<style" not in page and " style=" not in page and " on" + "click=" not in page
    assert page.count("<script ") == 1 and 'src="http' not in page


def test_the_article_page_back_link_never_leaves_the_site(client):
    for back in ("https://evil.example/", "javascript:alert(1)", "//evil.example/"):
        page = client.get("/article", params={"url": FACIAL_URL, "back": back}).text
        assert 'class="back"' in page and 'href="/" class="back"' in page


# -- the page's state ---------------------------------------------------------------


def test_the_page_says_where_the_reader_is_and_links_every_state(client):
    page = client.get("/", params={"q": "police", "page": "2", "limit": "10"}).text
    total = client.get("/api/search", params={"q": "police"}).json()["total"]
    assert f"11–20 of {total}" in page
    assert 'href="/?q=police&amp;limit=10&amp;page=3"' in page  # next page keeps the state
    assert 'href="/?q=police&amp;since=2018&amp;until=2018&amp;limit=10&amp;date_facet=month"' in page  # a bar goes back to page 1


def test_the_page_shows_a_correction_as_links(client):
    page = client.get("/", params={"q": "facal recogniton"}).text
    assert 'href="/?q=facial+recognition" class="corrected"' in page
    assert 'href="/?q=facal+recogniton&amp;fuzzy=false" class="original"' in page


def test_the_page_marks_query_words_in_titles(client):
    page = client.get("/", params={"q": "facial recognition"}).text
    assert "bans <mark>facial</mark> <mark>recognition</mark> for police" in page


def test_a_bad_page_parameter_is_shown_on_the_page_with_400(client):
    response = client.get("/", params={"since": "someday"})
    assert response.status_code == 400 and "since" in response.text


# -- cold start -------------------------------------------------------------------


def test_newssearch_query_does_not_import_the_web_stack(corpus):
    code = (
        "import sys\n"
        "from newssearch.cli import main\n"
        f"sys.argv = ['newssearch', 'query', 'police', '--index-dir', {str(corpus[1])!r}]\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "web = sorted(m for m in sys.modules if m.split('.')[0] in {'starlette', 'jinja2', 'uvicorn', 'watchfiles', 'anyio', 'newssearch'}"
        " and not m.startswith('newssearch.') or m.startswith('newssearch.web') or m == 'newssearch.export')\n"
        "print('WEB', [m for m in web if m != 'newssearch'])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    assert "WEB []" in out and "City police report" in out


# -- a small load, while re-indexing (the full benchmark is benchmarks/web_load.py) --


def test_concurrent_searches_during_reindexing_all_succeed_and_agree(tmp_path):
    seeds, index_dir = build(tmp_path)
    errors: list[str] = []
    stop = threading.Event()

    def reindex() -> None:
        i = 0
        while not stop.is_set() and i < 6:
            write_seed(seeds, f"extra_{i}.txt", title=f"Extra police story {i}", url=f"https://extra.example/{i}",
                       published=f"202{i % 3}-02-02T00:00:00Z")
            newssearch.index_seeds([seeds], index_dir, workers=1)
            i += 1

    with TestClient(create_app(index_dir)) as c:
        def client_loop() -> None:
            for _ in range(15):
                # every copy: a story's copies can fall in different years
                response = c.get("/api/search", params={"q": "police", "limit": 50, "collapse": "false"})
                if response.status_code != 200:
                    errors.append(f"{response.status_code} {response.text[:100]}")
                    continue
                data = response.json()
                dated = sum(v["count"] for v in data["facets"]["published"])
                undated = sum(1 for h in data["hits"] if h["published"] is None)
                # hits, total and facets from one generation: every match is on this one page
                if not (len(data["hits"]) == data["total"] == dated + undated):
                    errors.append(f"inconsistent: {len(data['hits'])} hits, total {data['total']}, dated {dated}")

        writer = threading.Thread(target=reindex)
        readers = [threading.Thread(target=client_loop) for _ in range(4)]
        writer.start()
        for t in readers:
            t.start()
        for t in readers:
            t.join(120)
        stop.set()
        writer.join(120)
    assert errors == []


def test_serve_on_a_busy_port_is_a_one_line_error(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(cli, ["serve", "--index-dir", str(tmp_path), "--port", str(port)], catch_exceptions=False)
    assert result.exit_code == 1
    assert result.output == f"Error: cannot listen on 127.0.0.1:{port}: address already in use\n"


def test_the_load_benchmark_runs_small_with_no_error_and_no_inconsistent_answer(tmp_path):
    out = tmp_path / "load.json"
    script = Path(__file__).resolve().parent.parent / "benchmarks" / "web_load.py"
    done = subprocess.run([sys.executable, str(script), "--size", "60", "--seconds", "1", "--clients", "4", "--json", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    results = json.loads(out.read_text())["results"]
    assert [r["engine"] for r in results] == ["newssearch", "sqlite", "newssearch-page"]
    for r in results:
        assert r["requests"] > 0 and r["errors"] == 0 and r["inconsistent"] == 0 and r["reindex_rounds"] >= 1


def test_serve_workers_share_the_port_and_stop_together(corpus):
    import re
    import signal
    import urllib.request

    proc = subprocess.Popen([sys.executable, "-m", "newssearch", "serve", "--index-dir", str(corpus[1]), "--port", "0",
                             "--workers", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        address = re.search(r"at (http://127\.0\.0\.1:\d+/)", proc.stdout.readline()).group(1)
        for _ in range(8):
            with urllib.request.urlopen(address + "api/search?q=police", timeout=30) as response:
                assert json.load(response)["total"] > 0
        children = [int(c) for t in Path(f"/proc/{proc.pid}/task").iterdir() for c in (t / "children").read_text().split()]
        assert len(children) == 2
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        for child in children:
            deadline = time.monotonic() + 30
            while Path(f"/proc/{child}").exists() and "zombie" not in Path(f"/proc/{child}/status").read_text():
                assert time.monotonic() < deadline, "a server process outlived the server"
                time.sleep(0.1)
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
