"""``deepresearch doctor``: what this machine has, and what it should run."""

from __future__ import annotations

import argparse

from deepresearch_local.cli.output import print_json, table
from deepresearch_local.hardware.gpu_builds import fix_label
from deepresearch_local.hardware.probe import Hardware, probe
from deepresearch_local.paths import get_paths
from deepresearch_local.units import human_bytes
from deepresearch_local.weights.recommend import Recommendation, recommend


def report(hw: Hardware, rec: Recommendation) -> dict[str, object]:
    out = hw.to_dict()
    out["recommended"] = rec.to_dict()
    out["metal_limit"] = metal_limit(hw, rec)
    out["search"] = search_status()
    out["sandbox"] = sandbox_status()
    return out


def metal_limit(hw: Hardware, rec: Recommendation | None = None) -> dict[str, object] | None:
    """On Apple Silicon: Metal's GPU memory limit, where it came from (a raised limit, the working
    set Metal reports, or the estimate) and what raising it would unlock; None elsewhere."""
    from dataclasses import asdict

    from deepresearch_local.hardware.metal import gpu_share, gpu_share_source
    from deepresearch_local.weights.metal_advice import describe_limit, metal_advice

    if not hw.unified_memory:
        return None
    advice = metal_advice(hw, rec)
    if advice:
        return asdict(advice)
    return {
        "current_bytes": gpu_share(hw),
        "source": gpu_share_source(hw),
        "command": None,
        "unlocks": None,
        "text": describe_limit(hw) + " Raising it further would leave macOS too little memory.",
    }


def sandbox_status() -> dict[str, object]:
    """The isolation layers that hold PythonInterpreter's code here (found by starting it once)."""
    from deepresearch_local.tools.sandbox.isolation import as_dict, verify

    return as_dict(verify())


def search_status() -> dict[str, object]:
    """The active web search provider, whether its URL and key are set (never the key itself)."""
    from deepresearch_local.config import load_settings
    from deepresearch_local.errors import DeepResearchError
    from deepresearch_local.tools.providers import describe, problem, resolve_config

    try:
        settings = load_settings()
    except DeepResearchError:
        settings = None
    config = resolve_config(settings)
    return {
        "provider": config.name,
        "url": config.url,
        "key_set": bool(config.api_key),
        "problem": problem(config),
        "summary": describe(config),
    }


def run(args: argparse.Namespace) -> int:
    hw = probe(get_paths().models_dir)
    rec = recommend(hw)
    if args.json:
        print_json(report(hw, rec))
        return 0
    cores = f"{hw.cpu_cores_physical or '?'} cores / {hw.cpu_cores_logical} threads"
    rows = [
        ("system", f"{hw.os} {hw.os_version} ({hw.arch})"),
        ("cpu", f"{hw.cpu}, {cores}"),
        (
            "memory",
            f"{human_bytes(hw.ram_total_bytes)} total, {human_bytes(hw.ram_available_bytes)} available"
            + (" (unified)" if hw.unified_memory else ""),
        ),
    ]
    for gpu in hw.gpus:
        rows.append(("gpu", f"{gpu.name}, {human_bytes(gpu.memory_total_bytes)}"))
    if not hw.gpus:
        rows.append(("gpu", "none found"))
    for b in hw.backends:
        state = f"yes, {b.device}" if b.available else "no"
        rows.append((b.name, f"{state}: {b.reason}"))
    rows.append(("models folder", f"{hw.models_dir} ({human_bytes(hw.disk_free_bytes)} free)"))
    rows.append(("web search", str(search_status()["summary"])))
    rows.append(("sandbox", str(sandbox_status()["summary"])))
    print(table(rows))
    print()
    variant = rec.variant or "(none local)"
    print(f"Recommended: {rec.backend}, {variant}, {rec.context_tokens} tokens of context")
    print(f"Why: {rec.why}")
    metal = metal_limit(hw, rec)
    if metal:
        print(f"\nGPU memory limit: {metal['text']}")
    if rec.fixes:
        print("\nTo use your GPU, reinstall llama-cpp-python with GPU support (README: GPU builds).")
        for number, fix in enumerate(rec.fixes, start=1):
            label = fix_label(fix)
            if number > 1:
                label = "If that fails, " + label[:1].lower() + label[1:]
            print(f"{label}\n  {fix}")
    return 0
