"""``deepresearch bench library --qa``: recall@k and MRR of questions with known answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deepresearch_local.bench.library_qa import first_gold_rank, load_questions, score
from deepresearch_local.cli.main import main
from deepresearch_local.errors import UsageError
from deepresearch_local.paths import get_paths

TOPICS = {
    "kiln.md": "# Firing pottery\n\nA kiln gives heat slowly up to 1200 degrees; glaze melts into glass.\n",
    "sourdough.md": "# Sourdough\n\nFeed the starter with flour and water; let the dough rise overnight.\n",
    "tides.md": "# Tides\n\nThe moon's pull raises the sea twice a day; spring tides follow a full moon.\n",
    "bees.md": "# Beekeeping\n\nA hive needs a queen; workers build wax comb and store honey.\n",
    "sails.md": "# Sailing\n\nTo tack, turn the bow through the wind and trim the jib on the new side.\n",
}


@pytest.fixture
def qa(tmp_path: Path) -> tuple[Path, Path]:
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    for name, text in TOPICS.items():
        (docs / "sub" / name).write_text(text, encoding="utf-8")
    questions = [
        {"question": "kiln glaze heat", "gold": ["sub/kiln.md"], "corpus": "crafts", "kind": "keyword"},
        {"question": "starter flour dough", "gold": ["sourdough.md"], "corpus": "crafts", "kind": "keyword"},
        {"question": "honey comb queen", "gold": ["bees.md"], "corpus": "nature", "kind": "keyword"},
        # no word in common with its page: BM25 cannot find it
        {"question": "why is the ocean higher at some hours", "gold": ["tides.md"], "corpus": "nature",
         "kind": "paraphrase"},
    ]  # fmt: skip
    path = tmp_path / "qa.jsonl"
    path.write_text("\n".join(json.dumps(q) for q in questions) + "\n", encoding="utf-8")
    return path, docs


def test_bench_qa_reports_recall_and_mrr_per_group(
    qa: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path, docs = qa
    assert main(["bench", "library", "--qa", str(path), "--docs", f"crafts={docs}", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    (bm25,) = result["modes"]  # no embedding model given: keywords only
    assert bm25["mode"] == "bm25" and bm25["questions"] == 4
    assert bm25["recall@5"] == 0.75 and bm25["mrr"] == 0.75
    assert bm25["groups"]["kind:keyword"]["recall@5"] == 1.0
    assert bm25["groups"]["kind:paraphrase"]["recall@5"] == 0.0
    assert bm25["groups"]["corpus:nature"]["questions"] == 2
    assert [m["gold"] for m in bm25["misses"]] == [["tides.md"]]
    assert result["folders"]["crafts"]["indexed"] == 5
    assert not get_paths().library_db.exists()  # the user's library is never touched


def test_bench_qa_can_keep_to_one_corpus(qa: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    path, docs = qa
    args = ["bench", "library", "--qa", str(path), "--docs", f"crafts={docs}", "--json"]
    assert main([*args, "--corpus", "nature"]) == 0
    result = json.loads(capsys.readouterr().out)
    (bm25,) = result["modes"]
    assert result["corpus"] == "nature" and bm25["questions"] == 2 and bm25["recall@5"] == 0.5
    assert set(bm25["groups"]) == {"corpus:nature", "kind:keyword", "kind:paraphrase"}
    assert main([*args, "--corpus", "music"]) == UsageError.exit_code
    assert "has no questions about the corpus 'music'" in capsys.readouterr().err


def test_bench_qa_hybrid_mode_with_the_real_small_embedder(
    qa: tuple[Path, Path], minilm_gguf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, docs = qa
    args = ["bench", "library", "--qa", str(path), "--docs", f"crafts={docs}", "--json", "--k", "1"]
    assert main([*args, "--embedder", str(minilm_gguf)]) == 0
    result = json.loads(capsys.readouterr().out)
    bm25, hybrid = result["modes"]  # each searched on the index opened afresh
    assert (bm25["mode"], hybrid["mode"]) == ("bm25", "hybrid")
    assert bm25["groups"]["kind:paraphrase"]["recall@1"] == 0.0  # no word in common with its page
    assert hybrid["recall@1"] == 1.0  # found by meaning, the keyword questions still first
    assert result["embedding"]["chunks_embedded"] == 5


def test_bench_qa_text_output_and_kept_index(
    qa: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, docs = qa
    db = tmp_path / "kept.sqlite3"
    args = [
        "bench",
        "library",
        "--qa",
        str(path),
        "--docs",
        f"crafts={docs}",
        "--index-db",
        str(db),
        "--k",
        "1",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["mode", "group", "n", "recall@1", "MRR", "p95", "ms"]
    assert out.splitlines()[1].split()[:5] == ["bm25", "all", "4", "0.750", "0.750"]
    assert db.exists()
    assert main(args) == 0  # the kept index is reused: nothing is read again
    assert "crafts 5 files" in capsys.readouterr().out


GLAZE = """<html><head><title>Glazes</title></head><body><h1>Glazes</h1>
<p>A glaze is a thin coat of powdered glass and clay. Fired in the kiln above 1000 degrees it melts
into a smooth, waterproof skin; ash, feldspar and metal oxides give it colour and texture, and a
crawling glaze pulls back from dusty spots on the pot.</p></body></html>"""


def test_gold_pages_left_out_as_copies_or_redirects_count_through_the_file_standing_for_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "manual"
    (docs / "mirror").mkdir(parents=True)
    (docs / "glazes.html").write_text(GLAZE, encoding="utf-8")
    (docs / "mirror" / "glazes.html").write_text(GLAZE, encoding="utf-8")  # a copy: left out
    stub = '<html><head><meta http-equiv="refresh" content="0; url=glazes.html#top"></head><body></body>'
    (docs / "Glazing.html").write_text(stub, encoding="utf-8")  # a redirect: left out
    for name, text in TOPICS.items():
        (docs / name).write_text(text, encoding="utf-8")
    questions = [
        {"question": "glaze melts waterproof", "gold": ["mirror/glazes.html"]},
        {"question": "glaze melts waterproof", "gold": ["Glazing.html"]},
        {"question": "glaze melts waterproof", "gold": ["tides.md"]},  # a wrong gold stays wrong
    ]
    qa = tmp_path / "qa.jsonl"
    qa.write_text("\n".join(json.dumps(q) for q in questions) + "\n", encoding="utf-8")
    assert main(["bench", "library", "--qa", str(qa), "--docs", f"pots={docs}", "--json", "--k", "1"]) == 0
    (bm25,) = json.loads(capsys.readouterr().out)["modes"]
    assert bm25["recall@1"] == round(2 / 3, 3)
    assert bm25["gold_stand_ins"] == 2
    (miss,) = bm25["misses"]
    assert miss["gold"] == ["tides.md"]


def test_questions_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "x", "gold": ["a.md"]}\n{"question": "no gold"}\n', encoding="utf-8")
    with pytest.raises(UsageError, match=r"bad.jsonl:2: .*'question' and 'gold'"):
        load_questions(bad)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n# only a comment\n", encoding="utf-8")
    with pytest.raises(UsageError, match="holds no questions"):
        load_questions(empty)

    assert main(["bench", "library", "--qa", str(bad), "--docs", f"x={tmp_path}"]) == UsageError.exit_code
    assert main(["bench", "library", "--qa", str(bad)]) == UsageError.exit_code  # no --docs


def test_gold_suffixes_match_whole_path_parts() -> None:
    paths = ["/d/library/functools.html", "/d/library/sqlite3.html"]
    assert first_gold_rank(paths, ["library/sqlite3.html"]) == 2
    assert first_gold_rank(paths, ["tools.html"]) is None  # a suffix matches whole path parts
    assert first_gold_rank(paths, ["functools.html", "sqlite3.html"]) == 1
    assert score([1, None, 3, 7], k=5) == {
        "questions": 4,
        "recall@5": 0.5,
        "mrr": round((1 + 1 / 3 + 1 / 7) / 4, 3),
    }


def test_the_readme_table_of_retrieval_figures(
    qa: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from deepresearch_local.bench.summary import _library_qa

    path, docs = qa
    assert main(["bench", "library", "--qa", str(path), "--docs", f"crafts={docs}", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    lines = _library_qa({"library-qa-dev": result, "context": {}})
    assert lines[0] == "### Library retrieval: the right page in the top 5"
    row = next(line for line in lines if line.startswith("| `dev`"))
    assert row.split(" | ")[1:7] == ["bm25", "4", "0.75", "0.00", "1.00", "0.75"]
    assert "- `dev`: the questions of `qa.jsonl` over crafts (5 files, 5 chunks)." in lines
    assert _library_qa({"context": {}}) == []  # no question sets: no section


def test_the_committed_question_sets_are_well_formed() -> None:
    data = Path(__file__).parents[2] / "deepresearch_local" / "bench" / "data" / "library_qa"
    sets = {path.name: load_questions(path) for path in sorted(data.glob("*.jsonl"))}
    assert {
        "python_sqlite_dev.jsonl",
        "heldout.jsonl",
        "heldout2.jsonl",
        "heldout3.jsonl",
        "heldout4.jsonl",
        "heldout5.jsonl",
        "heldout6.jsonl",
        "heldout7.jsonl",
        "heldout8.jsonl",
        "heldout9.jsonl",
        "heldout10.jsonl",
    } <= set(sets)
    corpora = (
        *("python", "sqlite", "git", "postgres", "commons-lang", "sdl", "glib", "cmake", "mkdocs"),
        *("apache", "django", "nodejs", "flask", "jinja", "sqlalchemy", "curl"),
        *("pytest", "requests", "click", "bash", "docker", "vim", "sphinx", "zsh", "rust-book", "rust-std"),
        *("octave", "latex"),
    )
    for name, questions in sets.items():
        for q in questions:
            assert q.kind in ("paraphrase", "keyword"), (name, q.question)
            assert q.corpus in corpora, (name, q.question)
            documents = (
                ".html",
                ".txt",
                ".md",
                ".md.gz",
                ".c",
                ".pdf",
            )  # notes and code (heldout6), PDFs (10)
            pages = all(g.endswith(documents) and not g.startswith("/") for g in q.gold)
            assert pages, (name, q.gold)
        assert len({q.question for q in questions}) == len(questions), f"{name} repeats a question"
    assert len(sets["heldout2.jsonl"]) == 41
    assert {q.corpus for q in sets["heldout3.jsonl"]} == {"commons-lang", "sdl", "glib"}
    assert {q.corpus for q in sets["heldout4.jsonl"]} == {"cmake", "mkdocs"}
    assert len(sets["heldout5.jsonl"]) == 40
    assert not any(g.endswith("all.html") for q in sets["heldout5.jsonl"] for g in q.gold)
    assert {q.corpus for q in sets["heldout6.jsonl"]} == {"flask", "jinja", "sqlalchemy", "curl"}
    assert {q.corpus for q in sets["heldout7.jsonl"]} == {"pytest", "requests", "click", "bash"}
    assert {q.corpus for q in sets["heldout8.jsonl"]} == {"docker", "vim", "sphinx"}
    assert {q.corpus for q in sets["heldout9.jsonl"]} == {"zsh", "rust-book", "rust-std"}
    assert len(sets["heldout9.jsonl"]) == 48
    assert {q.corpus for q in sets["heldout10.jsonl"]} == {"octave", "latex"}
    assert not any(g.endswith("octave.pdf") for q in sets["heldout10.jsonl"] for g in q.gold)
