"""The chunk -> file/folder arrays agree with the database and follow changes to the index."""

from __future__ import annotations

from pathlib import Path

from deepresearch_local.library import Library
from deepresearch_local.library.owners import owners


def _joined(library: Library) -> dict[int, tuple[int, int]]:
    sql = "SELECT c.id, c.file_id, f.folder_id FROM chunks c JOIN files f ON f.id = c.file_id"
    rows = library.store.query(sql)
    return {int(r[0]): (int(r[1]), int(r[2])) for r in rows}


def test_owners_follow_the_index(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for folder, word in ((first, "lantern"), (second, "harbour")):
        folder.mkdir()
        for n in range(3):
            (folder / f"note{n}.md").write_text(f"# {word} {n}\n\n{word} notes, part {n}.\n", "utf-8")
    with Library(tmp_path / "lib.sqlite3") as library:
        library.add(first, "a")
        library.add(second, "b")
        expected = _joined(library)
        ids = [*expected, 10_000, -1]
        files, folders = owners(library.store).of(ids)
        assert dict(zip(ids, zip(files, folders, strict=True), strict=True)) == {
            **expected,
            10_000: (-1, -1),
            -1: (-1, -1),
        }
        assert len({folder for _, folder in expected.values()}) == 2
        (first / "note0.md").unlink()
        library.reindex("a")
        now = _joined(library)
        assert len(now) == len(expected) - 1
        files, _ = owners(library.store).of(list(expected))
        assert [f for f in files if f >= 0] == [now[c][0] for c in expected if c in now]
        counts = library.store.query("SELECT id, chunks FROM files WHERE status = 'indexed'")
        file_ids = [int(r[0]) for r in counts]
        assert owners(library.store).sizes([*file_ids, 99_999]) == [*(int(r[1]) for r in counts), 0]
