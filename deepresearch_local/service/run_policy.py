"""Rules every run follows before it starts, whichever front end asks (CLI, app, benchmarks)."""

from __future__ import annotations

from collections.abc import Callable

from deepresearch_local.tools.network import NetworkStatus, OfflineDecision, decide_offline

AUTO_BACKENDS = (None, "", "auto")
"""Backend values that let the engine factory guess (a ``--base-url`` then means a server)."""


def machine_mode() -> str:
    """Fold when the model has under 48 GB to work in (see ``config.default_mode``)."""
    import psutil

    from deepresearch_local.config import default_mode
    from deepresearch_local.hardware.fit import MemoryBudget

    budget = MemoryBudget.for_machine(psutil.virtual_memory().total)
    return default_mode(budget.ram_bytes + budget.vram_bytes)


def uses_server(backend: str | None, base_url: str | None) -> bool:
    """True when the model is reached over HTTP: the openai backend, or a server URL and no backend named.

    This is the engine factory's own rule (``guess_backend``): a URL next to ``--backend llama.cpp``
    is ignored there, so it does not make the run a server run here either.
    """
    if backend == "openai":
        return True
    return backend in AUTO_BACKENDS and bool(base_url)


def network_check_needed(backend: str | None, base_url: str | None, *, scripted: bool = False) -> bool:
    """Whether to probe the internet to decide if the run goes offline by itself.

    Not for a scripted model (tests) nor for a model on a server: such a run keeps its web tools
    unless offline is asked for, and a probe would only add its timeout to every start.
    """
    return not scripted and not uses_server(backend, base_url)


def decide_run_offline(
    *,
    requested: bool,
    setting: bool,
    backend: str | None,
    base_url: str | None,
    scripted: bool = False,
    check: Callable[[], NetworkStatus] | None = None,
) -> OfflineDecision:
    """Offline when asked (flag or setting); otherwise, where a check is needed, when the network is down."""
    if requested or setting:
        return decide_offline(requested, setting)
    if not network_check_needed(backend, base_url, scripted=scripted):
        why = "a scripted model" if scripted else "the model runs on a server"
        return OfflineDecision(False, f"{why}: no network check")
    return decide_offline(False, check=check or _search_provider_check)


def _search_provider_check() -> NetworkStatus:
    """Probe the configured search provider's host (a local SearXNG counts without internet)."""
    from deepresearch_local.tools.providers import network_check

    return network_check()
