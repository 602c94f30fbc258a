from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newssearch import Article, InputPathError, SeedError, find_seed_files, read_seed
from newssearch import seeds as seeds_module
from newssearch.seeds import parse_seed, split_front_matter

from .conftest import REAL_SEED, seed_text, write_seed

UTC = timezone.utc


def test_the_real_seed_reads_into_every_field():
    article = read_seed(REAL_SEED)
    assert isinstance(article, Article)
    assert article.title == "Now Microsoft is banning police from using its facial recognition tech, too"
    assert article.url.startswith("https://www.fastcompany.com/90516127/")
    assert article.excerpt.startswith("Microsoft wants “a national law")
    assert article.topics == ("Computer Vision", "AI")
    assert (article.provider, article.domain) == ("Fast Company", "fastcompany.com")
    assert article.published == datetime(2020, 6, 12, 11, 6, tzinfo=UTC)
    assert (article.category, article.type, article.quality, article.heat) == ("news", "article", 37, -1)
    assert article.images[0].width == 1280
    assert [r.provider for r in article.related] == ["The Verge", "Portland Press Herald"]
    assert article.related[1].published == datetime(2020, 6, 16, 1, 18, tzinfo=UTC)
    assert article.path == str(REAL_SEED)
    assert article.body == ""
    assert article.warnings == ()


def test_body_after_the_closing_fence_is_kept(tmp_path):
    path = write_seed(tmp_path, "a.txt", title="T", body="\nThe body text.\n")
    assert read_seed(path).body == "The body text."


def test_bom_crlf_and_trailing_spaces_on_fences_are_tolerated():
    text = seed_text(title="Windows seed", body="Body line").replace("---\n", "---  \n", 1)
    data = ("\ufeff" + text).replace("\n", "\r\n").encode("utf-8")
    article = parse_seed(data, "w.txt")
    assert article.title == "Windows seed"
    assert article.body == "Body line"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"   \n\n", "empty file"),
        (b"title: no fences\n", "no front matter"),
        (b"---\ntitle: never closed\n", "not closed"),
        (b"---\ntitle: [unbalanced\n---\n", "invalid YAML front matter"),
        (b"---\n- a\n- list\n---\n", "not a mapping"),
        (b"---\n---\n", "not a mapping"),
        (b"---\ntitle: caf\xe9\n---\n", "not UTF-8"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "binary file"),
        (b"---\nwebUrl: https://x.example/1\n---\n", "no title"),
        (b"---\ntitle: No url\n---\n", "no webUrl"),
    ],
)
def test_bad_seeds_raise_a_one_line_reason(data, reason):
    with pytest.raises(SeedError) as info:
        parse_seed(data, "bad.txt")
    assert reason in info.value.reason
    assert "\n" not in str(info.value)
    assert info.value.path == "bad.txt"


def test_yaml_line_number_is_reported():
    with pytest.raises(SeedError, match=r"line 3"):
        parse_seed(b"---\ntitle: ok\nwebUrl: [broken\n---\n", "bad.txt")


def test_python_tags_are_rejected_and_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    data = f"---\ntitle: !!python/object/apply:os.system ['touch {marker}']\nwebUrl: https://x.example\n---\n"
    with pytest.raises(SeedError, match="invalid YAML"):
        parse_seed(data.encode(), "evil.txt")
    assert not marker.exists()


def test_file_over_the_size_limit_is_skipped(tmp_path, monkeypatch):
    monkeypatch.setattr(seeds_module, "MAX_SEED_BYTES", 100)
    path = write_seed(tmp_path, "big.txt", title="Big", body="x" * 500)
    with pytest.raises(SeedError, match="larger than"):
        read_seed(path)


def test_unreadable_file_names_the_reason(tmp_path):
    with pytest.raises(SeedError, match="no such file"):
        read_seed(tmp_path / "missing.txt")


@pytest.mark.parametrize(
    ("published", "expected"),
    [
        ("2020-06-12T11:06:00Z", datetime(2020, 6, 12, 11, 6, tzinfo=UTC)),
        ("2020-06-13T00:30:00+09:00", datetime(2020, 6, 12, 15, 30, tzinfo=UTC)),
        ("2020-06-12T20:00:00-05:00", datetime(2020, 6, 13, 1, 0, tzinfo=UTC)),
        ("2020-06-12", datetime(2020, 6, 12, tzinfo=UTC)),
        ("2020-06-12 11:06:00", datetime(2020, 6, 12, 11, 6, tzinfo=UTC)),
    ],
)
def test_dates_become_utc(published, expected):
    # Quoted in YAML (a string) and unquoted (PyYAML's own datetime) must agree.
    for literal in (f'"{published}"', published):
        data = f"---\ntitle: T\nwebUrl: https://x.example\npublishedDateTime: {literal}\n---\n"
        article = parse_seed(data.encode(), "d.txt")
        assert article.published == expected
        assert article.published.tzinfo == UTC


def test_unparseable_date_keeps_the_article_with_a_warning():
    data = b"---\ntitle: T\nwebUrl: https://x.example\npublishedDateTime: last tuesday\n---\n"
    article = parse_seed(data, "d.txt")
    assert article.published is None
    assert any("not a date" in w for w in article.warnings)


def test_topics_as_a_comma_separated_string_and_provider_as_a_string():
    data = b"---\ntitle: T\nwebUrl: https://x.example\ntopics: 'AI, Climate ,ai,'\nprovider: Daily Ledger\n---\n"
    article = parse_seed(data, "t.txt")
    assert article.topics == ("AI", "Climate")
    assert (article.provider, article.domain) == ("Daily Ledger", "")


def test_oversized_fields_are_cut_and_reported():
    many = [f"topic {i}" for i in range(seeds_module.MAX_TOPICS + 50)]
    text = seed_text(title="x" * (seeds_module.MAX_TITLE_CHARS + 10), topics=many)
    article = parse_seed(text.encode(), "huge.txt")
    assert len(article.title) == seeds_module.MAX_TITLE_CHARS
    assert len(article.topics) == seeds_module.MAX_TOPICS
    assert len(article.warnings) == 2


def test_related_entries_without_url_or_title_are_dropped():
    text = seed_text(title="T", related=[{"title": "no url"}, {"webUrl": "https://r.example"}, "junk"])
    assert parse_seed(text.encode(), "r.txt").related == ()


def test_seed_errors_survive_pickling():
    import pickle

    error = pickle.loads(pickle.dumps(SeedError("a.txt", "empty file")))
    assert (error.path, error.reason, str(error)) == ("a.txt", "empty file", "a.txt: empty file")


# -- finding files -------------------------------------------------------------


def test_walk_is_recursive_sorted_and_skips_hidden_and_foreign_files(tmp_path):
    for name in ("b.txt", "a.md", "sub/c.yaml", "sub/d.yml", "e.markdown", "notes.json", ".hidden.txt", ".git/f.txt"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    found = [Path(f.path).relative_to(tmp_path).as_posix() for f in find_seed_files([tmp_path])]
    assert found == ["a.md", "b.txt", "e.markdown", "sub/c.yaml", "sub/d.yml"]


def test_a_file_named_directly_is_taken_whatever_its_suffix(tmp_path):
    path = tmp_path / "seed.data"
    path.write_text("x")
    assert [f.path for f in find_seed_files([path, path])] == [str(path)]


def _one_seed_per_file(found):
    """Sorted by path, each path once (its first finding), then each file (identity) once: file by file."""
    files, seen, last = [], set(), None
    for path, mtime_ns, size, identity in sorted(found, key=lambda f: f[0]):
        if path != last and identity not in seen:
            seen.add(identity)
            files.append((path, mtime_ns, size))
        last = path
    return files


@pytest.mark.parametrize("seed", range(30))
def test_files_found_twice_are_one_seed_as_file_by_file(monkeypatch, tmp_path, seed):
    import random

    from newssearch import seeds

    rng = random.Random(seed)
    # Few paths and identities: the same path twice (two folders overlap, a file replaced
    # between them), one file under two paths (a hard link), both, or neither.
    found = [(f"/f/{rng.randrange(8)}.txt", rng.randrange(3), rng.randrange(3), rng.randrange(12)) for _ in range(rng.randrange(9))]
    if seed % 3 == 0:
        found = list({f[0]: f for f in found}.values())  # distinct paths
        found = [(p, m, s, i) for i, (p, m, s, _) in enumerate(found)]  # distinct files: the fast path

    def walk(folder, into, helper=None):
        for path, mtime_ns, size, identity in found:
            into.files.append(seeds.SeedFile(path, mtime_ns, size))
            into.devices.append(identity % 2)  # the same inode number on two devices is two files
            into.inodes.append(identity // 2)

    monkeypatch.setattr(seeds, "_walk", walk)
    assert [tuple(f) for f in find_seed_files([tmp_path])] == _one_seed_per_file(found)


def test_a_path_found_twice_as_two_files_is_the_first_found(monkeypatch, tmp_path):
    """Two given folders overlap and a file was replaced between their walks: one path, two
    identities, every inode number distinct. The first finding is taken, each path once."""
    from newssearch import seeds

    found = [("/f/b.txt", 1, 1, (0, 10)), ("/f/a.txt", 2, 2, (0, 11)), ("/f/b.txt", 3, 3, (0, 12)), ("/f/c.txt", 4, 4, (0, 13))]

    def walk(folder, into, helper=None):
        for path, mtime_ns, size, (device, inode) in found:
            into.files.append(seeds.SeedFile(path, mtime_ns, size))
            into.devices.append(device)
            into.inodes.append(inode)

    monkeypatch.setattr(seeds, "_walk", walk)
    assert [tuple(f) for f in find_seed_files([tmp_path])] == [("/f/a.txt", 2, 2), ("/f/b.txt", 1, 1), ("/f/c.txt", 4, 4)]
    found[3] = ("/f/c.txt", 4, 4, (1, 10))  # and the same inode number on another device: another file
    assert [tuple(f) for f in find_seed_files([tmp_path])] == [("/f/a.txt", 2, 2), ("/f/b.txt", 1, 1), ("/f/c.txt", 4, 4)]


def _walk_entry_by_entry(folder: str) -> list[tuple[str, int, int, tuple[int, int]]]:
    """The reference for the walk: each entry of os.scandir in turn (what find_seed_files did
    until it made C-level passes over each folder's names)."""
    import stat

    from newssearch.seeds import SEED_SUFFIXES

    found, subfolders = [], []
    try:
        with os.scandir(folder) as listing:
            for entry in listing:
                if entry.name.startswith("."):
                    continue
                try:
                    if os.path.splitext(entry.name.lower())[1] in SEED_SUFFIXES:
                        st = entry.stat()
                        if stat.S_ISREG(st.st_mode):
                            found.append((entry.path, st.st_mtime_ns, st.st_size, (st.st_dev, st.st_ino)))
                        elif stat.S_ISDIR(st.st_mode) and not entry.is_symlink():
                            subfolders.append(entry.path)
                    elif entry.is_dir(follow_symlinks=False):
                        subfolders.append(entry.path)
                except OSError:
                    continue
    except OSError:
        pass
    for subfolder in subfolders:
        found += _walk_entry_by_entry(subfolder)
    return found


@pytest.mark.parametrize("helped", [False, True], ids=["alone", "helped"])
@pytest.mark.parametrize("seed", range(12))
def test_the_walk_finds_what_a_walk_entry_by_entry_finds(monkeypatch, tmp_path, seed, helped):
    """Random trees of seeds, hidden and foreign files, folders named like seeds, links to files
    and folders (inside and outside), dangling links, hard links and FIFOs, walked from one or
    several overlapping roots: the walk finds what the entry-by-entry reference finds, alone
    or with a helper that stats half of each folder's files (as a worker does)."""
    import random

    from newssearch import seeds, workers

    rng = random.Random(seed)
    monkeypatch.setattr(seeds, "_FOLDERS_BY_STAT", rng.choice([0, 2, 256]))  # both ways of telling folders
    monkeypatch.setattr(seeds, "HELPED_FROM", 1)
    monkeypatch.setattr(seeds, "STAT_CHUNK", rng.choice([1, 3, 16_384]))
    asked = []

    def helper(prefix, names):
        asked.append(names)
        done = workers._Stat(prefix, "\0".join(names)).run()  # what the worker runs, here
        return lambda: [column.tolist() for column in done]

    tree, outside = tmp_path / "tree", tmp_path / "outside"
    outside.mkdir()
    (outside / "far.txt").write_text("x")
    folders, files = [tree], []
    tree.mkdir()
    names = ["a.txt", "B.TXT", "c.md", "d.yaml", "e.yml", "f.markdown", "g.json", "h.jpg", "noext", ".hidden.txt",
             "x.txt.bak", "sub", "sub.txt", ".git", "é.txt", "z z.md"]
    for _ in range(rng.randrange(20, 60)):
        parent, name = rng.choice(folders), rng.choice(names) + rng.choice(["", "", "1", "-2"])
        path = parent / name
        if path.exists() or path.is_symlink():
            continue
        kind = rng.choices(["file", "folder", "link-file", "link-folder", "dangling", "hard", "fifo"], [8, 3, 1, 1, 1, 1, 1])[0]
        if kind == "file":
            path.write_text("x" * rng.randrange(5))
            files.append(path)
        elif kind == "folder":
            path.mkdir()
            folders.append(path)
        elif kind == "link-file":
            path.symlink_to(rng.choice(files + [outside / "far.txt"]))
        elif kind == "link-folder":
            path.symlink_to(rng.choice(folders + [outside]), target_is_directory=True)
        elif kind == "dangling":
            path.symlink_to(tmp_path / "nowhere.txt")
        elif kind == "hard" and files:
            os.link(rng.choice(files), path)
        elif kind == "fifo":
            os.mkfifo(path)
    roots = [tree] + [rng.choice(folders) for _ in range(rng.randrange(3))]
    expected = []
    for root in roots:
        expected += _walk_entry_by_entry(str(root))
    assert [tuple(f) for f in find_seed_files(roots, helper=helper if helped else None)] == _one_seed_per_file(expected)
    assert expected and bool(asked) is helped  # (the trees hold seeds)


def test_a_missing_path_is_an_error_naming_it(tmp_path):
    with pytest.raises(InputPathError, match="nowhere: no such file"):
        find_seed_files([tmp_path / "nowhere"])


def test_a_symlink_loop_does_not_trap_the_walk(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_text("x")
    os.symlink(tmp_path, tmp_path / "a" / "loop")
    assert [Path(f.path).name for f in find_seed_files([tmp_path])] == ["x.txt"]


def _split_line_by_line(text: str):
    """The fences as the format defines them, found line by line: the reference for split_front_matter."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines[0].rstrip(" \t") != "---":
        return "no front matter"
    for number, line in enumerate(lines[1:], start=1):
        if line.rstrip(" \t") == "---":
            return "\n".join(lines[1:number]), "\n".join(lines[number + 1 :]).strip()
    return "not closed"


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(["---", "--- ", "---\t", " ---", "----", "a: 1", "", "x", "\r", "\r\n"]), max_size=8))
def test_front_matter_fences_are_found_as_line_by_line(parts):
    text = "\n".join(parts)
    try:
        found = split_front_matter(text)
    except SeedError as exc:
        found = "no front matter" if "first line" in exc.reason else "not closed"
    assert found == _split_line_by_line(text)
