"""``deepresearch bench listing``: how fast ``models list`` answers with big GGUF files imported.

Writes ``--files`` header-only GGUFs shaped like the 30B model (full vocabulary and merges, the
whole tensor table; see ``bench.fake_gguf``) into a temporary home, imports them, and times:
reading one header (ours, and optionally gguf's ``GGUFReader``, which builds every field), the
listing in-process with an empty and with a filled shape cache, and ``deepresearch models list``
as a fresh process (median of ``--runs``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from deepresearch_local.cli.output import print_json, table
from deepresearch_local.errors import UsageError


def _timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench(files: int, runs: int, compare_gguf_reader: bool) -> dict[str, Any]:
    from deepresearch_local.bench.fake_gguf import write_fake_30b
    from deepresearch_local.bench.machine import machine_info
    from deepresearch_local.bench.startup import help_command
    from deepresearch_local.hardware.modelinfo import read_gguf_shape
    from deepresearch_local.paths import HOME_ENV

    if files < 1 or runs < 1:
        raise UsageError("--files and --runs must be at least 1.")
    result: dict[str, Any] = {"files": files, "runs": runs}
    with tempfile.TemporaryDirectory(prefix="deepresearch-bench-listing-") as tmp:
        home = Path(tmp) / "home"
        paths = [Path(tmp) / f"fake-30b-a3b-{i}.gguf" for i in range(files)]
        declared = [write_fake_30b(p) for p in paths]
        result["declared_file_bytes"] = declared[0]
        result["header_read_seconds"] = round(_timed(lambda: read_gguf_shape(paths[0])), 4)
        if compare_gguf_reader:
            import gguf

            result["gguf_reader_seconds"] = round(_timed(lambda: gguf.GGUFReader(str(paths[0]))), 4)
        env = {**os.environ, HOME_ENV: str(home)}
        old_home = os.environ.get(HOME_ENV)
        os.environ[HOME_ENV] = str(home)
        try:
            result.update(_in_process(paths))
        finally:
            if old_home is None:
                os.environ.pop(HOME_ENV, None)
            else:
                os.environ[HOME_ENV] = old_home
        cmd = [*help_command(), "models", "list", "--json"]
        walls = _walls(cmd, env, runs)
        result["command"] = "deepresearch models list --json"
        result["command_median_seconds"] = round(statistics.median(walls), 4)
        result["command_runs"] = [round(w, 4) for w in walls]
        # As installed (pip and pipx compile the bytecode): the same with a bytecode cache, after
        # one run that writes it. The runs above follow this environment, whatever it says.
        result["bytecode_cache_in_runs"] = not os.environ.get("PYTHONDONTWRITEBYTECODE")
        cached_env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
        cached_env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        cached = _walls(cmd, cached_env, runs + 1)[1:]
        result["command_cached_median_seconds"] = round(statistics.median(cached), 4)
        result["command_cached_runs"] = [round(w, 4) for w in cached]
    result["machine"] = machine_info()
    return result


def _walls(cmd: list[str], env: dict[str, str], runs: int) -> list[float]:
    walls = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=600)
        walls.append(time.perf_counter() - start)
    return walls


def _in_process(paths: list[Path]) -> dict[str, Any]:
    """Import the files, then time the listing with the shape cache emptied and filled."""
    from deepresearch_local.hardware.probe import probe
    from deepresearch_local.paths import get_paths
    from deepresearch_local.weights.listing import model_rows
    from deepresearch_local.weights.registry import Registry
    from deepresearch_local.weights.scan import import_path

    registry = Registry(get_paths().registry_file)
    for p in paths:
        import_path(p, registry=registry)
    hw_start = time.perf_counter()
    hw = probe(get_paths().models_dir)
    probe_seconds = time.perf_counter() - hw_start
    data = registry._read()
    data.pop("shapes", None)
    registry._write(data)
    cold = _timed(lambda: model_rows(hw, registry))
    warm = _timed(lambda: model_rows(hw, registry))
    rows = model_rows(hw, registry)
    unreadable = [r.id for r in rows if not r.in_catalog and r.reason.startswith("cannot read")]
    if unreadable:
        raise RuntimeError(f"the listing could not read {unreadable}")
    return {
        "probe_seconds": round(probe_seconds, 4),
        "rows_cold_cache_seconds": round(cold, 4),
        "rows_warm_cache_seconds": round(warm, 4),
    }


def from_args(args: argparse.Namespace) -> dict[str, Any]:
    return bench(args.files, args.runs, args.compare_gguf_reader)


def run(args: argparse.Namespace) -> int:
    import json

    from deepresearch_local.bench.listing_readme import update_readme

    if getattr(args, "from_json", None):
        result = json.loads(Path(args.from_json).expanduser().read_text("utf-8"))
    else:
        result = from_args(args)
    if getattr(args, "out", None):
        Path(args.out).expanduser().write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    if getattr(args, "readme", None):
        update_readme(Path(args.readme).expanduser(), result)
        print(f"Listing paragraph of {args.readme} replaced.", file=sys.stderr)
    if args.json:
        print_json(result)
        return 0
    n = result["files"]
    rows = [("read one 30B header (this app)", f"{result['header_read_seconds'] * 1000:.0f} ms")]
    if "gguf_reader_seconds" in result:
        rows.append(("read one 30B header (gguf.GGUFReader)", f"{result['gguf_reader_seconds']:.1f} s"))
    rows += [
        ("hardware probe (in-process)", f"{result['probe_seconds'] * 1000:.0f} ms"),
        (f"list rows, {n} files, empty shape cache", f"{result['rows_cold_cache_seconds'] * 1000:.0f} ms"),
        (f"list rows, {n} files, cached shapes", f"{result['rows_warm_cache_seconds'] * 1000:.0f} ms"),
        (f"{result['command']} (median of {result['runs']})", f"{result['command_median_seconds']:.2f} s"),
    ]
    if "command_cached_median_seconds" in result:
        rows.append(
            ("the same with a bytecode cache (installed)", f"{result['command_cached_median_seconds']:.2f} s")
        )
    print(table(rows, header=(f"models list with {n} imported 30B GGUFs", "wall time")))
    print(f"\nMachine: {sys.platform}, load affects these figures; see --json for every run.")
    return 0
