"""``deepresearch bench format``: how often a model's turn cannot be used, with and without a
grammar on its action, and what the grammar costs in decode speed.

Each prompt of ``bench/data/format_prompts.toml`` is one research turn (some with earlier turns)
with the real tool schemas declared. Every sample is parsed the way the agent parses it and
scored:

* **clean**: a call of a declared tool with valid arguments, or a closed answer, no repairs;
* **repaired**: usable only because the parser fixed the form (no tags, a call put in
  ``<answer>``, a fenced JSON block), which the agent then reports to the model;
* **unusable**: no action, invalid JSON, an unknown tool, missing or mistyped arguments.

The same seeds are used in both modes, so the difference is the grammar's.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import tomllib

from deepresearch_local.cli.output import print_json, table
from deepresearch_local.errors import UsageError

_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "array": list,
    "object": dict,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
}


@dataclass(frozen=True)
class Prompt:
    id: str
    question: str
    history: tuple[str, ...] = ()


@dataclass(frozen=True)
class Sample:
    prompt: str
    constrained: bool
    seed: int
    verdict: str
    """"clean", "repaired" or "unusable"."""
    problems: tuple[str, ...]
    action: str
    """The tool called, "answer", or "" (none)."""
    completion_tokens: int
    decode_tps: float


def load_prompts() -> tuple[str, list[Prompt]]:
    """(system message, prompts) from the packaged data file."""
    raw = resources.files("deepresearch_local.bench").joinpath("data/format_prompts.toml").read_text("utf-8")
    data = tomllib.loads(raw)
    prompts = [Prompt(p["id"], p["question"], tuple(p.get("history", ()))) for p in data["prompt"]]
    return str(data["system"]), prompts


def bench_tools() -> list[dict[str, Any]]:
    """The schemas of every tool a research run can be given (web, local library, Python)."""
    from deepresearch_local.tools.base import Tool, schema_of
    from deepresearch_local.tools.local import local_tools
    from deepresearch_local.tools.python_sandbox import PythonInterpreter
    from deepresearch_local.tools.search import ScholarTool, WebSearchTool
    from deepresearch_local.tools.visit import VisitTool

    found: list[Tool] = [WebSearchTool(), ScholarTool(), VisitTool(), PythonInterpreter(), *local_tools()]
    return [schema_of(t) for t in found]


def argument_problems(schema: Mapping[str, Any], arguments: Mapping[str, Any]) -> list[str]:
    """What is wrong with ``arguments`` for a JSON schema of the simple kind tools use."""
    problems = []
    props: Mapping[str, Any] = schema.get("properties", {})
    for name in schema.get("required", []):
        if arguments.get(name) in (None, "", []):
            problems.append(f"missing argument {name!r}")
    for name, value in arguments.items():
        if name == "code":  # PythonInterpreter's code comes from <code>, added by the parser
            continue
        spec = props.get(name)
        if spec is None:
            problems.append(f"unknown argument {name!r}")
            continue
        kinds = spec.get("type", [])
        kinds = [kinds] if isinstance(kinds, str) else list(kinds)
        if kinds and not any(isinstance(value, _TYPES.get(k, object)) for k in kinds):
            problems.append(f"argument {name!r} should be {' or '.join(kinds)}")
        elif (
            isinstance(value, list)
            and spec.get("items", {}).get("type") == "string"
            and not all(isinstance(v, str) for v in value)
        ):
            problems.append(f"argument {name!r} should hold strings")
    return problems


def score(text: str, tools: Sequence[Mapping[str, Any]]) -> tuple[str, tuple[str, ...], str]:
    """(verdict, problems, action) for one turn, parsed as the agent parses it."""
    from deepresearch_local.agent.protocol import parse_turn

    turn = parse_turn(text)
    problems = list(turn.problems)
    if turn.tool_call is not None:
        schemas = {t["function"]["name"]: t["function"].get("parameters", {}) for t in tools}
        call = turn.tool_call
        if call.name not in schemas:
            return "unusable", (*problems, f"unknown tool {call.name!r}"), call.name
        wrong = argument_problems(schemas[call.name], call.arguments)
        if wrong:
            return "unusable", (*problems, *wrong), call.name
        if call.name == "PythonInterpreter" and not str(call.arguments.get("code", "")).strip():
            return "unusable", (*problems, "no code"), call.name
        return ("repaired" if problems else "clean"), tuple(problems), call.name
    if turn.answer is not None and turn.answer.strip():
        return ("repaired" if problems else "clean"), tuple(problems), "answer"
    return "unusable", tuple(problems) or ("no action",), ""


def _messages(system: str, prompt: Prompt) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": system}, {"role": "user", "content": prompt.question}]
    for i, text in enumerate(prompt.history):
        messages.append({"role": "assistant" if i % 2 == 0 else "user", "content": text})
    return messages


def bench(
    model: Path,
    *,
    samples: int,
    limit: int | None,
    max_tokens: int,
    temperature: float,
    context: int,
    threads: int | None,
) -> dict[str, Any]:
    from deepresearch_local.bench.machine import machine_info
    from deepresearch_local.engines.base import GenerationRequest, Sampling, collect

    if samples < 1 or max_tokens < 8:
        raise UsageError("--samples must be at least 1 and --max-tokens at least 8.")
    if not model.exists():
        raise UsageError(f"No model at {model}: give a .gguf file or an MLX model folder.")
    system, prompts = load_prompts()
    prompts = prompts[:limit] if limit else prompts
    tools = bench_tools()
    engine = _engine(model, context, threads)
    results: list[Sample] = []
    try:
        for prompt in prompts:
            rendered = engine.render(_messages(system, prompt), tools=tools)
            for constrained in (False, True):
                for seed in range(samples):
                    request = GenerationRequest(
                        prompt=rendered,
                        tools=tools,
                        constrain_tool_calls=constrained,
                        max_tokens=max_tokens,
                        stop=("\n<tool_response>", "<tool_response>"),
                        sampling=Sampling(temperature=temperature, seed=seed),
                    )
                    done = collect(engine.generate(request))
                    verdict, problems, action = score(done.text, tools)
                    tokens, tps = done.completion_tokens, round(done.decode_tps, 2)
                    sample = Sample(prompt.id, constrained, seed, verdict, problems, action, tokens, tps)
                    results.append(sample)
    finally:
        engine.unload()
    return {
        "model": model.name,
        "backend": engine.info.backend,
        "prompts": len(prompts),
        "samples_per_prompt": samples,
        "max_tokens": max_tokens,
        "temperature": temperature,
        "modes": {name: summarize([r for r in results if r.constrained == flag]) for name, flag in MODES},
        "samples": [asdict(r) for r in results],
        "machine": machine_info(),
    }


MODES = (("free", False), ("constrained", True))


def _engine(model: Path, context: int, threads: int | None) -> Any:
    """llama.cpp for a .gguf file, MLX for a model folder (where llguidance is installed, the
    constrained mode runs under the same grammar; without it, MLX says so and runs free)."""
    if model.is_dir():
        from deepresearch_local.engines.mlx import MLXEngine

        return MLXEngine(model, context_tokens=context)
    from deepresearch_local.engines.llamacpp import LlamaCppEngine

    return LlamaCppEngine(model, context_tokens=context, n_threads=threads)


def summarize(rows: Sequence[Sample]) -> dict[str, Any]:
    n = len(rows)
    counts = {v: sum(r.verdict == v for r in rows) for v in ("clean", "repaired", "unusable")}
    speeds = [r.decode_tps for r in rows if r.decode_tps > 0]
    return {
        "turns": n,
        **counts,
        "unusable_rate": round(counts["unusable"] / n, 3) if n else 0.0,
        "not_clean_rate": round((n - counts["clean"]) / n, 3) if n else 0.0,
        "decode_tps_median": round(statistics.median(speeds), 2) if speeds else 0.0,
    }


def from_args(args: argparse.Namespace) -> dict[str, Any]:
    return bench(
        Path(args.model).expanduser(),
        samples=args.samples,
        limit=args.limit,
        max_tokens=args.max_tokens,
        temperature=args.temperature,
        context=args.context,
        threads=args.threads,
    )


def run(args: argparse.Namespace) -> int:
    result = from_args(args)
    if args.json:
        print_json(result)
        return 0
    rows = []
    for name, _flag in MODES:
        m = result["modes"][name]
        rows.append(
            (
                name,
                str(m["turns"]),
                f"{m['unusable']} ({m['unusable_rate']:.0%})",
                str(m["repaired"]),
                str(m["clean"]),
                f"{m['decode_tps_median']:.1f}",
            )
        )
    header = ("actions", "turns", "unusable", "repaired", "clean", "decode tok/s")
    print(table(rows, header=header))
    print(
        f"\n{result['model']} ({result['backend']}): {result['prompts']} prompts x "
        f"{result['samples_per_prompt']} samples, "
        f"temperature {result['temperature']}, up to {result['max_tokens']} tokens a turn."
    )
    return 0
