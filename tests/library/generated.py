"""A documentation folder as generators leave it: a rendered page, its source copy, an exact
copy, a search index, a minified bundle with its source map, a lock file, and one other page.

The prose is deterministic pseudo-English (seeded), so shingle similarities are those of real
text, not of a repeated filler."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

_WORDS = (
    "river bridge town market harbour ferry island lantern orchard valley meadow granite quarry "
    "mill weaver baker tailor cooper smith mason carpenter shepherd fisher merchant sailor pilot "
    "storm tide current channel estuary cliff beacon signal cargo barrel timber copper wool grain "
    "salt spice ledger charter guild council mayor warden clerk courier season harvest frost thaw "
    "spring autumn winter summer morning evening lamp candle hearth kettle window door stair roof "
    "garden hedge path lane road cart wagon horse mule ox plough field furrow seed sprout blossom "
    "fruit cider bread cheese butter honey wax rope sail mast anchor keel rudder oar net hook line "
    "north south east west upper lower old new quiet busy narrow broad steep gentle bright dark "
    "carries keeps opens closes mends builds sells buys counts records measures weighs crosses "
    "follows guards watches reaches leaves returns gathers stores trades repairs paints teaches"
)
VOCABULARY = _WORDS.split()


def prose(seed: int, sentences: int) -> list[str]:
    """Sentences of 8 to 16 words, the same for the same seed."""
    rng = random.Random(seed)
    out = []
    for _ in range(sentences):
        words = [rng.choice(VOCABULARY) for _ in range(rng.randint(8, 16))]
        out.append(" ".join(words).capitalize() + ".")
    return out


def html_page(title: str, paragraphs: list[list[str]], marker: str) -> str:
    body = "".join(
        f"<h2>Part {i + 1}<a class='headerlink' href='#p{i}'>¶</a></h2><p>{' '.join(p)}</p>"
        for i, p in enumerate(paragraphs)
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>"
        "<script src='searchtools.js'></script></head><body>"
        "<nav role='navigation'><a href='index.html'>Index</a></nav>"
        f"<div role='main'><h1>{title}</h1><p>{marker}</p>{body}</div>"
        "<footer>Built with a generator.</footer></body></html>"
    )


def rst_source(title: str, paragraphs: list[list[str]], marker: str) -> str:
    """The same text as reStructuredText, wrapped at another width, with some inline markup."""
    out = [".. _harbour-guide:", "", ".. index:: single: harbour; guide", "", title, "=" * len(title), ""]
    out += [marker, ""]
    for i, p in enumerate(paragraphs):
        heading = f"Part {i + 1}"
        out += [heading, "-" * len(heading), ""]
        words = " ".join(p).split()
        words[3] = f"``{words[3]}``"
        words[7] = f":term:`{words[7]}`"
        words[12] = f":ref:`{words[12]} <part-{i}>`"
        words[20] = f":class:`~harbour.{words[20]}`"
        line: list[str] = []
        for word in words:
            if sum(len(w) + 1 for w in line) + len(word) > 72:
                out.append(" ".join(line))
                line = []
            line.append(word)
        out += [" ".join(line), "", f".. versionadded:: 1.{i}", ""]
    out += [".. seealso::", "", "   :ref:`ferries` and :doc:`tides`", ""]
    return "\n".join(out) + "\n"


def search_index(names: list[str]) -> str:
    rng = random.Random(3)
    terms = {w: [rng.randrange(len(names)) for _ in range(rng.randint(1, 6))] for w in VOCABULARY}
    index = {"docnames": names, "filenames": [n + ".rst" for n in names], "terms": terms, "titles": names}
    return "Search.setIndex(" + json.dumps(index) + ")"


def minified_bundle() -> str:
    rng = random.Random(5)
    parts = []
    for i in range(400):
        a, b = rng.choice("abcdefgh"), rng.choice("ijklmnop")
        parts.append(f"function {a}{i}({b}){{return {b}*{i}+{a}{i - 1 if i else 0}({b}-1)}}")
    return ";".join(parts) + ";\n//# sourceMappingURL=app.min.js.map\n"


def source_map() -> str:
    mappings = ";".join("AAAA,SAASA,EAAEC" for _ in range(200))
    return json.dumps({"version": 3, "sources": ["app.js"], "names": ["a", "b"], "mappings": mappings})


def lock_file() -> str:
    rng = random.Random(9)
    out = []
    for i in range(30):
        digest = "".join(rng.choice("0123456789abcdef") for _ in range(64))
        out += ["[[package]]", f'name = "pkg{i}"', f'version = "1.{i}.0"', f'checksum = "{digest}"', ""]
    return "\n".join(out)


@dataclass(frozen=True)
class GeneratedDocs:
    root: Path
    guide_words: list[list[str]]


def build_generated(root: Path) -> GeneratedDocs:
    """The folder; ``guide.html`` holds the marker word "tamarisk", ``notes.md`` "wolfram"."""
    paragraphs = [prose(seed, 6) for seed in range(1, 7)]
    (root / "_sources").mkdir(parents=True)
    (root / "_static").mkdir()
    (root / "copy").mkdir()
    page = html_page("Harbour guide", paragraphs, "The tamarisk grows by the quay.")
    (root / "guide.html").write_text(page, encoding="utf-8")
    (root / "copy" / "guide.html").write_text(page, encoding="utf-8")
    source = rst_source("Harbour guide", paragraphs, "The tamarisk grows by the quay.")
    (root / "_sources" / "guide.rst.txt").write_text(source, encoding="utf-8")
    (root / "searchindex.js").write_text(search_index(["guide", "notes", "index"]), encoding="utf-8")
    (root / "_static" / "app.min.js").write_text(minified_bundle(), encoding="utf-8")
    (root / "_static" / "app.min.js.map").write_text(source_map(), encoding="utf-8")
    (root / "Cargo.lock").write_text(lock_file(), encoding="utf-8")
    notes = "# Notes\n\nThe wolfram lamp is lit at dusk.\n\n" + "\n".join(prose(42, 12)) + "\n"
    (root / "notes.md").write_text(notes, encoding="utf-8")
    return GeneratedDocs(root, paragraphs)
