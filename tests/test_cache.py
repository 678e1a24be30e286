"""The content-keyed caches of a publish: ``provenance.content_key``, ``ContentCache``,
``cached_text``, and the package fingerprint they are keyed by."""

from __future__ import annotations

import importlib.resources
import os
import stat
import time
from pathlib import Path

import pytest

from analysis import provenance
from analysis.provenance import ContentCache, cached_text, content_key


def _maker(text: str, calls: list[str]):
    def make() -> str:
        calls.append(text)
        return text
    return make


def test_an_entry_is_a_hit_when_every_part_is_the_same(tmp_path: Path) -> None:
    calls: list[str] = []
    parts = ["format 1", b"\x00bytes\xff", "page é"]
    first = cached_text(tmp_path, "page-{key}.md", parts, _maker("made", calls))
    again = cached_text(tmp_path, "page-{key}.md", list(parts), _maker("other", calls))
    assert first == again == "made" and calls == ["made"]
    assert [p.name for p in tmp_path.iterdir()] == [f"page-{content_key(parts)}.md"]


@pytest.mark.parametrize("changed", [
    ["format 2", b"\x00bytes\xff", "page é"],  # any one part
    ["format 1", b"\x00bytes\xfe", "page é"],
    ["format 1", b"\x00bytes\xff", "page e"],
    ["format 1", b"\x00bytes\xff"],  # a part fewer
    ["format 1", b"\x00bytes\xff", "page é", ""],  # an empty part more
    ["format ", "1", b"\x00bytes\xff", "page é"],  # the same bytes, cut elsewhere
    ["format 1" + "\x00bytes\xff", "page é"],
])
def test_a_miss_when_any_part_changes_even_where_parts_are_cut(tmp_path: Path,
                                                               changed: list) -> None:
    calls: list[str] = []
    cached_text(tmp_path, "{key}.txt", ["format 1", b"\x00bytes\xff", "page é"],
                _maker("first", calls))
    assert cached_text(tmp_path, "{key}.txt", changed, _maker("second", calls)) == "second"
    assert calls == ["first", "second"]


def test_a_key_is_never_a_plain_digest_of_the_parts_so_an_older_scheme_is_a_miss() -> None:
    import hashlib

    parts = ["salt", "href", "page"]
    assert content_key(parts) not in {
        hashlib.sha256("".join(parts).encode()).hexdigest(),
        hashlib.sha256("\0".join(parts).encode()).hexdigest()}
    assert content_key(parts) == content_key(tuple(parts)) == content_key(iter(parts))


def test_an_atomic_write_that_fails_leaves_no_partial_entry_and_no_temporary_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ContentCache(tmp_path / "c", "{key}.html")

    def refuse(*a, **k):
        raise OSError("disk full")

    with monkeypatch.context() as m:
        m.setattr(os, "replace", refuse)
        with pytest.raises(OSError, match="disk full"):
            store.text(["a"], lambda: "<p>page</p>")
    assert list((tmp_path / "c").iterdir()) == []

    def broken() -> str:
        raise ValueError("the page could not be made")

    with pytest.raises(ValueError):
        store.text(["a"], broken)
    assert list((tmp_path / "c").iterdir()) == []
    assert store.text(["a"], lambda: "<p>page</p>") == "<p>page</p>"
    assert [p.read_text("utf-8") for p in (tmp_path / "c").iterdir()] == ["<p>page</p>"]


def test_an_entry_the_check_refuses_is_made_again_and_written_over(tmp_path: Path) -> None:
    store = ContentCache(tmp_path, "{key}.json")
    store.write(content_key(["x"]), '{"pages": [')  # cut short
    assert store.text(["x"], lambda: "[]", valid=lambda t: t.endswith("]")) == "[]"
    assert store.read(content_key(["x"])) == "[]"


def test_a_private_entry_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = ContentCache(tmp_path, "{key}.json", private=True).write("0" * 64, "{}")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_prune_removes_only_the_entries_this_publish_did_not_use(tmp_path: Path) -> None:
    before = ContentCache(tmp_path, "{key}.html")
    for page in ("one", "two", "three"):
        before.text([page], lambda p=page: p)
    other = tmp_path / "notes.html"  # not an entry: no key in its name
    other.write_text("kept", "utf-8")
    (tmp_path / f"dictionary-{content_key(['d'])}.md").write_text("kept", "utf-8")
    (tmp_path / f".{content_key(['w'])}.html.99.tmp").write_text("a writer's", "utf-8")
    later = ContentCache(tmp_path, "{key}.html")
    assert later.text(["two"], lambda: "made again") == "two"  # read: used
    later.text(["four"], lambda: "four")  # written: used
    removed = later.prune()
    assert sorted(p.name for p in removed) == sorted(
        f"{content_key([p])}.html" for p in ("one", "three"))
    left = {p.name for p in tmp_path.iterdir()}
    assert {f"{content_key([p])}.html" for p in ("two", "four")} <= left and len(left) == 5


def test_an_entry_name_holds_the_key_once(tmp_path: Path) -> None:
    for name in ("entry.txt", "{key}-{key}.txt", "sub/{key}.txt"):
        with pytest.raises(ValueError, match="key"):
            ContentCache(tmp_path, name)


def _package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A package folder of its own for ``package_fingerprint``, its files an hour old."""
    pkg = tmp_path / "analysis"
    (pkg / "config").mkdir(parents=True)
    (pkg / "a.py").write_text("x = 1\n", "utf-8")
    (pkg / "config" / "b.yml").write_text("k: v\n", "utf-8")
    (pkg / "notes.txt").write_text("not covered\n", "utf-8")
    for f in pkg.rglob("*"):
        os.utime(f, (time.time() - 3600, time.time() - 3600))
    monkeypatch.setattr(importlib.resources, "files", lambda name: pkg)
    monkeypatch.setattr(provenance, "_fingerprint_memo", {})
    return pkg


def _counting_reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    reads: list[Path] = []
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda p: reads.append(p) or real(p))
    return reads


def test_the_package_fingerprint_is_computed_once_until_a_package_file_changes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = _package(tmp_path, monkeypatch)
    first = provenance.package_fingerprint()
    reads = _counting_reads(monkeypatch)
    assert provenance.package_fingerprint() == first and reads == []  # kept, nothing read
    (pkg / "notes.txt").write_text("still not covered\n", "utf-8")
    assert provenance.package_fingerprint() == first and reads == []
    (pkg / "a.py").write_text("x = 2\n", "utf-8")  # the same size, another time
    edited = provenance.package_fingerprint()
    assert edited != first and reads
    (pkg / "config" / "c.yaml").write_text("", "utf-8")  # a new file counts
    assert provenance.package_fingerprint() not in {first, edited}


def test_a_package_file_edited_just_now_is_read_again_even_with_the_same_stat(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file system's times have a granularity: a second edit of the same size within it
    leaves the same stat, so a fingerprint is not kept while a file is that new."""
    pkg = _package(tmp_path, monkeypatch)
    (pkg / "a.py").write_text("x = 2\n", "utf-8")
    before = (pkg / "a.py").stat()
    edited = provenance.package_fingerprint()
    (pkg / "a.py").write_text("x = 3\n", "utf-8")
    os.utime(pkg / "a.py", ns=(before.st_atime_ns, before.st_mtime_ns))
    assert provenance.package_fingerprint() != edited


def test_a_lookup_says_whether_the_text_was_stored_or_made_now(tmp_path: Path) -> None:
    store, calls = ContentCache(tmp_path, "{key}.html"), []
    assert store.lookup(["a"], _maker("made", calls)) == ("made", False)
    assert store.lookup(["a"], _maker("again", calls)) == ("made", True)
    assert store.lookup(["b"], _maker("other", calls)) == ("other", False)
    assert calls == ["made", "other"]
