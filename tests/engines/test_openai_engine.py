"""The OpenAI-compatible engine against a real server: llama-cpp-python's, serving the real Qwen 0.5B GGUF."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deepresearch_local.engines.base import (
    CancelToken,
    Engine,
    Finished,
    GenerationRequest,
    PromptProcessed,
    Sampling,
    TextDelta,
    collect,
)
from deepresearch_local.engines.openai import UNKNOWN_CONTEXT, OpenAIEngine
from deepresearch_local.errors import ContextOverflow, EngineError

if sys.platform == "darwin" and platform.machine() == "arm64":  # no llama-cpp-python in the test extras
    pytest.importorskip("llama_cpp.server.app")

N_CTX = 4096
GREEDY = Sampling.greedy()
MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Count from 1 to 30, separated by commas."},
]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "search",
            "description": "Search the web.",
            "parameters": {
                "type": "object",
                "properties": {"query": {"type": "string"}},
                "required": ["query"],
            },
        },
    }
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server_url(qwen05b: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama-cpp-python's own OpenAI-compatible server, started for this module."""
    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(qwen05b), "--n_ctx", str(N_CTX)]
    cmd += ["--n_threads", str(os.cpu_count() or 1), "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(url + "/v1/models", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url + "/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def engine(server_url: str) -> Iterator[OpenAIEngine]:
    eng = OpenAIEngine(server_url)
    eng.load()
    yield eng
    eng.unload()


def chat(max_tokens: int = 24, **kw: object) -> GenerationRequest:
    return GenerationRequest(messages=MESSAGES, max_tokens=max_tokens, sampling=GREEDY, **kw)  # type: ignore[arg-type]


def test_load_discovers_the_model_and_what_the_server_tells(engine: OpenAIEngine, qwen05b: Path) -> None:
    assert isinstance(engine, Engine)
    info = engine.info
    assert (info.backend, info.model, info.device) == ("openai", str(qwen05b), "remote")
    assert info.details["server"] == "llama-cpp-python"
    # llama-cpp-python's server exposes no n_ctx: the engine says so instead of guessing.
    assert engine.context_size() is None and info.context_tokens is None
    assert info.details["context_source"] == UNKNOWN_CONTEXT
    assert info.details["token_count"] == "exact"
    assert info.details["tokenize_endpoint"] == "/extras/tokenize"


def test_count_tokens_matches_the_model_tokenizer(engine: OpenAIEngine, qwen05b: Path) -> None:
    import llama_cpp

    vocab = llama_cpp.Llama(model_path=str(qwen05b), vocab_only=True, verbose=False)
    for text in ["Hello, world!", "def f(x):\n    return x ** 2  # ünïcødé, 東京", "a" * 300]:
        assert engine.count_tokens(text) == len(vocab.tokenize(text.encode(), add_bos=False, special=True))
    assert engine.count_tokens("") == 0


def test_chat_stream_is_well_formed_and_greedy(engine: OpenAIEngine) -> None:
    events = list(engine.generate(chat()))
    first, deltas, done = events[0], events[1:-1], events[-1]
    assert isinstance(first, PromptProcessed) and isinstance(done, Finished)
    assert deltas and all(isinstance(e, TextDelta) for e in deltas)
    assert first.prompt_tokens == engine.count_tokens(engine.render(MESSAGES)) > 10
    assert done.text == "".join(e.text for e in deltas if isinstance(e, TextDelta))
    assert "1, 2, 3" in done.text
    assert [e.completion_tokens for e in deltas if isinstance(e, TextDelta)] == list(
        range(1, len(deltas) + 1)
    )
    assert done.completion_tokens == len(deltas) and done.prompt_tokens == first.prompt_tokens
    assert done.decode_tps > 0 and done.elapsed_seconds > 0
    assert collect(engine.generate(chat())).text == done.text  # greedy is deterministic


def test_raw_prompt_matches_chat(engine: OpenAIEngine) -> None:
    """The built-in ChatML render equals the model's own template for these messages."""
    prompt = GenerationRequest(prompt=engine.render(MESSAGES), max_tokens=24, sampling=GREEDY)
    assert collect(engine.generate(prompt)).text == collect(engine.generate(chat())).text


def test_tools_are_folded_as_the_builtin_template_declares_them(engine: OpenAIEngine) -> None:
    """Chat with tools sends the same tokens as the built-in template's raw render with tools."""
    messages = [MESSAGES[0], {"role": "user", "content": "Search the web for the population of Tokyo."}]
    via_chat = collect(
        engine.generate(GenerationRequest(messages=messages, tools=TOOLS, max_tokens=12, sampling=GREEDY))
    )
    raw = GenerationRequest(prompt=engine.render(messages, tools=TOOLS), max_tokens=12, sampling=GREEDY)
    via_prompt = collect(engine.generate(raw))
    assert via_chat.prompt_tokens == via_prompt.prompt_tokens == engine.count_tokens(raw.prompt or "") > 100
    assert via_chat.text == via_prompt.text and "search" in via_chat.text


def test_max_tokens_gives_length(engine: OpenAIEngine) -> None:
    done = collect(engine.generate(chat(max_tokens=5)))
    assert (done.reason, done.completion_tokens) == ("length", 5)


def test_stop_strings(engine: OpenAIEngine) -> None:
    full = collect(engine.generate(chat())).text
    stop = "4,"
    assert stop in full
    done = collect(engine.generate(chat(stop=(stop,))))
    assert (done.text, done.reason) == (full[: full.index(stop)], "stop")
    assert done.stop_string in (None, stop)  # the server cut it; llama-cpp-python does not say which


def test_cancel_from_another_thread(engine: OpenAIEngine) -> None:
    cancel = CancelToken()
    request = GenerationRequest(prompt="Write a very long story about a lighthouse.", max_tokens=400)
    events = []
    for event in engine.generate(request, cancel):
        events.append(event)
        if sum(isinstance(e, TextDelta) for e in events) == 3 and not cancel.cancelled:
            threading.Thread(target=cancel.cancel).start()
    done = events[-1]
    assert isinstance(done, Finished) and done.reason == "cancelled"
    assert 3 <= done.completion_tokens < 40
    # The server stopped generating when the connection closed: the next request is not queued behind it.
    after = collect(engine.generate(chat(max_tokens=3)))
    assert after.reason == "length" and after.elapsed_seconds < 15


def test_overflow_teaches_the_real_context(server_url: str) -> None:
    engine = OpenAIEngine(server_url)
    prompt = "hello " * (N_CTX + 100)
    with pytest.raises(ContextOverflow, match=f"maximum context length is {N_CTX}"):
        collect(engine.generate(GenerationRequest(prompt=prompt, max_tokens=4)))
    assert engine.context_size() == N_CTX
    assert engine.info.details["context_source"] == "server error message"
    with pytest.raises(ContextOverflow, match=f"context of {N_CTX}"):  # now refused before sending
        collect(engine.generate(GenerationRequest(prompt=prompt, max_tokens=4)))
    assert collect(engine.generate(chat(max_tokens=2))).completion_tokens == 2


def test_user_context_refuses_long_prompts_before_sending(server_url: str) -> None:
    engine = OpenAIEngine(server_url, context_tokens=64)
    assert engine.context_size() == 64
    assert engine.info.details["context_source"] == "user: --context"
    with pytest.raises(ContextOverflow, match="context of 64"):
        collect(engine.generate(GenerationRequest(prompt="word " * 200)))


def test_unreachable_server_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(EngineError, match=f"cannot reach the server at {url}: is it running?"):
        OpenAIEngine(url).load()
