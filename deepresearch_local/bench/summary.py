"""Turn the JSON of ``deepresearch bench all`` into the Markdown benchmark section of the README."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from deepresearch_local.errors import UsageError

BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"
MiB = 1 << 20


def _row(cells: list[Any]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *(_row(r) for r in rows), ""]


def _model(path: str) -> str:
    return f"`{Path(path).name}`"


def _engine(results: dict[str, dict[str, Any]]) -> list[str]:
    rows = []
    for r in (v for k, v in sorted(results.items()) if k.startswith("engine-")):
        rows.append(
            [
                _model(r["model"]),
                r["backend"],
                f"{r['raw']['prefill_tps']:.0f}",
                f"{r['ours']['prefill_tps']:.0f}",
                f"{r['raw']['decode_tps']:.1f}",
                f"{r['ours']['decode_tps']:.1f}",
                r["decode_ratio"],
            ]
        )
    if not rows:
        return []
    first = next(v for k, v in sorted(results.items()) if k.startswith("engine-"))
    return [
        "### Engine overhead",
        "",
        f"Our engine against the raw library on one loaded model, alternating, {first['rounds']} rounds "
        f"of a {first['raw']['prompt_tokens']}-token prompt and {first['raw']['completion_tokens']} "
        "generated tokens (medians, tokens/s).",
        "",
        *_table(
            [
                "model",
                "backend",
                "prefill raw",
                "prefill ours",
                "decode raw",
                "decode ours",
                "decode ours/raw",
            ],
            rows,
        ),
    ]


def _context(r: dict[str, Any], plot: str | None) -> list[str]:
    rf, ff = r["react"], r["fold"]
    every = r.get("fold_every_round")  # absent from figures taken before fold could keep rounds
    keep = ff.get("fold_keep_fraction")
    columns = [rf, ff] + ([every] if every else [])
    header = ["", "react", f"fold (keep {keep:g})" if keep else "fold"]
    header += ["fold every round"] if every else []

    def row(label: str, key: str, fmt: str = "{:,}") -> list[str]:
        return [label, *("-" if c.get(key) is None else fmt.format(c[key]) for c in columns)]

    kv = r["kv"]
    lines = [
        "### Context per step: fold vs react",
        "",
        f"A scripted {r['steps']}-turn research with page-sized observations through the real agent "
        f"code, prompt budget {r['budget']:,} tokens, counted with the {r['tokenizer']} tokenizer. "
        f"KV cache estimated for {kv['source']} ({kv['kv_type']}).",
        "",
        *_table(
            header,
            [
                row("model steps", "model_steps"),
                row("model calls", "llm_calls"),
                row("max prompt tokens", "max_prompt_tokens"),
                ["KV cache at peak", *(f"{c['kv_bytes_at_peak'] / MiB:,.0f} MiB" for c in columns)],
                row("prompt tokens prefilled", "prefilled_tokens"),
                row("prefilled per model step", "prefilled_per_step"),
                row("prompt tokens reused from cache", "reused_tokens"),
                ["termination", *(c["termination"] for c in columns)],
            ],
        ),
    ]
    if every and keep:
        lines += [
            f"Fold keeps earlier rounds in its prompt while it stays under {keep:.0%} of the budget "
            "(the KV cache serves them, as in react) and folds to the question, its report and the "
            f"latest result when it would cross that: it prefills {ff['prefill_vs_react']:.2f}× "
            f"react's tokens ({ff['prefill_per_step_vs_react']:.2f}× per model step), where folding "
            f"every round prefills {every['prefill_vs_react']:.2f}× "
            f"({every['prefill_per_step_vs_react']:.2f}× per step). Its prompt peaks at "
            f"{ff['max_prompt_tokens']:,} tokens, folding every round at {every['max_prompt_tokens']:,}, "
            f"react at {rf['max_prompt_tokens']:,} before each summary.",
            "",
        ]
    else:
        lines += [
            f"Fold keeps the prompt within {ff['max_prompt_tokens']:,} tokens where react climbs to "
            f"{rf['max_prompt_tokens']:,} before each summary, so the KV cache it needs is "
            f"{ff['kv_bytes_at_peak'] / max(rf['kv_bytes_at_peak'], 1):.0%} of react's. The price is "
            f"compute: each fold round rewrites its prompt, so it prefills "
            f"{ff['prefilled_tokens'] / max(rf['prefilled_tokens'], 1):.1f}× the tokens react does, which "
            "reuses its growing history from the cache.",
            "",
        ]
    if rf["model_steps"] < ff["model_steps"] and "prefill_same_steps_vs_react" in ff:
        lines += [
            f"React ran out of context after {rf['model_steps']} turns and was made to answer, so the "
            f"totals above pay for more research in fold; over those same {rf['model_steps']} turns "
            f"fold prefilled {ff['prefill_same_steps_vs_react']:.2f}× react's tokens.",
            "",
        ]
    if plot:
        lines += [f"![Prompt tokens per model call, fold vs react]({plot})", ""]
    return lines


def _library(r: dict[str, Any]) -> list[str]:
    q, fq = r["query"], r["fused_query"]
    lines = [
        "### Local library",
        "",
        *_table(
            ["corpus", "chunks", "index", "unchanged re-index", "query p50 / p95", "3-query p50 / p95"],
            [
                [
                    r["corpus"],
                    f"{r['chunks']:,}",
                    f"{r['index_seconds']:.1f} s"
                    + (f" ({r['prepare_seconds']:.1f} s common words)" if "prepare_seconds" in r else ""),
                    f"{r['reindex_unchanged_seconds']:.2f} s",
                    f"{q['p50_ms']:.1f} / {q['p95_ms']:.1f} ms",
                    f"{fq['p50_ms']:.1f} / {fq['p95_ms']:.1f} ms",
                ]
            ],
        ),
    ]
    notes: list[str] = []
    if r.get("measured_at"):
        load = (r.get("load_average") or {}).get("before")
        notes.append(
            f"Measured {r['measured_at']}"
            + (f", the 1-minute load average {load} as it started." if load else ".")
        )
    plain = r.get("plain_fts5")
    if plain:
        notes.append(
            f"For scale on this machine: a plain indexer (`bench/plain_fts5.py`: lxml's page text in "
            f"fixed 1,000-character chunks, one FTS5 table, one process) takes "
            f"{plain['index_seconds']:.1f} s on the same folder, and its queries "
            f"{plain['query']['p50_ms']:.1f} / {plain['query']['p95_ms']:.1f} ms."
        )
    if "load_seconds" in r:
        notes.append(
            f"The first search of a session first loads each chunk's file and length "
            f"({1000 * r['load_seconds']:.0f} ms here, left out of the query times)."
        )
    notes.append(
        "The index time includes reading the postings of the words held by 1,000 chunks or more "
        'once ("common words"): they are kept in the database, so a query\'s first sight of one, '
        "in any process, reads one row instead of every chunk holding it; later index runs bring "
        "them up to date from a log of the chunks that changed. Rarer words are read from FTS5's "
        "postings and scored in numpy (the same numbers as FTS5's `bm25()`, bit for bit, at about "
        "a third of its cost); a word's scores are kept in memory until the index changes, and "
        "the 3-query searches, made of the single queries' own words, find them kept."
    )
    if r.get("hybrid_query"):
        h, hf = r["hybrid_query"], r["hybrid_fused_query"]
        notes.append(
            f"With a {r['dense_dimensions']}-dimension vector for every chunk (`bench library --synthetic "
            f"{r['chunks']} --dense {r['dense_dimensions']}`, the query's embedding left out), hybrid "
            f"search takes {h['p50_ms']:.1f} / {h['p95_ms']:.1f} ms for one query and "
            f"{hf['p50_ms']:.1f} / {hf['p95_ms']:.1f} ms for three fused (one pass over the "
            f"{r['dense_dimensions']}-dimension vectors with every query's vector; each "
            "query's vector pulled toward the keywords' first files is ranked among that query's "
            "2,000 nearest chunks)."
        )
        dense = r.get("dense_pass")
        if dense:
            kind = dense.get("dtype", "float32")
            how = " (SimSIMD's kernel on every core)" if kind == "float16" else ""
            notes.append(
                f"A bare {kind} product of one query over the {dense['mib']:.0f} MiB of vectors{how}, "
                f"the floor of exact search here, takes {dense['p50_ms']:.1f} ms of that."
            )
    return [*lines, " ".join(notes), ""]


def _natural(name: str) -> str:
    """A name as it sorts to a reader: its numbers padded, so heldout2 comes before heldout10."""
    return re.sub(r"\d+", lambda number: number.group().zfill(8), name)


def _library_qa(results: dict[str, dict[str, Any]]) -> list[str]:
    """Retrieval quality: one row per question set and mode, from ``bench library --qa`` files."""
    named = sorted((_natural(name), name, r) for name, r in results.items() if name.startswith("library-qa"))
    sets = {name: r for _, name, r in named}  # heldout2 before heldout10
    if not sets:
        return []
    rows: list[list[Any]] = []
    notes: list[str] = []
    for name, r in sets.items():
        k = r["k"]
        folders = ", ".join(
            f"{n} ({f['indexed']:,} files, {f['chunks']:,} chunks)" for n, f in r["folders"].items()
        )
        label = name.removeprefix("library-qa-") or Path(r["questions"]).stem
        which = f"the {r['corpus']} questions" if r.get("corpus") else "the questions"
        notes.append(f"- `{label}`: {which} of `{Path(r['questions']).name}` over {folders}.")
        for m in r["modes"]:
            groups = m["groups"]
            para = groups.get("kind:paraphrase", {}).get(f"recall@{k}")
            keyword = groups.get("kind:keyword", {}).get(f"recall@{k}")
            model = r["embedding"]["model"] if m["mode"] == "hybrid" and "embedding" in r else ""
            rows.append(
                [
                    f"`{label}`",
                    m["mode"] + (f" ({model})" if model else ""),
                    m["questions"],
                    f"{m[f'recall@{k}']:.2f}",
                    "-" if para is None else f"{para:.2f}",
                    "-" if keyword is None else f"{keyword:.2f}",
                    f"{m['mrr']:.2f}",
                    f"{m['query']['p95_ms']:.0f} ms",
                ]
            )
    first = next(iter(sets.values()))
    k = first["k"]
    lines = [
        "### Library retrieval: the right page in the top 5",
        "",
        f"Questions with known answer pages (`bench library --qa`), all the folders listed under "
        f"the table searched at once; a question is found when one of its pages is among the first "
        f"{k} files. Paraphrased questions describe the need without the page's own words; keyword "
        "questions carry them.",
        "",
        *_table(
            ["questions", "mode", "n", f"recall@{k}", "paraphrased", "keyword", "MRR", "query p95"],
            rows,
        ),
        *notes,
    ]
    loads = [m["load_ms"] for r in sets.values() for m in r["modes"] if "load_ms" in m]
    if loads:
        lines += [
            "",
            f"Query times are each question's first search. Before them, each run loads what every search "
            f"reads (each passage's file, folder and length, the kept common words): {min(loads):.0f}-"
            f"{max(loads):.0f} ms, once a session (in the app, inside its first search), left out of "
            "the query times.",
        ]
    emb = [r["embedding"] for r in sets.values() if "embedding" in r]
    if emb:
        e = emb[0]
        lines += [
            "",
            f"Embedding with {e['model']}: {e['chunks_per_s']} chunks/s on this machine; one query "
            f"embedding {e['query_embed_ms']} ms (left out of the query times).",
        ]
    return [*lines, ""]


def _memory(results: dict[str, dict[str, Any]]) -> list[str]:
    rows = []
    for r in (v for k, v in sorted(results.items()) if k.startswith("memory-")):
        for m in r["results"]:
            rows.append(
                [
                    _model(r["model"]),
                    f"{m['context_tokens']:,}",
                    f"{m['predicted_peak_rss_bytes'] / MiB:,.0f} MiB",
                    f"{m['measured_peak_rss_bytes'] / MiB:,.0f} MiB",
                    f"{m['error_percent']:+.1f}%",
                ]
            )
    if not rows:
        return []
    return [
        "### Memory: the fit calculator against the measured peak",
        "",
        "Each context loads the model in a fresh process (llama.cpp, CPU, f16 KV cache), prefills a "
        "full batch and generates; the peak resident memory is the process's own high-water mark.",
        "",
        *_table(["model", "context", "predicted", "measured", "error"], rows),
    ]


def _startup(r: dict[str, Any]) -> list[str]:
    tui = r["tui_first_paint"]
    paint = f"{tui['median_seconds']:.2f} s" if tui.get("available") else "not measured"
    return [
        "### Start-up",
        "",
        *_table(
            ["`deepresearch --help`", "TUI first paint", "bare Python start"],
            [[f"{r['help']['median_seconds']:.2f} s", paint, f"{r['python_start']['median_seconds']:.2f} s"]],
        ),
    ]


def _research(results: dict[str, dict[str, Any]]) -> list[str]:
    rows = []
    for r in (v for k, v in sorted(results.items()) if k.startswith("research-")):
        for mode, t in r["totals"].items():
            n = t["questions"]
            rows.append(
                [
                    _model(r["model"]),
                    mode,
                    f"{t['answer_found']}/{n}",
                    f"{t['citations_ok']}/{n}",
                    f"{t['mean_steps']:.1f}",
                    f"{t['mean_wall_seconds']:.0f} s",
                    f"{t['max_prompt_tokens']:,}",
                ]
            )
    if not rows:
        return []
    first = next(v for k, v in sorted(results.items()) if k.startswith("research-"))
    questions = f"`{Path(first['questions_file']).name}`"
    if Path(first["questions_file"]).parent.name == "sample":
        questions = "the bundled sample questions (`--sample`: three short articles, four questions)"
    where = (
        "offline over " + ", ".join(f"`{Path(d).name}`" for d in first["docs"])
        if first["offline"]
        else "on the web"
    )
    if Path(first["questions_file"]).parent.name == "sample" and first["offline"]:
        where = "offline"
    return [
        "### Research runs",
        "",
        f"`ask` over {questions}, {where}, at most {first['max_steps']} model "
        f"calls per question, {first['context_tokens']:,}-token context, sampled at temperature "
        f"{first.get('temperature', 0.6)} (so the counts vary from run to run). Small test models are "
        "not research models: these rows measure the pipeline, not answer quality.",
        "",
        *_table(
            [
                "model",
                "mode",
                "answer found",
                "citations check out",
                "mean steps",
                "mean time",
                "max prompt tokens",
            ],
            rows,
        ),
    ]


def render(results: dict[str, dict[str, Any]], plot: str | None = None) -> str:
    """The benchmark section (between the README markers) for ``results`` keyed by file name."""
    from deepresearch_local.bench.machine import describe

    if not results:
        raise UsageError("No benchmark results to summarise.")
    any_result = next(iter(results.values()))
    machine = any_result["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in sorted(machine.get("versions", {}).items()) if v)
    lines = [
        BEGIN,
        "<!-- generated by `deepresearch bench all`; edit the code in deepresearch_local/bench, not this -->",
        "",
        f"Measured on {describe(machine)}; {versions}.",
        "Every figure below comes from the JSON a `deepresearch bench` command prints; to run them all:",
        "",
        "```bash",
        "deepresearch bench all --model MODEL.gguf --sample --out bench-results --readme README.md",
        "```",
        "",
    ]
    lines += _engine(results)
    if "context" in results:
        lines += _context(results["context"], plot)
    if "library" in results:
        lines += _library(results["library"])
    lines += _library_qa(results)
    lines += _memory(results)
    if "startup" in results:
        lines += _startup(results["startup"])
    lines += _research(results)
    lines.append(END)
    return "\n".join(lines) + "\n"


def splice(readme: str, section: str) -> str:
    """``readme`` with the text between the benchmark markers replaced by ``section``."""
    start, end = readme.find(BEGIN), readme.find(END)
    if start < 0 or end < start:
        raise UsageError(
            f"The README has no benchmark markers: add {BEGIN} and {END} where the section goes."
        )
    return readme[:start] + section.rstrip("\n") + readme[end + len(END) :]
