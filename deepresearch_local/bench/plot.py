"""PNG plots for the benchmarks (matplotlib: the optional extra `pip install "deepresearch-local[bench]"`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from deepresearch_local.errors import UsageError

COLORS = {"react": "#d1495b", "fold": "#00798c", "fold_every_round": "#edae49"}
LABELS = {"fold_every_round": "fold every round"}


def pyplot() -> Any:
    """``matplotlib.pyplot`` on a file-only backend, or a usage error saying what to install."""
    try:
        import matplotlib
    except ImportError as exc:
        raise UsageError(
            "--plot needs matplotlib, which is not installed. Install the benchmark extra: "
            "pip install 'deepresearch-local[bench]' (with pipx: pipx inject deepresearch-local matplotlib)."
        ) from exc
    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    return plt


def plot_context(result: dict[str, Any], path: Path) -> None:
    """Prompt tokens per model call for both modes (top) and the tokens each call had to prefill (bottom)."""
    plt = pyplot()
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(9, 6.4), sharex=True, gridspec_kw={"height_ratios": [3, 2]}, layout="constrained"
    )
    budget = result["budget"]
    for mode in [m for m in COLORS if m in result]:
        steps = result[mode]["per_step"]
        calls = [s["call"] for s in steps]
        color = COLORS[mode]
        label = LABELS.get(mode, mode)
        top.plot(calls, [s["prompt_tokens"] for s in steps], "-o", color=color, ms=3, lw=1.6, label=label)
        bottom.plot(calls, [s["prefilled_tokens"] for s in steps], "-o", color=color, ms=3, lw=1.2)
        summaries = [s for s in steps if s["kind"] == "summary"]
        if summaries:
            top.scatter(
                [s["call"] for s in summaries],
                [s["prompt_tokens"] for s in summaries],
                marker="D",
                s=42,
                color=color,
                edgecolor="black",
                zorder=3,
                label=f"{mode}: ReSum summary call",
            )
    top.axhline(budget, color="0.35", ls="--", lw=1)
    top.annotate(f"budget {budget:,}", (1, budget), xytext=(2, 4), textcoords="offset points", color="0.3")
    top.set_ylim(0, budget * 1.25)
    top.set_ylabel("prompt tokens")
    top.set_title(
        f"Prompt size per model call: a scripted {result['steps']}-step research through the agent",
        loc="left",
        fontsize=11,
    )
    top.legend(loc="upper right", ncol=3, frameon=False, fontsize=9)  # in the room above the budget
    bottom.set_ylabel("tokens prefilled\n(not reused from KV cache)")
    bottom.set_xlabel("model call")
    bottom.set_ylim(bottom=0)
    thousands = plt.FuncFormatter(lambda v, _: f"{v:,.0f}")
    for ax in (top, bottom):
        ax.yaxis.set_major_formatter(thousands)
        ax.grid(alpha=0.25)
        ax.spines[["top", "right"]].set_visible(False)
    bottom.set_title(f"tokens counted with: {result['tokenizer']}", loc="right", fontsize=8, color="0.45")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150)
    plt.close(fig)
