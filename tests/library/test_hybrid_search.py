"""Hybrid search with the real small embedder (all-MiniLM-L6-v2 in llama.cpp) on real SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepresearch_local.config import load_settings, save_settings
from deepresearch_local.library import Library
from deepresearch_local.library.embedding import Embedder

PAGES = {
    "caching.md": (
        "# Saving work between calls\n\n"
        "Wrap a routine with a memoizing decorator: when it is invoked again with identical "
        "arguments, the stored return value is handed back instead of being computed anew. "
        "The store keeps the most recent entries up to a size limit.\n"
    ),
    "permissions.md": (
        "# Access rights\n\n"
        "Each file carries read, write and execute bits for its owner, its group and everybody "
        "else; chmod changes them and umask sets the defaults for new files.\n"
    ),
    "tides.md": ("# Tides\n\nThe moon's pull raises the sea twice a day; spring tides follow a full moon.\n"),
    "kiln.md": ("# Kilns\n\nA kiln gives heat slowly up to 1200 degrees; glaze melts into glass.\n"),
}
QUESTION = "how can I make a function remember results it already figured out so it is quick the next time"


@pytest.fixture
def docs(tmp_path: Path, library: Library) -> Library:
    root = tmp_path / "docs"
    root.mkdir()
    for name, text in PAGES.items():
        (root / name).write_text(text, encoding="utf-8")
    library.add(root, "docs")
    return library


def test_a_paraphrase_is_found_by_meaning_where_keywords_fail(docs: Library, minilm: Embedder) -> None:
    # no word (nor word stem) in common with the page: keywords alone cannot find it at all
    assert "caching.md" not in [Path(h.path).name for h in docs.search(QUESTION, k=4, mode="bm25")]

    assert docs.embed_missing(minilm) == len(PAGES)
    hybrid = docs.search(QUESTION, k=2, mode="hybrid", embedder=minilm)
    assert Path(hybrid[0].path).name == "caching.md"
    assert "memoizing" in hybrid[0].snippet
    # keyword questions still work the same in hybrid mode
    assert Path(docs.search("umask chmod", k=1, embedder=minilm)[0].path).name == "permissions.md"


def test_the_configured_embedder_serves_the_agents_local_search(
    docs: Library, minilm_gguf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from deepresearch_local.cli.main import main
    from deepresearch_local.tools.base import ToolContext
    from deepresearch_local.tools.local import LocalSearchTool

    settings = load_settings()
    settings.embedding_model = str(minilm_gguf)
    save_settings(settings)
    # `docs embed` embeds what is missing, with progress on stderr, and says how many it holds
    assert main(["docs", "embed"]) == 0
    captured = capsys.readouterr()
    assert f"{len(PAGES)} passages can be found by meaning" in captured.out
    assert f"{len(PAGES)}/{len(PAGES)} chunks" in captured.err
    assert main(["docs", "embed"]) == 0 and "(0 new)" in capsys.readouterr().out

    tool = LocalSearchTool()
    result = tool.call({"query": [QUESTION]}, ToolContext())
    first = result.text.split("## Library Results\n", 1)[1].splitlines()[0]
    assert first.startswith("1. [Saving work between calls](") and "caching.md" in first
    assert result.evidence[0].source.endswith("caching.md")


def test_docs_embed_without_a_model_says_what_to_do(
    docs: Library, capsys: pytest.CaptureFixture[str]
) -> None:
    from deepresearch_local.cli.main import main

    assert main(["docs", "embed"]) == 2
    assert "No embedding model yet" in capsys.readouterr().err
    settings = load_settings()
    settings.embedding_model = "/nowhere/model.gguf"
    save_settings(settings)
    assert main(["docs", "search", "kiln"]) != 0  # a set but missing model is an error with the fix
    err = capsys.readouterr().err
    assert "/nowhere/model.gguf" in err


def test_models_list_shows_the_embedding_models(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from deepresearch_local.cli.main import main
    from deepresearch_local.weights.catalog import load_embedding_catalog

    assert main(["models", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["embedding_models"]
    assert [r["id"] for r in listed] == [v.id for v in load_embedding_catalog()]
    assert all(r["status"] == "-" and not r["default"] for r in listed)  # nothing pulled in this home
    assert main(["models", "list"]) == 0
    assert "Without one, library search uses keywords alone" in capsys.readouterr().out
