"""End to end: ``newssearch serve`` driven in a real headless Chromium through Playwright.

The system's Chromium is used (Playwright's own browser download is not
available): ``.ci/run`` installs it when it is missing, and in CI these
tests fail rather than skip without it. Every request the page makes is
checked to stay on the server's own origin. Screenshots of the main states
are saved in the test's temporary folder.
"""

from __future__ import annotations

import ctypes
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from .web_corpus import HOSTILE_TITLE, build

CHROMIUM = os.environ.get("NEWSSEARCH_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs it (apt-get install chromium)", pytrace=False)
    pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium", allow_module_level=True)

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

_PRCTL = ctypes.CDLL(None).prctl  # resolved here: the child of a fork must not load libraries


def _die_with_parent() -> None:  # the server must not outlive a test run that is killed
    _PRCTL(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real ``newssearch serve`` on a free loopback port, stopped when the module ends (or fails)."""
    _seeds, index_dir = build(tmp_path_factory.mktemp("browser"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "newssearch", "serve", "--index-dir", str(index_dir), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=_die_with_parent,
    )
    try:
        line = proc.stdout.readline()
        match = re.search(r"at (http://127\.0\.0\.1:\d+/)", line)
        assert match, f"serve printed {line!r}"
        yield match.group(1).rstrip("/")
    finally:
        proc.stdout.close()
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield instance
        finally:
            instance.close()


class Watch:
    """A page's dialogs, failed or foreign requests, and console errors: all must stay empty."""

    def __init__(self, page: Page, origin: str) -> None:
        self.dialogs: list[str] = []
        self.foreign: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

        def route(r):
            if r.request.url.startswith(origin + "/"):
                r.continue_()
            else:
                self.foreign.append(r.request.url)
                r.abort()

        page.route("**/*", route)

    def check(self) -> None:
        assert self.dialogs == [] and self.foreign == [] and self.errors == []


@pytest.fixture
def page(browser, server, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.watch = Watch(page, server)
    yield page
    context.close()


def query_of(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def total_of(page: Page) -> int:
    text = page.locator(".total strong").inner_text()
    return int(text.rsplit(" of ", 1)[1].replace(",", ""))


def facet_counts(page: Page, name: str) -> dict[str, int]:
    out = {}
    for item in page.locator(f"#list-{name} li").all():
        if item.locator(".count").count():
            out[item.locator(".facet-name").inner_text()] = int(item.locator(".count").inner_text().replace(",", ""))
    return out


def test_typing_a_typo_shows_the_correction_without_reloading(page, server, tmp_path):
    page.goto(server + "/")
    page.evaluate("window.__sameDocument = true")
    page.locator("#q").press_sequentially("facal recogniton", delay=30)
    corrected = page.locator(".suggestion a.corrected")
    expect(corrected).to_have_text("facial recognition")
    expect(page.locator(".hit").first).to_contain_text("facial recognition", ignore_case=True)
    assert query_of(page)["q"] == ["facal recogniton"]
    assert page.evaluate("window.__sameDocument") is True  # fetched and swapped, not reloaded
    expect(page.locator("#announce")).to_contain_text("articles")  # said to screen readers
    assert page.locator(".hit .title mark").count() > 0
    page.screenshot(path=tmp_path / "typo.png", full_page=True)
    corrected.click()
    expect(page).to_have_url(re.compile(r"q=facial\+recognition"))
    page.watch.check()


def test_ticking_a_facet_changes_the_counts_and_the_url(page, server, tmp_path):
    page.goto(server + "/?q=police")
    before_total = total_of(page)
    topics_before = facet_counts(page, "topic")
    providers_before = facet_counts(page, "provider")
    page.locator("#list-topic label", has_text="Climate").click()
    expect(page).to_have_url(re.compile(r"topic=Climate"))
    expect(page.locator(".total strong")).to_contain_text(f"of {topics_before['Climate']}")
    assert total_of(page) < before_total
    assert facet_counts(page, "topic") == topics_before  # a facet is counted without its own filter
    assert facet_counts(page, "provider") != providers_before
    assert sum(facet_counts(page, "provider").values()) >= total_of(page)
    page.locator("#list-topic label", has_text="Budget").click()  # multi-select: any of them
    expect(page).to_have_url(re.compile(r"topic=Climate&topic=Budget"))
    expect(page.locator("#list-topic input:checked")).to_have_count(2)
    page.screenshot(path=tmp_path / "facets.png", full_page=True)
    page.go_back()
    expect(page.locator("#list-topic input:checked")).to_have_count(1)
    page.watch.check()


def test_clicking_a_histogram_bar_goes_from_years_to_months_to_days(page, server, tmp_path):
    page.goto(server + "/?q=police")
    bar = page.locator(".bar[aria-label^='2020:']")
    count = int(bar.get_attribute("aria-label").split(": ")[1].split()[0])
    bar.click()
    expect(page).to_have_url(re.compile(r"since=2020&until=2020.*date_facet=month"))
    expect(page.locator(".total strong")).to_contain_text(f"of {count}")
    labels = [b.get_attribute("aria-label") for b in page.locator(".bar").all()]
    assert labels and all(re.match(r"2020-\d\d: ", label) for label in labels)
    page.screenshot(path=tmp_path / "months.png", full_page=True)
    page.locator(".bar").first.click()
    expect(page).to_have_url(re.compile(r"date_facet=day"))
    assert all(re.match(r"2020-\d\d-\d\d: ", b.get_attribute("aria-label")) for b in page.locator(".bar").all())
    page.locator("a.clear").click()
    expect(page).not_to_have_url(re.compile(r"since="))
    page.watch.check()


def test_page_two_then_an_article_then_back(page, server, tmp_path):
    page.goto(server + "/?q=police")
    total = total_of(page)
    page.locator(".pager a[rel=next]").click()
    expect(page.locator(".total strong")).to_have_text(f"11–20 of {total}")
    assert query_of(page)["page"] == ["2"]
    title = page.locator(".hit .title a").first.inner_text()
    page.screenshot(path=tmp_path / "page2.png", full_page=True)
    page.locator(".hit .title a").first.click()
    expect(page.locator("h1")).to_have_text(title)
    expect(page.locator(".fields")).to_contain_text("Published")
    page.screenshot(path=tmp_path / "article.png", full_page=True)
    page.go_back()
    expect(page.locator(".total strong")).to_have_text(f"11–20 of {total}")
    assert query_of(page)["page"] == ["2"]
    page.locator(".hit .title a").first.click()
    page.locator("a.back").click()
    expect(page.locator(".total strong")).to_have_text(f"11–20 of {total}")
    page.watch.check()


def test_an_article_shows_its_related_articles_and_links_out(page, server):
    page.goto(server + "/?q=%22facial+recognition%22")
    page.locator(".hit:not(.related) .title a").first.click()
    related = page.locator(".related-list:not(.more-like-this) li a")  # not the "More like this" list
    expect(related).to_have_text(["Follow-up on the facial recognition vote"])
    assert page.locator("a.out").get_attribute("href") == "https://example.com/facial-recognition-ban"
    related.click()
    expect(page.locator(".badge")).to_have_text("Related article")
    page.watch.check()


def test_a_hostile_seed_executes_nothing(page, server, tmp_path):
    page.goto(server + "/?q=hostile")
    expect(page.locator(".hit .title a")).to_contain_text("<script>window.__pwned = 1; alert(1)</script> Hostile")
    assert page.locator(".hit img, .hit script, .hit svg, .hit i").count() == 0
    page.locator("#q").fill("")
    page.locator("#q").press_sequentially("hostile topic", delay=20)  # the search-as-you-type path
    expect(page.locator(".hit .title a")).to_contain_text("Hostile")
    page.screenshot(path=tmp_path / "hostile.png", full_page=True)
    page.locator(".hit .title a").first.click()
    expect(page.locator("h1")).to_have_text(HOSTILE_TITLE)
    assert page.locator("a[href^='javascript']").count() == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"
    page.watch.check()


def test_the_page_works_with_javascript_off(browser, server):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(server + "/")
        page.locator("#q").fill("police")
        page.locator("#q").press("Enter")
        expect(page).to_have_url(re.compile(r"\?q=police"))
        page.locator("#list-topic label", has_text="AI").click()
        page.locator("button[type=submit]").first.click()
        expect(page).to_have_url(re.compile(r"q=police.*topic=AI"))
        expect(page.locator("#list-topic input:checked")).to_have_count(1)
    finally:
        context.close()


def test_the_keyboard_alone_reaches_and_ticks_a_facet(page, server):
    page.goto(server + "/?q=police")
    page.locator("#q").focus()
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "topic":
            break
    assert page.evaluate("document.activeElement.name") == "topic"
    value = page.evaluate("document.activeElement.value")
    page.keyboard.press("Space")
    expect(page).to_have_url(re.compile(r"topic=" + re.escape(value.replace(" ", "+"))))
    expect(page.locator("#list-topic input:checked")).to_have_count(1)
    assert page.evaluate("document.activeElement.value") == value  # focus stays where it was
    page.watch.check()


def test_the_facet_filter_box_narrows_a_long_list(page, server):
    page.goto(server + "/")
    box = page.locator("#facet-topic .facet-filter")
    expect(box).to_be_visible()
    box.fill("extra topic 3")
    visible = [t for t in page.locator("#list-topic li:visible .facet-name").all_inner_texts()]
    assert visible == ["Extra topic 3"]
    page.watch.check()


def test_a_phone_width_window_has_no_sideways_scroll(browser, server, tmp_path):
    context = browser.new_context(viewport={"width": 375, "height": 800}, device_scale_factor=2, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(server + "/?q=police")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        expect(page.locator("details.filters")).not_to_have_attribute("open", "")
        page.screenshot(path=tmp_path / "phone.png", full_page=True)
        page.locator("details.filters summary").click()
        expect(page.locator("#list-topic")).to_be_visible()
        page.goto(server + "/article?url=https%3A%2F%2Fexample.com%2Ffacial-recognition-ban")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.screenshot(path=tmp_path / "phone-article.png", full_page=True)
    finally:
        context.close()
