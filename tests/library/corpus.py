"""The test corpus: real files of every kind the library must handle, built per test.

Each document hides one unusual word at a known place (a line, a page, a heading), so a test can
assert exactly where search says it is.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

FILLER = (
    "The committee reviewed the schedule and agreed that each team keeps its own notes, "
    "shares a summary every week and records open questions for the next meeting. "
)


def filler(chars: int) -> str:
    return (FILLER * (chars // len(FILLER) + 1))[:chars].rsplit(" ", 1)[0] + "."


def pdf_bytes(pages: Sequence[Sequence[str]], title: str = "") -> bytes:
    """A valid PDF written by hand: one Helvetica text stream per page, one text line per item."""

    def literal(text: str) -> str:
        return "(" + text.replace("\\", r"\\").replace("(", r"\(").replace(")", r"\)") + ")"

    count = len(pages)
    font = 3 + 2 * count
    info = font + 1
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(count))
    bodies: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Count {count} /Kids [{kids}] >>".encode(),
    ]
    for i, lines in enumerate(pages):
        ops = ["BT", "/F1 11 Tf", "14 TL", "60 750 Td"] + [f"{literal(t)} Tj T*" for t in lines] + ["ET"]
        stream = "\n".join(ops).encode("latin-1")
        bodies.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            f"/Resources << /Font << /F1 {font} 0 R >> >> /Contents {4 + 2 * i} 0 R >>".encode()
        )
        bodies.append(f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream")
    bodies.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    bodies.append(f"<< /Title {literal(title)} >>".encode("latin-1"))
    out = bytearray(b"%PDF-1.5\n%\xb5\xb5\xb5\xb5\n")
    starts = []
    for number, body in enumerate(bodies, start=1):
        starts.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    table = len(out)
    out += f"xref\n0 {len(bodies) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{s:010d} 00000 n \n".encode() for s in starts)
    trailer = f"<< /Size {len(bodies) + 1} /Root 1 0 R /Info {info} 0 R >>"
    out += f"trailer\n{trailer}\nstartxref\n{table}\n%%EOF\n".encode()
    return bytes(out)


def write_docx(path: Path) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = "Quarterly memo"
    document.add_heading("Budget", level=1)
    document.add_paragraph(filler(300))
    document.add_heading("Travel", level=2)
    document.add_paragraph("Flights to the narwhal research station are booked for March.")
    document.add_paragraph(filler(250))
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Item"
    table.cell(0, 1).text = "Cost"
    table.cell(1, 0).text = "Sledge rental"
    table.cell(1, 1).text = "420"
    document.add_heading("Staff", level=1)
    document.add_paragraph(filler(300))
    document.save(str(path))


GUIDE_MD = """# Field guide

{intro}

## Install

{install}

### Linux

On Linux the zebrafish package must be installed before anything else.
{linux}

## Usage

{usage}
"""

HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>Harbour handbook</title>
<style>.secretstyle {{ color: red }}</style>
<script>var secretscript = "do not index";</script></head>
<body>
<nav><a href="/">navword home</a></nav>
<main>
<h1>Handbook<a class="headerlink" href="#h">¶</a></h1>
<p>{intro}</p>
<h2>Ferries</h2>
<p>The pelican ferry leaves the harbour at noon.</p>
<p>{more}</p>
<table><tr><th>Day</th><th>Time</th></tr><tr><td>Monday</td><td>12:00</td></tr></table>
</main>
<footer>footerword copyright</footer>
</body></html>
"""


@dataclass
class Corpus:
    root: Path
    outside: Path
    """A folder next to the library folder, holding secret.md (must never be read)."""


def build(base: Path) -> Corpus:
    """The issue's corpus: md, txt, html, PDF, DOCX, a corrupt PDF, an empty file, binary data
    named .txt, Latin-1 text, symlink loops, a FIFO, a link pointing out, a huge sparse file,
    a hidden file and an unsupported type."""
    root = base / "library"
    outside = base / "outside"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.md").write_text("# Secret\n\nThe wolverine password is hunter2.\n", encoding="utf-8")

    guide = GUIDE_MD.format(intro=filler(400), install=filler(400), linux=filler(200), usage=filler(400))
    (root / "guide.md").write_text(guide, encoding="utf-8")
    lines = [f"Line {n}: {filler(60)}" for n in range(1, 81)]
    lines[56] = "Line 57: the quokka census ended in a tie."
    (root / "notes.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "sub" / "page.html").write_text(
        HTML.format(intro=filler(500), more=filler(300)), encoding="utf-8"
    )
    pages = [
        ["Annual report", filler(80), "Overview of the year."],
        ["Wildlife", "The axolotl survey counted 42 animals.", filler(70)],
        ["Finances", "Costs rose by four percent.", filler(60)],
    ]
    (root / "report.pdf").write_bytes(pdf_bytes(pages, title="Annual report 2024"))
    write_docx(root / "memo.docx")
    (root / "corrupt.pdf").write_bytes(
        b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R\nthis is not a pdf"
    )
    (root / "empty.txt").write_bytes(b"")
    (root / "binary.txt").write_bytes(bytes(range(256)) * 16)
    (root / "latin1.txt").write_bytes(
        "Crème brûlée à la façon de grand-mère: a dessert recipe.\n".encode("latin-1")
    )
    os.symlink("selfloop", root / "selfloop")
    os.symlink("..", root / "sub" / "up")
    os.symlink(outside / "secret.md", root / "escape.md")
    os.mkfifo(root / "pipe.txt")
    with open(root / "huge.txt", "wb") as handle:
        handle.truncate(17 * 1024 * 1024)  # sparse: costs no disk
    (root / ".env").write_text("TOKEN=abc\n", encoding="utf-8")
    (root / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    locked = root / "locked.txt"
    locked.write_text("Nobody may read this file.\n", encoding="utf-8")
    locked.chmod(0)
    return Corpus(root, outside)


def deny_reading(monkeypatch: object, name: str) -> None:
    """Make opening any file called ``name`` fail with EACCES, as for a file the user may not read.

    Tests run as root here, and root reads a chmod 000 file anyway, so the permission failure is
    simulated at ``os.open`` (the one call the library reads files through); the file is also
    chmod 000, so a run as an ordinary user fails the same way for real.
    """
    import errno

    real_open = os.open

    def guarded(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if Path(str(path)).name == name:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", guarded)  # type: ignore[attr-defined]
