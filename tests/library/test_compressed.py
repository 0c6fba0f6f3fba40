"""gzip-compressed documents (Debian's ``/usr/share/doc`` is full of them) are read as what they
hold; damaged, oversized and archive files say why they are not."""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import pytest

from deepresearch_local.library import Library
from deepresearch_local.library.compressed import TooLarge, gunzip
from deepresearch_local.library.errors import LibraryError
from deepresearch_local.library.indexer import Limits

PAGE = (
    "<!DOCTYPE html><html><head><title>Harbour guide</title></head><body><nav>menu</nav>"
    "<h1>Harbour guide</h1><p>The lighthouse keeper logs every passing schooner.</p></body></html>"
)
NEWS = "Version 2.1\n\n * The tide tables now cover the whole archipelago.\n"


def _folder(root: Path) -> Path:
    root.mkdir()
    (root / "guide.html.gz").write_bytes(gzip.compress(PAGE.encode("utf-8")))
    (root / "NEWS.gz").write_bytes(gzip.compress(NEWS.encode("utf-8")))
    (root / "notes.md.gz").write_bytes(
        gzip.compress(b"# Notes\n\nFirst") + gzip.compress(b" mate's barometer.\n")
    )
    (root / "README").write_text("Anchors are stored in the boathouse.\n", encoding="utf-8")
    (root / "README.gz").write_bytes(gzip.compress(b"Anchors are stored in the boathouse.\n"))
    (root / "site.tar.gz").write_bytes(gzip.compress(b"not read: an archive holds many files"))
    (root / "broken.txt.gz").write_bytes(gzip.compress(b"the end is missing " * 50)[:-20])
    (root / "plain.txt.gz").write_bytes(b"this file was never compressed\n")
    (root / "big.txt.gz").write_bytes(gzip.compress(b"sea " * 50_000))  # 200 kB unpacked
    return root


def test_compressed_files_are_read_as_what_they_hold(tmp_path: Path) -> None:
    root = _folder(tmp_path / "doc")
    with Library(tmp_path / "lib.sqlite3", limits=Limits(max_text_bytes=100_000)) as lib:
        lib.add(root, "doc")
        coverage = {r.rel: (r.kind, r.status, r.reason) for r in lib.coverage()}
        assert coverage["guide.html.gz"][:2] == ("html", "indexed")
        assert coverage["NEWS.gz"][:2] == ("text", "indexed")
        assert coverage["notes.md.gz"][:2] == ("markdown", "indexed")  # two gzip members, read whole
        assert coverage["README"][1] == "indexed"
        assert coverage["README.gz"][1:] == ("skipped", "duplicate of README")
        assert coverage["site.tar.gz"][1:] == (
            "skipped",
            "unsupported type .tar, gzip-compressed (binary format)",
        )
        status, reason = coverage["broken.txt.gz"][1:]
        assert (status, reason) == (
            "failed",
            "truncated gzip data (the file ends in the middle of its content)",
        )
        status, reason = coverage["plain.txt.gz"][1:]
        assert status == "failed" and reason.startswith("damaged or not gzip data (")
        assert coverage["big.txt.gz"][1:] == (
            "skipped",
            "too large once decompressed (over 0.1 MiB, the limit for this type)",
        )

        hits = lib.search("lighthouse keeper schooner", k=3, mode="bm25")
        assert Path(hits[0].path).name == "guide.html.gz"
        assert hits[0].title == "Harbour guide"
        assert "menu" not in hits[0].snippet  # read as HTML, navigation left out
        assert Path(lib.search("archipelago tide tables", k=1, mode="bm25")[0].path).name == "NEWS.gz"
        assert Path(lib.search("barometer", k=1, mode="bm25")[0].path).name == "notes.md.gz"
        assert "lighthouse keeper" in lib.read(str(root / "guide.html.gz")).rendered
        for refused in ("broken.txt.gz", "plain.txt.gz", "big.txt.gz"):  # reading says what indexing said
            with pytest.raises(LibraryError) as caught:
                lib.read(str(root / refused))
            assert str(caught.value) == f"{refused} could not be read: {coverage[refused][2]}."


def test_files_an_older_version_passed_over_are_read_once_it_can(tmp_path: Path) -> None:
    root = tmp_path / "doc"
    root.mkdir()
    (root / "NEWS.gz").write_bytes(gzip.compress(NEWS.encode("utf-8")))
    (root / "a.txt").write_text("The ferry leaves at noon.\n", encoding="utf-8")
    with Library(tmp_path / "lib.sqlite3") as lib:
        lib.add(root, "doc")
        # what a version that did not read gzip recorded for it
        with lib.store.transaction() as db:
            db.execute(
                "UPDATE files SET kind = 'binary', status = 'skipped', sha256 = NULL, "
                "reason = 'unsupported type .gz (binary format)' WHERE rel = 'NEWS.gz'"
            )
            db.execute("DELETE FROM chunks WHERE file_id = (SELECT id FROM files WHERE rel = 'NEWS.gz')")
        assert not lib.search("archipelago", k=1, mode="bm25")
        (report,) = lib.reindex("doc")
        assert report.changed == 1 and report.unchanged == 1  # the file's stat did not change
        assert Path(lib.search("archipelago", k=1, mode="bm25")[0].path).name == "NEWS.gz"
        assert lib.reindex("doc")[0].changed == 0  # and once read, it is left alone


def test_gunzip_limits_and_errors() -> None:
    data = gzip.compress(b"x" * 1000)
    assert gunzip(data, 1000) == b"x" * 1000
    with pytest.raises(TooLarge):
        gunzip(data, 999)
    bomb = zlib.compressobj(9, zlib.DEFLATED, 31)
    packed = bomb.compress(b"\0" * 50_000_000) + bomb.flush()  # 50 MB in about 50 kB
    with pytest.raises(TooLarge):
        gunzip(packed, 1_000_000)  # refused after unpacking no more than the limit
    assert gunzip(data + b"\0" * 16, 1000) == b"x" * 1000  # zero padding after the last member
    with pytest.raises(ValueError, match="not gzip"):
        gunzip(data + b"garbage after the member", 10_000)
    with pytest.raises(ValueError, match="not gzip"):
        gunzip(os.urandom(64), 10_000)
