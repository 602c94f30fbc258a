"""Synonyms: a Solr/Elasticsearch synonyms file applied when a query is read, never at index time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from newssearch import QueryError, SynonymsError, index_seeds, open_index
from newssearch.cli import cli
from newssearch.synonyms import SYNONYMS_ENV, Synonyms

from .conftest import write_seed

RULES = """\
# test rules
eu, european union
ai, artificial intelligence
US, U.S. => united states, usa
WHO => world health organization
united states senate, congress upper house
"""


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "synonyms.txt"
    path.write_text(RULES, encoding="utf-8")
    return path


@pytest.fixture
def corpus(seeds, index_dir, rules_file):
    articles = {
        "eu-spelled": ("The European Union agrees on trade", ""),
        "eu-short": ("EU ministers meet in Brussels", ""),
        "eu-apart": ("A union of european farmers", "Farmers from across Europe formed a union."),
        "us-spelled": ("United States election results", ""),
        "us-short": ("US troops return home", ""),
        "usa": ("USA wins the final", ""),
        "pronoun": ("Tell us what you think", ""),
        "who-org": ("World Health Organization warns of flu", ""),
        "who-word": ("Who won the vote", ""),
        "ai-spelled": ("Artificial intelligence in schools", "Teachers try artificial intelligence tools."),
        "senate": ("The congress upper house votes", ""),
        "other": ("Weather in Brussels", "Rain all week."),
    }
    for name, (title, excerpt) in articles.items():
        write_seed(seeds, f"{name}.txt", title=title, excerpt=excerpt, url=f"https://x/{name}")
    index_seeds([seeds], index_dir)
    with open_index(index_dir, synonyms=rules_file) as ix:
        yield ix


def found(results) -> set[str]:
    return {h.url.rsplit("/", 1)[1] for h in results.hits}


# -- expansion --------------------------------------------------------------------


def test_an_equivalence_finds_every_entry_from_any_of_them(corpus):
    for query in ("EU", "eu"):
        assert found(corpus.search(query)) == {"eu-spelled", "eu-short"}, query
    # The words typed are kept as typed: unquoted, they may be apart ("a union of european farmers").
    for query in ("European Union", "european union"):
        assert found(corpus.search(query)) == {"eu-spelled", "eu-short", "eu-apart"}, query


def test_a_multi_word_synonym_is_a_phrase_not_scattered_words(corpus):
    assert "eu-apart" not in found(corpus.search("EU"))


def test_a_one_way_rule_expands_only_from_its_left_side(corpus):
    assert found(corpus.search("US")) >= {"us-spelled", "us-short", "usa"}
    # "united states" must not add "us": every article with the pronoun would match.
    assert found(corpus.search("united states")) == {"us-spelled"}


def test_an_entry_in_capitals_matches_only_a_query_word_in_capitals(corpus):
    assert found(corpus.search("WHO")) == {"who-org", "who-word"}
    assert found(corpus.search("who")) == {"who-word"}
    assert found(corpus.search("Who")) == {"who-word"}
    assert "us-spelled" not in found(corpus.search("us"))
    assert "us-spelled" in found(corpus.search("U.S."))


def test_an_entry_in_lowercase_matches_any_case(corpus):
    assert found(corpus.search("AI")) == found(corpus.search("ai")) == {"ai-spelled"}


def test_the_longest_run_of_words_is_matched_first(corpus):
    assert found(corpus.search("united states senate")) == {"senate"}
    assert "<synonyms of united states senate:" in corpus.explain("united states senate")


def test_words_keep_their_other_parts_of_the_query(corpus):
    assert found(corpus.search("EU ministers")) == {"eu-short"}
    assert found(corpus.search("EU trade")) == {"eu-spelled"}
    assert found(corpus.search("EU -brussels")) == {"eu-spelled"}
    assert found(corpus.search("EU OR weather")) == {"eu-spelled", "eu-short", "other"}


def test_a_quoted_phrase_is_searched_as_written(corpus):
    assert found(corpus.search('"EU"')) == {"eu-short"}
    assert found(corpus.search('"european union"')) == {"eu-spelled"}


def test_a_field_qualified_word_is_expanded_in_that_field(corpus):
    assert found(corpus.search("title:EU")) == {"eu-spelled", "eu-short"}
    assert found(corpus.search("excerpt:EU")) == set()


def test_a_negated_word_leaves_out_its_synonyms_too(corpus):
    assert found(corpus.search("-EU")) & {"eu-spelled", "eu-short"} == set()


def test_a_synonym_scores_as_the_words_themselves(corpus):
    via_synonym = {h.url: h.score for h in corpus.search("EU").hits}
    direct = {h.url: h.score for h in corpus.search('"european union"').hits}
    assert via_synonym["https://x/eu-spelled"] == direct["https://x/eu-spelled"]


def test_explain_shows_the_expansion_as_written(corpus):
    parsed = corpus.search("EU ministers").parsed
    assert "<synonyms of EU: european union>" in parsed
    assert "<synonyms of U.S: united states, usa>" in corpus.explain("U.S.")
    assert "synonyms" not in corpus.explain("weather")


def test_expanded_words_are_highlighted(corpus):
    hit = next(h for h in corpus.search("EU").hits if h.url.endswith("eu-spelled"))
    assert hit.title_highlight == "The <mark>European</mark> <mark>Union</mark> agrees on trade"
    hit = next(h for h in corpus.search("AI").hits if h.url.endswith("ai-spelled"))
    assert hit.highlight == "Teachers try <mark>artificial</mark> <mark>intelligence</mark> tools."
    # A phrase is marked only where its words stand together.
    hit = next(h for h in corpus.search("EU OR farmers").hits if h.url.endswith("eu-apart"))
    assert "<mark>union</mark>" not in hit.title_highlight.lower()


def test_wildcards_and_fuzzy_words_are_not_expanded(corpus):
    assert "synonyms" not in corpus.explain("E*")
    assert found(corpus.search("eu~1")) >= {"eu-short"}


# -- choosing the synonyms -----------------------------------------------------------


def test_no_synonyms_with_none_or_false(corpus, index_dir):
    for off in (None, False):
        with open_index(index_dir, synonyms=off) as ix:
            assert found(ix.search("EU")) == {"eu-short"}
            assert ix.synonyms is None


def test_a_synonyms_object_or_a_path(corpus, index_dir, tmp_path):
    rules = Synonyms.parse("brussels, capital of europe\n", "mine")
    with open_index(index_dir, synonyms=rules) as ix:
        assert "<synonyms of Brussels: capital of europe>" in ix.explain("Brussels")
    path = tmp_path / "other.txt"
    path.write_text("rain, drizzle\n", encoding="utf-8")
    with open_index(index_dir, synonyms=str(path)) as ix:
        assert "<synonyms of drizzle: rain>" in ix.explain("drizzle")


def test_the_environment_variable_names_the_default_file(corpus, index_dir, tmp_path, monkeypatch):
    path = tmp_path / "env.txt"
    path.write_text("drizzle, rain\n", encoding="utf-8")
    monkeypatch.setenv(SYNONYMS_ENV, str(path))
    with open_index(index_dir) as ix:
        assert found(ix.search("drizzle")) == {"other"}
    monkeypatch.setenv(SYNONYMS_ENV, str(tmp_path / "missing.txt"))
    with pytest.raises(SynonymsError, match=r"missing\.txt \(named by \$NEWSSEARCH_SYNONYMS\): no such file"):
        open_index(index_dir)


def test_without_the_variable_the_shipped_list_applies(corpus, index_dir, monkeypatch):
    monkeypatch.delenv(SYNONYMS_ENV, raising=False)
    with open_index(index_dir) as ix:
        assert found(ix.search("U.S.")) >= {"us-spelled", "usa", "us-short"}
        assert found(ix.search("who")) == {"who-word"}
        assert found(ix.search("WHO")) == {"who-word", "who-org"}


def test_changing_the_synonyms_needs_no_reindex(corpus, index_dir, rules_file):
    generation = sorted(p.name for p in index_dir.iterdir())
    rules_file.write_text("rain, downpour\n", encoding="utf-8")
    with open_index(index_dir, synonyms=rules_file) as ix:
        assert found(ix.search("downpour")) == {"other"}
        assert found(ix.search("EU")) == {"eu-short"}
    assert sorted(p.name for p in index_dir.iterdir()) == generation


def test_a_bad_synonyms_argument_is_a_query_error(index_dir, corpus):
    with pytest.raises(QueryError, match="^synonyms must be"):
        open_index(index_dir, synonyms=42)


def test_the_shipped_list_parses_and_keeps_the_traps_one_way():
    rules = Synonyms.default()
    assert [e.text for e in rules.lookup(("us",), capitals=True)] == ["united states", "usa"]
    assert rules.lookup(("us",), capitals=False) == ()
    assert rules.lookup(("who",), capitals=False) == ()
    assert all(e.terms != ("us",) for e in rules.lookup(("unit", "state"), capitals=False))
    assert rules.lookup(("eu",), capitals=False)


# -- the file format --------------------------------------------------------------------


def test_comments_blank_lines_and_spacing_are_ignored():
    rules = Synonyms.parse("# a comment\n\n   eu ,european   union  \n#x, y\n", "f")
    assert [e.text for e in rules.lookup(("eu",), False)] == ["european union"]
    assert rules.lookup(("x",), False) == ()


def test_rules_for_the_same_word_add_up():
    rules = Synonyms.parse("eu, european union\neu => brussels\n", "f")
    assert [e.text for e in rules.lookup(("eu",), False)] == ["european union", "brussels"]
    assert [e.text for e in rules.lookup(("brussel",), False)] == []


def test_entries_are_analysed_as_the_index_analyses_text():
    rules = Synonyms.parse("Zürich, Zurigo\nelections, polls\n", "f")
    assert rules.lookup(("zurich",), False)  # accents folded
    assert rules.lookup(("elect",), False)  # stemmed


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("eu, european union\nlonely\n", 2, "one entry alone"),
        ("a => b => c\n", 1, 'more than one "=>"'),
        ("# c\n\na, , b\n", 3, "an empty entry"),
        ("a, b,\n", 1, "an empty entry"),
        ("=> b\n", 1, "left of =>"),
        ("a =>\n", 1, "right of =>"),
        ("a, ---\n", 1, "holds no word"),
        ("a, b\nc, c\n", 2, "one entry alone"),
        ("a, " + " ".join(["w"] * 9) + "\n", 1, "more than 8 words"),
    ],
)
def test_a_bad_line_is_a_one_line_error_naming_the_file_and_line(tmp_path, text, line, words):
    path = tmp_path / "bad.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SynonymsError) as caught:
        Synonyms.load(path)
    message = str(caught.value)
    assert message.startswith(f"synonyms file {path}, line {line}: ") and words in message and "\n" not in message
    assert caught.value.line == line and caught.value.path == str(path)


def test_a_file_that_cannot_be_read_is_a_one_line_error_naming_it(tmp_path):
    with pytest.raises(SynonymsError, match=r"^synonyms file .*missing\.txt: no such file"):
        Synonyms.load(tmp_path / "missing.txt")
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"eu, \xff\xfe\n")
    with pytest.raises(SynonymsError, match=r"binary\.txt: not UTF-8"):
        Synonyms.load(binary)


# -- command line ---------------------------------------------------------------------------


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def cli_found(*args: str) -> set[str]:
    code, output = run("query", *args, "--format", "json")
    assert code == 0, output
    return {h["url"].rsplit("/", 1)[1] for h in json.loads(output)["hits"]}


def test_query_synonyms_option_and_no_synonyms(corpus, rules_file, monkeypatch):
    monkeypatch.delenv(SYNONYMS_ENV, raising=False)
    assert cli_found("EU", "--synonyms", str(rules_file)) == {"eu-spelled", "eu-short"}
    assert cli_found("EU", "--no-synonyms") == {"eu-short"}
    monkeypatch.setenv(SYNONYMS_ENV, str(rules_file))
    assert cli_found("united states senate") == {"senate"}
    assert cli_found("united states senate", "--no-synonyms") == set()


def test_query_explain_prints_the_expansion(corpus, rules_file):
    code, output = run("query", "EU", "--synonyms", str(rules_file), "--explain")
    assert code == 0
    assert "<synonyms of EU: european union>" in output.splitlines()[0]


def test_query_with_a_bad_synonyms_file_is_one_line_and_exit_1(corpus, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("a => b => c\n", encoding="utf-8")
    code, output = run("query", "EU", "--synonyms", str(bad))
    assert code == 1 and output == f'Error: synonyms file {bad}, line 1: more than one "=>"\n'
    code, output = run("query", "EU", "--synonyms", str(tmp_path / "nope.txt"))
    assert code == 1 and output.startswith("Error: synonyms file") and output.count("\n") == 1


def test_synonyms_and_no_synonyms_together_are_bad_usage(corpus, rules_file):
    code, output = run("query", "EU", "--synonyms", str(rules_file), "--no-synonyms")
    assert code == 2 and output.count("\n") == 1


def test_query_all_exports_with_the_same_synonyms(corpus, rules_file):
    code, output = run("query", "EU", "--synonyms", str(rules_file), "--all", "--format", "ndjson")
    assert code == 0
    assert {json.loads(line)["url"].rsplit("/", 1)[1] for line in output.splitlines()} == {"eu-spelled", "eu-short"}


def test_serve_with_a_bad_synonyms_file_stops_before_listening(index_dir, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("lonely\n", encoding="utf-8")
    code, output = run("serve", "--port", "0", "--synonyms", str(bad))
    assert code == 1 and output == f"Error: synonyms file {bad}, line 1: one entry alone has no synonyms: " \
        "separate equivalent entries with commas\n"


def test_a_synonym_holding_the_words_or_another_synonym_is_left_out():
    rules = Synonyms.parse("usa, united states of america, united states\n", "f")
    assert [e.text for e in rules.lookup(("usa",), False)] == ["united states"]
    assert [e.text for e in rules.lookup(("unit", "state"), False)] == ["usa"]
    assert [e.text for e in rules.lookup(("unit", "state", "of", "america"), False)] == ["usa", "united states"]


def test_a_cjk_synonym_of_a_latin_word_is_found_as_its_phrase(seeds, index_dir):
    write_seed(seeds, "tokyo.txt", title="東京の天気", url="https://x/tokyo")
    write_seed(seeds, "kyoto.txt", title="京都の天気と東の風", url="https://x/kyoto")
    index_seeds([seeds], index_dir)
    with open_index(index_dir, synonyms=Synonyms.parse("Tokyo, 東京\n")) as ix:
        assert found(ix.search("tokyo")) == {"tokyo"}
