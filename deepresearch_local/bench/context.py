"""``deepresearch bench context``: how big the prompt gets, step by step, in fold and react mode.

A scripted N-step research (searches and page-sized visits, see ``bench.pages``) runs through the
real agent (``Researcher``, its prompts, budgets, truncation and ReSum restarts) once per mode. The
engine is scripted but counts with a real tokenizer when ``--model`` is given. Reported per mode:
prompt tokens per model call, the peak, the KV cache that peak needs (fit calculator, f16 unless
``--kv-type``), and how many prompt tokens had to be prefilled versus reused from the KV cache.
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from deepresearch_local.cli.output import print_json, table
from deepresearch_local.errors import UsageError
from deepresearch_local.units import human_bytes

MODES = ("react", "fold", "fold_every_round")
"""``fold``: fold mode as configured by default (earlier rounds kept under the threshold);
``fold_every_round``: the same with ``fold_keep_fraction`` 0."""
TODAY = date(2025, 6, 1)
"""A fixed date in the system prompt, so token counts do not change from day to day."""
TONGYI_VARIANT = "tongyi-30b-q4_k_m"


def kv_source(model: str | None, kv_type: str, tongyi: bool = False) -> dict[str, Any]:
    """KV bytes per token of ``model``'s shape, or of Tongyi-DeepResearch-30B-A3B from the catalog
    (without a model, or when ``tongyi``)."""
    from deepresearch_local.hardware.fit import kv_bytes_per_token

    if model and not tongyi:
        from deepresearch_local.hardware.modelinfo import read_shape

        shape = read_shape(Path(model).expanduser())
        source = f"model file {shape.name} ({shape.architecture}, {shape.n_layers} layers)"
    else:
        from deepresearch_local.weights.catalog import find_variant

        variant = find_variant(TONGYI_VARIANT)
        if variant is None:
            raise UsageError(
                f"The model catalog has no {TONGYI_VARIANT}; pass --model to use a model's shape."
            )
        shape = variant.shape
        source = "catalog: Tongyi-DeepResearch-30B-A3B shape (48 layers, 4 KV heads, head_dim 128)"
    return {"source": source, "kv_type": kv_type, "bytes_per_token": kv_bytes_per_token(shape, kv_type)}


def run_mode(
    mode: str,
    steps: int,
    budget: int,
    tokenizer: Any,
    max_output: int,
    seed: int = 0,
    fold_keep: float | None = None,
) -> dict[str, Any]:
    """One scripted research in ``mode`` (``fold_every_round``: fold with no rounds kept); the
    engine's report of every model call. ``fold_keep``: the fold threshold (default: the setting's)."""
    from deepresearch_local.agent.config import AgentConfig
    from deepresearch_local.agent.events import RunFinished
    from deepresearch_local.agent.runner import Researcher
    from deepresearch_local.bench.pages import PageMaker, scripted_tools
    from deepresearch_local.bench.scripted_model import ScriptedResearch
    from deepresearch_local.bench.tokens import CountingEngine
    from deepresearch_local.store.sessions import SessionStore

    keep = AgentConfig.fold_keep_fraction if fold_keep is None else fold_keep
    if mode == "fold_every_round":
        mode, keep = "fold", 0.0
    pages = PageMaker(seed=seed)
    model = ScriptedResearch(pages, mode, steps)
    engine = CountingEngine(model, tokenizer, context_tokens=budget + max_output)
    config = AgentConfig(
        mode=mode,  # type: ignore[arg-type]
        budget_tokens=budget,
        max_llm_calls=2 * steps,  # room for react's summaries: both modes get all their turns
        max_output_tokens=max_output,
        max_minutes=24 * 60,
        write_report=False,
        fold_keep_fraction=keep,
    )
    with tempfile.TemporaryDirectory(prefix="deepresearch-bench-") as tmp:
        store = SessionStore(Path(tmp) / "sessions.sqlite3")
        try:
            researcher = Researcher(engine, scripted_tools(pages), store, config, today=TODAY)
            events = list(researcher.ask(pages.script.question))
        finally:
            store.close()
    finished = events[-1]
    assert isinstance(finished, RunFinished)
    per_step: list[dict[str, Any]] = [
        {
            "call": i,
            "kind": kind,
            "prompt_tokens": c.prompt_tokens,
            "reused_tokens": c.reused_tokens,
            "prefilled_tokens": c.prefilled_tokens,
            "completion_tokens": c.completion_tokens,
        }
        for i, (c, kind) in enumerate(zip(engine.calls, model.kinds), start=1)
    ]
    prefilled = sum(c.prefilled_tokens for c in engine.calls)
    return {
        "fold_keep_fraction": keep if mode == "fold" else None,
        "termination": finished.termination,
        "answered": finished.answer is not None,
        "model_steps": finished.steps,
        "llm_calls": len(per_step),
        "summaries": model.kinds.count("summary"),
        "per_step": per_step,
        "max_prompt_tokens": max((c.prompt_tokens for c in engine.calls), default=0),
        "peak_context_tokens": max((c.prompt_tokens + c.completion_tokens for c in engine.calls), default=0),
        "prefilled_tokens": prefilled,
        "prefilled_per_step": round(prefilled / max(finished.steps, 1)),
        "reused_tokens": sum(c.reused_tokens for c in engine.calls),
        "completion_tokens": sum(c.completion_tokens for c in engine.calls),
    }


def prefilled_within(per_step: list[dict[str, Any]], steps: int) -> int:
    """Tokens prefilled by a run's model calls up to its ``steps``-th research turn (summaries in
    between included): the cost of the same research as a run that stopped after ``steps``.

    At small budgets react runs out of context and is forced to answer after fewer turns than the
    other modes take, so their totals pay for more research than react's does; this is the
    like-for-like figure."""
    total = turns = 0
    for call in per_step:
        total += call["prefilled_tokens"]
        turns += call["kind"] != "summary"
        if turns >= steps:
            break
    return total


def bench(
    steps: int,
    budget: int,
    model: str | None = None,
    kv_type: str = "f16",
    max_output: int = 4096,
    plot: Path | None = None,
    tongyi_kv: bool = False,
    fold_keep: float | None = None,
) -> dict[str, Any]:
    from deepresearch_local.bench.machine import machine_info
    from deepresearch_local.bench.pages import load_script
    from deepresearch_local.bench.tokens import open_tokenizer

    if steps < 2:
        raise UsageError("--steps must be at least 2 (research turns, the last one answers).")
    if budget < 4096:
        raise UsageError("--budget must be at least 4096 tokens: the system prompt alone takes about 1,500.")
    if plot is not None:
        from deepresearch_local.bench.plot import pyplot

        pyplot()  # before the runs: a missing extra is said at once
    tokenizer = open_tokenizer(model)
    kv = kv_source(model, kv_type, tongyi_kv)
    result: dict[str, Any] = {
        "steps": steps,
        "budget": budget,
        "context_tokens": budget + max_output,
        "tokenizer": tokenizer.name,
        "question": load_script().question,
        "kv": kv,
    }
    for mode in MODES:
        figures = run_mode(mode, steps, budget, tokenizer, max_output, fold_keep=fold_keep)
        figures["kv_bytes_at_peak"] = kv["bytes_per_token"] * figures["peak_context_tokens"]
        result[mode] = figures
    react = result["react"]
    for mode in MODES[1:]:  # prefill against react's: in total, per turn, over the same research
        figures = result[mode]
        figures["prefill_vs_react"] = round(figures["prefilled_tokens"] / react["prefilled_tokens"], 2)
        figures["prefill_per_step_vs_react"] = round(
            figures["prefilled_per_step"] / max(react["prefilled_per_step"], 1), 2
        )
        same = prefilled_within(figures["per_step"], react["model_steps"])
        figures["prefilled_over_react_steps"] = same
        figures["prefill_same_steps_vs_react"] = round(same / max(react["prefilled_tokens"], 1), 2)
    if plot is not None:
        from deepresearch_local.bench.plot import plot_context

        plot_context(result, plot)
        result["plot"] = str(plot)
    result["machine"] = machine_info(backend="scripted engine, tokenizer: " + tokenizer.name)
    return result


def from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The figures for parsed ``bench context`` arguments (also used by ``bench all``)."""
    plot = Path(args.plot).expanduser() if args.plot else None
    return bench(
        args.steps,
        args.budget,
        args.model,
        args.kv_type,
        plot=plot,
        tongyi_kv=args.tongyi_kv,
        fold_keep=getattr(args, "fold_keep", None),
    )


def run(args: argparse.Namespace) -> int:
    result = from_args(args)
    plot = result.get("plot")
    if args.json:
        print_json(result)
        return 0
    columns = [result[mode] for mode in MODES]

    def row(label: str, key: str, fmt: Any = lambda v: f"{v:,}") -> tuple[str, ...]:
        return (label, *("-" if c.get(key) is None else fmt(c[key]) for c in columns))

    rows = [
        row("termination", "termination", str),
        row("ended with an answer", "answered", lambda v: "yes" if v else "NO"),
        row("model steps", "model_steps"),
        row("model calls (incl. summaries)", "llm_calls"),
        row("ReSum summaries", "summaries"),
        row("max prompt tokens", "max_prompt_tokens"),
        row("KV cache at peak", "kv_bytes_at_peak", human_bytes),
        row("prompt tokens prefilled", "prefilled_tokens"),
        row("  per model step", "prefilled_per_step"),
        ("  vs react (total, per step)", "-", *(_ratios(result[m]) for m in MODES[1:])),
        (
            f"  over react's {result['react']['model_steps']} steps",
            f"{result['react']['prefilled_tokens']:,}",
            *(_same_steps(result[m]) for m in MODES[1:]),
        ),
        row("prompt tokens reused (KV cache)", "reused_tokens"),
        row("tokens generated", "completion_tokens"),
    ]
    keep = result["fold"]["fold_keep_fraction"]
    label = f"{result['steps']} steps, budget {result['budget']:,}"
    header = (label, "react", f"fold (keep {keep:g})", "fold every round")
    print(table(rows, header=header))
    print(f"\nTokenizer: {result['tokenizer']}. KV: {result['kv']['source']}, {result['kv']['kv_type']}.")
    if plot is not None:
        print(f"Plot written to {plot}")
    return 0


def _same_steps(figures: dict[str, Any]) -> str:
    return f"{figures['prefilled_over_react_steps']:,} ({figures['prefill_same_steps_vs_react']:.2f}x)"


def _ratios(figures: dict[str, Any]) -> str:
    return f"{figures['prefill_vs_react']:.2f}x, {figures['prefill_per_step_vs_react']:.2f}x"
