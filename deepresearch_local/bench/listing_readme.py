"""The README's ``bench listing`` paragraph, rendered from the figures ``bench listing --out`` saved
(``packaging/benchmarks/small-machines/listing.json``) and spliced between its markers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from deepresearch_local.errors import UsageError

BEGIN = "<!-- bench-listing:begin -->"
END = "<!-- bench-listing:end -->"


def render(r: dict[str, Any]) -> str:
    """The paragraph, markers included, for one ``bench listing`` result."""
    from deepresearch_local.bench.machine import describe

    machine = r["machine"]
    load = machine.get("load_average")
    where = describe(machine) + (f", load average {load[0]:.1f}" if load else "")
    header = f"reading one such header takes {r['header_read_seconds']:.2f} s with our reader"
    if "gguf_reader_seconds" in r:
        header += (
            f" against {r['gguf_reader_seconds']:.1f} s with `gguf.GGUFReader` (which builds every "
            "vocabulary entry)"
        )
    first = r["command_runs"][0]
    text = (
        f"`deepresearch bench listing` imports {r['files']} header-only GGUFs shaped like the 30B model "
        "(full 151,936-token vocabulary and merges, the whole tensor table) and times the listing. "
        f"On {where}: {header}; the listing's rows take {r['rows_cold_cache_seconds']:.2f} s the first "
        f"time and {r['rows_warm_cache_seconds']:.3f} s once the shapes are cached in the registry; "
        f"`deepresearch models list` as a fresh process took {r['command_median_seconds']:.2f} s "
        f"(median of {r['runs']}; the very first run, {first:.1f} s, also checks the MLX and llama.cpp "
        "installs once, which is remembered until they change)"
    )
    if "command_cached_median_seconds" in r:
        compiled = "" if r.get("bytecode_cache_in_runs", True) else ", compiling its sources each time"
        text += (
            f"{compiled}, and {r['command_cached_median_seconds']:.2f} s with Python's bytecode cache, "
            "as an installed app has it"
        )
    return f"{BEGIN}\n{_wrap(text + '.')}\n{END}"


def _wrap(text: str, width: int = 100) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False))


def update_readme(readme: Path, result: dict[str, Any]) -> None:
    """Replace the paragraph between the listing markers of ``readme``."""
    text = readme.read_text("utf-8")
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise UsageError(f"{readme} has no listing markers: put {BEGIN} and {END} where the paragraph goes.")
    readme.write_text(text[:start] + render(result) + text[end + len(END) :], "utf-8")
