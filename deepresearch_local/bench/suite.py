"""``deepresearch bench all``: every benchmark in one go, its JSON saved, a Markdown summary written.

Each benchmark runs through the same argument parser as its own subcommand, so the figures here
are the ones a user gets from ``deepresearch bench NAME --json``. The summary (see
``bench.summary``) can replace the benchmark section of a README between its markers.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deepresearch_local.errors import UsageError

SAMPLE = Path(__file__).with_name("data") / "sample"
"""A small folder of documents and questions answered in them: ``bench all --sample``."""


def _parse(argv: list[str]) -> argparse.Namespace:
    from deepresearch_local.cli.main import build_parser

    return build_parser().parse_args(["bench", *argv])


def _stem(model: str) -> str:
    return Path(model).name.removesuffix(".gguf")


def plan(args: argparse.Namespace) -> list[tuple[str, list[str]]]:
    """(file name, bench arguments) for each run, in order."""
    runs: list[tuple[str, list[str]]] = []
    for model in args.model:
        stem = _stem(model)
        runs.append(
            (
                f"engine-{stem}",
                [
                    "engine",
                    "--model",
                    model,
                    "--rounds",
                    str(args.rounds),
                    "--prompt-tokens",
                    str(args.prompt_tokens),
                    "--gen-tokens",
                    str(args.gen_tokens),
                ],
            )
        )
        if Path(model).is_file():  # memory measures GGUF files with llama.cpp
            runs.append((f"memory-{stem}", ["memory", "--model", model, "--contexts", args.contexts]))
    context = ["context", "--steps", str(args.steps), "--plot", str(Path(args.out) / "context-per-step.png")]
    if args.model:
        context += ["--model", args.model[0], "--tongyi-kv"]
    runs.append(("context", context))
    runs.append(("library", ["library", "--synthetic", str(args.chunks)]))
    runs.append(("startup", ["startup", "--runs", str(args.startup_runs)]))
    questions, docs = args.questions, args.docs
    if args.sample:
        questions, docs = str(SAMPLE / "questions.jsonl"), [str(SAMPLE / "docs")]
    if questions:
        for model in args.model:
            research = [
                "research",
                "--model",
                model,
                "--questions",
                questions,
                *(["--offline"] if docs else []),  # research over local folders never needs the web
                "--max-steps",
                str(args.max_steps),
                "--context",
                str(args.context),
                "--max-output-tokens",
                str(args.max_output_tokens),
            ]
            for folder in docs:
                research += ["--docs", folder]
            if args.limit:
                research += ["--limit", str(args.limit)]
            runs.append((f"research-{_stem(model)}", research))
    return runs


def _function(name: str) -> Callable[[argparse.Namespace], dict[str, Any]]:
    """The ``from_args`` of one subcommand: the same call its ``run`` makes before printing."""
    module = importlib.import_module(f"deepresearch_local.bench.{name}")
    function: Callable[[argparse.Namespace], dict[str, Any]] = module.from_args
    return function


def run_all(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Run the plan, saving each result as ``OUT/NAME.json``; the results by name."""
    out = Path(args.out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, Any]] = {}
    runs = plan(args)
    for n, (name, argv) in enumerate(runs, start=1):
        print(f"[{n}/{len(runs)}] deepresearch bench {' '.join(argv)}", file=sys.stderr, flush=True)
        start = time.perf_counter()
        parsed = _parse(argv)
        result = _function(argv[0])(parsed)
        result["command"] = "deepresearch bench " + " ".join(argv)
        (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n", "utf-8")
        results[name] = result
        print(f"      done in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    return results


def load_results(folder: Path) -> dict[str, dict[str, Any]]:
    """The results a previous ``bench all`` saved in ``folder``."""
    files = sorted(folder.glob("*.json"))
    if not files:
        raise UsageError(f"No benchmark results (*.json) in {folder}. Run `deepresearch bench all` first.")
    return {f.stem: json.loads(f.read_text("utf-8")) for f in files}


def run(args: argparse.Namespace) -> int:
    from deepresearch_local.bench.summary import render, splice

    out = Path(args.out).expanduser()
    if args.from_results:
        results = load_results(out)
    else:
        if not args.model:
            raise UsageError("Pass --model PATH (once per model to compare), or --from-results to re-render.")
        results = run_all(args)
    plot: str | None = None
    made = out / "context-per-step.png"
    if made.is_file():
        plot = str(made)
    if args.readme:  # the README links the plot next to its other pictures; the section goes in it
        readme_dir = Path(args.readme).expanduser().resolve().parent
        assets = readme_dir / "packaging" / "assets"
        if assets.is_dir() and made.is_file():
            shutil.move(made, assets / made.name)
        if (assets / made.name).is_file():
            plot = os.path.relpath(assets / made.name, readme_dir)
        markdown = render(results, plot=plot)
        path = Path(args.readme).expanduser()
        path.write_text(splice(path.read_text("utf-8"), markdown), "utf-8")
        print(f"Benchmark section of {path} replaced.", file=sys.stderr)
        return 0
    markdown = render(results, plot=plot)
    (out / "benchmarks.md").write_text(markdown, "utf-8")
    print(f"Summary written to {out / 'benchmarks.md'}", file=sys.stderr)
    print(markdown)
    return 0
