"""The status bar: engine, model, tokens/s, a context gauge, elapsed time, step, and memory."""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import Static

from deepresearch_local.agent.events import (
    AgentEvent,
    ContextUsage,
    RunFinished,
    RunStarted,
    StepStarted,
    TokenDelta,
)


def process_rss() -> int:
    """This process's resident memory in bytes (the model's weights and KV cache included)."""
    import psutil

    return int(psutil.Process().memory_info().rss)


def gauge(used: int, total: int, width: int = 10) -> str:
    """``█████░░░░░ 52%`` for a share of ``total``."""
    if total <= 0:
        return "░" * width
    share = min(max(used / total, 0.0), 1.0)
    filled = round(share * width)
    return "█" * filled + "░" * (width - filled) + f" {share:.0%}"


def clock(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class StatusBar(Horizontal):
    """Fed by the research screen; the clock and memory readings refresh themselves."""

    backend: reactive[str] = reactive("")
    model: reactive[str] = reactive("")
    tps: reactive[float] = reactive(0.0)
    used: reactive[int] = reactive(0)
    budget: reactive[int] = reactive(0)
    step: reactive[int] = reactive(0)
    max_steps: reactive[int] = reactive(0)
    elapsed: reactive[float] = reactive(0.0)
    memory: reactive[int] = reactive(0)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._started: float | None = None

    def compose(self) -> ComposeResult:
        for name in ("engine", "speed", "context", "elapsed", "step", "memory"):
            yield Static("", id=f"status-{name}", classes="status-cell", markup=False)

    def on_mount(self) -> None:
        self.memory = process_rss()
        self.set_interval(1.0, self._tick)
        self._render_all()

    def _tick(self) -> None:
        self.memory = process_rss()
        if self._started is not None:
            self.elapsed = time.monotonic() - self._started

    def apply(self, event: AgentEvent) -> None:
        """Follow a run: engine and model, step, context use, speed, and the final elapsed time."""
        if isinstance(event, RunStarted):
            self.backend, self.model = event.backend, event.model
            self.budget, self.max_steps = event.budget_tokens, event.max_steps
        elif isinstance(event, TokenDelta):
            if event.decode_tps:  # live, while the model writes
                self.tps = round(event.decode_tps, 1)
        elif isinstance(event, StepStarted):
            self.step, self.max_steps = event.step, event.max_steps
        elif isinstance(event, ContextUsage):
            self.used = event.used_tokens
            self.budget = event.budget_tokens or self.budget
            if event.decode_tps:
                self.tps = event.decode_tps
        elif isinstance(event, RunFinished):
            self.stop_clock(event.elapsed_seconds)

    def reset(self) -> None:
        self.step, self.used, self.tps, self.elapsed = 0, 0, 0.0, 0.0

    def start_clock(self, already: float = 0.0) -> None:
        self._started = time.monotonic() - already
        self.elapsed = already

    def stop_clock(self, final: float | None = None) -> None:
        self._started = None
        if final is not None:
            self.elapsed = final

    @property
    def running(self) -> bool:
        return self._started is not None

    def _watch_any(self) -> None:
        if self.is_mounted:
            self._render_all()

    watch_backend = watch_model = watch_tps = watch_used = watch_budget = _watch_any
    watch_step = watch_max_steps = watch_elapsed = watch_memory = _watch_any

    def _render_all(self) -> None:
        model = self.model if len(self.model) <= 40 else self.model[:39] + "…"
        self._set("engine", f"{self.backend or '-'} · {model or 'no model'}")
        self._set("speed", f"{self.tps:.1f} tok/s" if self.tps else "- tok/s")
        if self.budget:
            self._set("context", f"ctx {gauge(self.used, self.budget)} {self.used:,}/{self.budget:,}")
        else:
            self._set("context", f"ctx {self.used:,} tokens" if self.used else "ctx -")
        self._set("elapsed", f"time {clock(self.elapsed)}")
        self._set("step", f"step {self.step}/{self.max_steps}" if self.max_steps else "step -")
        self._set("memory", f"mem {self.memory / (1 << 20):,.0f} MiB")

    def _set(self, name: str, text: str) -> None:
        self.query_one(f"#status-{name}", Static).update(text)
