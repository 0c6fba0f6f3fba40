"""``deepresearch bench research``: research every question of a JSONL file and score the runs.

The file holds upstream's evaluation format, one ``{"question": ..., "answer": ...}`` per line.
Each question runs through the same agent as ``deepresearch ask`` (one loaded model for all), in
fold, react or both modes. Per question: termination, steps, wall time, largest prompt, whether
the expected answer appears in the answer (case-insensitive substring), the normalized match and,
with ``--judge``, the loaded model's verdict (``bench.judge``: both reported apart, as accuracies),
and whether every source of the report checks out (``bench.citations``). Runs, reports
and the documents' index live in a temporary folder: the user's sessions and library are untouched.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deepresearch_local.cli.output import print_json, table
from deepresearch_local.errors import UsageError

if TYPE_CHECKING:
    from deepresearch_local.agent.config import AgentConfig
    from deepresearch_local.service.request import RunRequest


def load_questions(path: Path, limit: int | None = None) -> list[dict[str, str]]:
    """The ``{question, answer}`` lines of ``path`` (blank lines skipped)."""
    try:
        lines = path.read_text("utf-8").splitlines()
    except OSError as exc:
        raise UsageError(f"Cannot read the questions file {path}: {exc.strerror or exc}") from exc
    out = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise UsageError(f"{path}, line {number}: not JSON ({exc}).") from exc
        if not isinstance(item, dict) or not isinstance(item.get("question"), str):
            raise UsageError(f'{path}, line {number}: expected {{"question": "...", "answer": "..."}}.')
        out.append({"question": item["question"], "answer": str(item.get("answer") or "")})
    if not out:
        raise UsageError(f"{path} holds no questions.")
    return out[:limit] if limit else out


def score(question: dict[str, str], events: list[Any], evidence: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures of one finished run."""
    from deepresearch_local.agent.events import ReportReady, RunFinished
    from deepresearch_local.bench.citations import check_report
    from deepresearch_local.bench.judge import match

    finished = events[-1]
    assert isinstance(finished, RunFinished)
    report = next((e.markdown for e in reversed(events) if isinstance(e, ReportReady)), None)
    checks = check_report(report, evidence) if report else []
    expected = question["answer"].strip().lower()
    return {
        "question": question["question"],
        "expected": question["answer"],
        "termination": finished.termination,
        "steps": finished.steps,
        "llm_calls": finished.llm_calls,
        "wall_seconds": round(finished.elapsed_seconds, 2),
        "max_prompt_tokens": finished.max_prompt_tokens,
        "prompt_tokens": finished.prompt_tokens_total,
        "completion_tokens": finished.completion_tokens_total,
        "answer": finished.answer,
        "answer_found": bool(expected) and expected in (finished.answer or "").lower(),
        "match": match(finished.answer, question["answer"]),
        "citations": len(checks),
        "citations_ok": all(c.ok for c in checks) if report else None,
        "citation_problems": [f"{c.entry}: {c.reason}" for c in checks if not c.ok],
    }


def totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    from deepresearch_local.bench.judge import accuracy

    n = len(rows)
    return {
        "questions": n,
        "answered": sum(1 for r in rows if r["answer"]),
        "answer_found": sum(1 for r in rows if r["answer_found"]),
        "citations_ok": sum(1 for r in rows if r["citations_ok"]),
        "wall_seconds": round(sum(r["wall_seconds"] for r in rows), 2),
        "mean_wall_seconds": round(sum(r["wall_seconds"] for r in rows) / n, 2) if n else 0.0,
        "mean_steps": round(sum(r["steps"] for r in rows) / n, 2) if n else 0.0,
        "max_prompt_tokens": max((r["max_prompt_tokens"] for r in rows), default=0),
        "terminations": dict(Counter(r["termination"] for r in rows)),
        **accuracy(rows),
    }


def _request(args: argparse.Namespace, docs: list[Path]) -> RunRequest:
    """The run the flags ask for. It is built on the default settings, not the saved ones, so that
    the figures depend on the flags alone."""
    from deepresearch_local.service.request import RunRequest

    return RunRequest(
        model=args.model,
        backend=args.backend,
        base_url=args.base_url,
        context=args.context,
        gpu_layers=args.gpu_layers,
        kv_type=args.kv_type,
        constrain_tool_calls=args.constrain_tool_calls,
        scripted=args.scripted,
        max_steps=args.max_steps,
        max_minutes=args.max_minutes,
        budget=args.budget,
        max_output_tokens=args.max_output_tokens,
        temperature=args.temperature,
        offline=args.offline,
        docs=tuple(docs),
    )


def _config(args: argparse.Namespace, mode: str) -> AgentConfig:
    import dataclasses

    from deepresearch_local.config import Settings
    from deepresearch_local.service.build import agent_config

    return agent_config(Settings(), dataclasses.replace(_request(args, []), mode=mode))


def bench(args: argparse.Namespace) -> dict[str, Any]:
    import dataclasses

    from deepresearch_local.bench.machine import machine_info
    from deepresearch_local.config import Settings
    from deepresearch_local.library import Library
    from deepresearch_local.service.build import make_researcher, prepare_run, run_tools
    from deepresearch_local.service.engine import open_engine_for
    from deepresearch_local.service.guard import offline_guard
    from deepresearch_local.store.sessions import SessionStore

    questions = load_questions(Path(args.questions).expanduser(), args.limit)
    docs = [Path(d).expanduser().resolve() for d in args.docs]
    for folder in docs:
        if not folder.is_dir():
            raise UsageError(f"--docs {folder} is not a folder.")
    if not (args.model or args.scripted or args.base_url):
        raise UsageError("Pass --model PATH (a .gguf file or an MLX folder) or --base-url for a server.")
    modes = ["fold", "react"] if args.mode == "both" else [args.mode]
    prepared = prepare_run(Settings(), _request(args, docs))
    args.offline = prepared.offline
    engine = open_engine_for(prepared.engine)
    engine.load()
    rows: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="deepresearch-bench-") as tmp,
        Library(Path(tmp) / "library.sqlite3") as library,
        SessionStore(Path(tmp) / "sessions.sqlite3") as store,
    ):
        tools = run_tools(prepared, library=library)
        for mode in modes:
            for i, question in enumerate(questions, start=1):
                config = _config(args, mode)
                report_path = Path(tmp) / f"{mode}-{i}.md"
                run = dataclasses.replace(prepared, config=config, report_path=report_path)
                researcher = make_researcher(run, engine, tools, store)
                start = time.perf_counter()
                with offline_guard(researcher, run.engine.base_url):
                    events = list(researcher.ask(question["question"]))
                scored = score(question, events, store.evidence(events[-1].run_id))  # type: ignore[union-attr]
                if getattr(args, "judge", False):
                    scored |= judged(engine, question, scored["answer"])
                row = {
                    "index": i,
                    "mode": mode,
                    **scored,
                    "wall_seconds": round(time.perf_counter() - start, 2),
                }
                rows.append(row)
                print(_progress(row, len(questions)), file=sys.stderr, flush=True)  # stdout stays JSON
    info = engine.info
    return {
        "questions_file": str(Path(args.questions).expanduser()),
        "model": info.model,
        "backend": info.backend,
        "context_tokens": engine.context_size(),
        "offline": args.offline,
        "docs": [str(d) for d in docs],
        "modes": modes,
        "max_steps": args.max_steps,
        "max_output_tokens": args.max_output_tokens,
        "temperature": _config(args, modes[0]).sampling.temperature,
        "judge": bool(getattr(args, "judge", False)),
        "results": rows,
        "totals": {mode: totals([r for r in rows if r["mode"] == mode]) for mode in modes},
        "machine": machine_info(backend=info.backend),
    }


def judged(engine: Any, question: dict[str, str], answer: str | None) -> dict[str, Any]:
    """The judge pass of one answer (``--judge``): its verdict and what the judge wrote."""
    from deepresearch_local.bench.judge import judge

    verdict = judge(engine, question["question"], question["answer"], answer)
    return {"judge": verdict.verdict, "judge_reply": verdict.reply}


def accuracy_line(mode: str, t: dict[str, Any]) -> str:
    """Match accuracy and, when judged, judge accuracy: two separate figures."""
    line = f"{mode}: match accuracy {t['match_accuracy']:.1%} ({t['match_correct']}/{t['questions']})"
    if "judge_accuracy" in t:
        line += (
            f"; judge accuracy {t['judge_accuracy']:.1%} ({t['judge_correct']}/{t['questions']}, "
            f"{t['judge_unparsed']} unparsed)"
        )
    return line


def _progress(row: dict[str, Any], count: int) -> str:
    found = "found" if row["answer_found"] else "not found"
    cites = "n/a" if row["citations_ok"] is None else ("ok" if row["citations_ok"] else "FAILED")
    return (
        f"[{row['mode']} {row['index']}/{count}] {row['termination']}, {row['steps']} steps, "
        f"{row['wall_seconds']:.0f}s; expected answer {found}; match {'yes' if row['match'] else 'no'}; "
        + (f"judge {row['judge']}; " if row.get("judge") else "")
        + f"citations {cites}"
    )


from_args = bench  # ``bench all`` calls each benchmark's ``from_args``


def run(args: argparse.Namespace) -> int:
    result = bench(args)
    if args.json:
        print_json(result)
        return 0
    rows = []
    for mode, t in result["totals"].items():
        rows.append(
            (
                mode,
                f"{t['answered']}/{t['questions']}",
                f"{t['answer_found']}/{t['questions']}",
                f"{t['match_correct']}/{t['questions']}",
                f"{t['citations_ok']}/{t['questions']}",
                f"{t['mean_steps']:.1f}",
                f"{t['mean_wall_seconds']:.0f}",
                f"{t['max_prompt_tokens']:,}",
            )
        )
    header = ("mode", "answered", "found", "match", "citations ok", "steps", "s/question", "max prompt")
    print(table(rows, header=header))
    print()
    for mode, t in result["totals"].items():
        print(accuracy_line(mode, t))
    print(f"\n{result['model']} ({result['backend']}), context {result['context_tokens']}.")
    return 0
