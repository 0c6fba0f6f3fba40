"""``--kv-type`` left out: the engine gets the KV cache the recommendation plans for the model on
this machine. On a machine where the f16 cache leaves the real 0.5B model less than the agent's
8K, the run opens with q8_0 (as the refusal used to advise) and answers; a machine with room keeps
f16, and an explicit ``--kv-type`` always wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepresearch_local.config import Settings
from deepresearch_local.engines import factory
from deepresearch_local.engines.base import GenerationRequest, Sampling, TextDelta
from deepresearch_local.engines.llamacpp import LlamaCppEngine
from deepresearch_local.errors import ModelError
from deepresearch_local.hardware.fit import MIN_AGENT_CONTEXT, MemoryBudget, fit
from deepresearch_local.hardware.modelinfo import read_shape
from deepresearch_local.service.engine import choose_engine, engine_spec, open_engine_for
from deepresearch_local.service.request import RunRequest

MiB = 1 << 20
GiB = 1 << 30
SMALL = MemoryBudget.for_machine(3 * GiB + 700 * MiB)
"""700 MiB for the model: f16 holds 6,144 tokens of the 0.5B model's context, q8_0 more than 8K."""
ROOMY = MemoryBudget.for_machine(24 * GiB)


def _on(monkeypatch: pytest.MonkeyPatch, budget: MemoryBudget) -> None:
    monkeypatch.setattr(factory, "machine_budget", lambda backend: budget)


def _engine(model: Path, **request: object) -> LlamaCppEngine:
    choice = choose_engine(Settings(model=str(model)), RunRequest(**request))  # type: ignore[arg-type]
    assert choice.kv_type == (request.get("kv_type") or "auto")  # stored as asked: planned on opening
    engine = open_engine_for(choice)
    assert isinstance(engine, LlamaCppEngine)
    return engine


@pytest.mark.slow
def test_a_small_machine_opens_the_model_with_a_q8_0_cache(
    qwen05b: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shape = read_shape(qwen05b)
    assert fit(shape, SMALL).max_context_tokens < MIN_AGENT_CONTEXT
    assert fit(shape, SMALL, kv_type="q8_0").max_context_tokens >= MIN_AGENT_CONTEXT
    _on(monkeypatch, SMALL)
    engine = _engine(qwen05b)
    assert engine.kv_type == "q8_0"
    engine.load()
    try:
        assert engine.info.details["kv_type"] == "q8_0" and engine.context_size() >= MIN_AGENT_CONTEXT
        assert engine.context_size() == min(fit(shape, SMALL, kv_type="q8_0").max_context_tokens, 32768)
        request = GenerationRequest(
            prompt="The capital of France is", max_tokens=4, sampling=Sampling.greedy()
        )
        text = "".join(e.text for e in engine.generate(request) if isinstance(e, TextDelta))
        assert text.strip()
    finally:
        engine.unload()


def test_room_for_f16_keeps_it_and_a_flag_wins(qwen05b: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _on(monkeypatch, ROOMY)
    assert _engine(qwen05b).kv_type == "f16"
    _on(monkeypatch, SMALL)
    with pytest.raises(ModelError, match=r"pass --kv-type q8_0"):  # asked for f16: refused, with advice
        _engine(qwen05b, kv_type="f16")
    assert _engine(qwen05b, context=8192).kv_type == "q8_0"  # a context asked for that only q8_0 holds
    # Where only the backend is wanted nothing is planned (no probe): "auto" stays.
    choice = choose_engine(Settings(model=str(qwen05b)), RunRequest())
    assert engine_spec(choice, plan_kv=False).kv_type == "auto"


def test_other_backends_and_servers_get_f16() -> None:
    choice = choose_engine(Settings(), RunRequest(backend="openai", base_url="http://127.0.0.1:9/v1"))
    assert engine_spec(choice).kv_type == "f16"
