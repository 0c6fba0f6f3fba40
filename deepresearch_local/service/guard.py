"""The offline guard: in an offline run nothing may leave the machine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from deepresearch_local.agent.runner import Researcher


@contextmanager
def offline_guard(researcher: Researcher, base_url: str | None = None) -> Iterator[None]:
    """Around an offline run: refuse any connection beyond loopback (and the model's server at
    ``base_url``), and log each refusal with the run (``sessions show --network``)."""
    if not researcher.offline:
        yield
        return
    from urllib.parse import urlsplit

    from deepresearch_local.tools.network import BlockedConnection, NetworkGuard

    def log(blocked: BlockedConnection) -> None:
        if researcher.run_id:
            researcher.store.add_network(
                researcher.run_id, "blocked", blocked.target, blocked.event, False, "offline"
            )

    host = urlsplit(base_url).hostname if base_url else None
    with NetworkGuard(allow_hosts=[host] if host else [], on_block=log):
        yield
