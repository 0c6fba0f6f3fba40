"""The OpenAI-compatible engine against tiny fake servers on 127.0.0.1 that answer like each real one.

Each fake answers only the endpoints that server kind has, with the fields it really sends
(llama-server ``/props``, vLLM ``max_model_len``, LM Studio ``/api/v0``, Ollama ``/api/show``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from deepresearch_local.engines.base import Finished, GenerationRequest, PromptProcessed, Sampling, TextDelta
from deepresearch_local.engines.openai import UNKNOWN_CONTEXT, OpenAIEngine
from deepresearch_local.errors import ContextOverflow, EngineError

MODELS = {"object": "list", "data": [{"id": "qwen3-30b-a3b", "object": "model"}]}
TOOLS = [{"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}]


@dataclass
class SSE:
    """A route answer streamed as server-sent events, ending with ``[DONE]``."""

    chunks: list[dict[str, Any]]


class FakeServer:
    """Answers from a route table ``{(method, path): answer}`` and records every request."""

    def __init__(self, routes: dict[tuple[str, str], Any]) -> None:
        self.routes = routes
        self.requests: list[tuple[str, str, Any, dict[str, str]]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake.answer(self, "GET")

            def do_POST(self) -> None:
                fake.answer(self, "POST")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def answer(self, h: BaseHTTPRequestHandler, method: str) -> None:
        size = int(h.headers.get("Content-Length") or 0)
        body = json.loads(h.rfile.read(size)) if size else None
        path = h.path.split("?")[0]
        self.requests.append((method, path, body, dict(h.headers)))
        status, answer = 404, {"detail": "Not Found"}
        if (method, path) in self.routes:
            answer = self.routes[(method, path)]
            status = 200
            if isinstance(answer, tuple):
                status, answer = answer
        if isinstance(answer, SSE):
            h.send_response(200)
            h.send_header("Content-Type", "text/event-stream")
            h.end_headers()
            for chunk in answer.chunks:
                h.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            h.wfile.write(b"data: [DONE]\n\n")
            return
        data = json.dumps(answer).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def posted(self, path: str) -> list[Any]:
        return [body for method, p, body, _ in self.requests if method == "POST" and p == path]


@pytest.fixture
def fake() -> Iterator[Callable[[dict[tuple[str, str], Any]], FakeServer]]:
    servers: list[FakeServer] = []

    def start(routes: dict[tuple[str, str], Any]) -> FakeServer:
        servers.append(FakeServer({("GET", "/v1/models"): MODELS, **routes}))
        return servers[-1]

    yield start
    for server in servers:
        server.httpd.shutdown()
        server.httpd.server_close()


Fake = Callable[[dict[tuple[str, str], Any]], FakeServer]


def loaded(server: FakeServer, **kw: Any) -> OpenAIEngine:
    engine = OpenAIEngine(server.url + "/v1", **kw)
    engine.load()
    return engine


# ---------------------------------------------------------------- context discovery


@pytest.mark.parametrize(
    "props", [{"default_generation_settings": {"n_ctx": 8192}, "total_slots": 1}, {"n_ctx": 8192}]
)
def test_llama_server_props(fake: Fake, props: dict[str, Any]) -> None:
    template = "{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}"
    server = fake(
        {
            ("GET", "/props"): {**props, "chat_template": template, "bos_token": "<B>"},
            ("POST", "/tokenize"): {"tokens": [1, 2, 3]},
        }
    )
    engine = loaded(server)
    assert engine.context_size() == 8192
    details = engine.info.details
    assert details["context_source"] == "llama-server /props n_ctx"
    assert (details["server"], details["chat_template"], details["token_count"]) == (
        "llama-server",
        "server",
        "exact",
    )
    assert engine.render([{"role": "user", "content": "hi"}]) == "<B>[user]hi"
    assert engine.count_tokens("anything at all") == 3
    assert server.posted("/tokenize")[-1]["content"] == "anything at all"


def test_vllm_max_model_len(fake: Fake) -> None:
    listing = {"data": [{"id": "other"}, {"id": "Qwen/Qwen3-30B-A3B", "max_model_len": 32768}]}
    server = fake({("GET", "/v1/models"): listing, ("POST", "/tokenize"): {"count": 2, "tokens": [5, 6]}})
    engine = loaded(server, model="Qwen/Qwen3-30B-A3B")
    assert engine.context_size() == 32768
    assert engine.info.details["context_source"] == "vLLM /v1/models max_model_len"
    assert engine.info.model == "Qwen/Qwen3-30B-A3B"
    assert engine.count_tokens("x y") == 2
    assert server.posted("/tokenize")[-1]["prompt"] == "x y"


def test_lmstudio_loaded_context(fake: Fake) -> None:
    info = {
        "id": "qwen3-30b-a3b",
        "state": "loaded",
        "max_context_length": 131072,
        "loaded_context_length": 16384,
    }
    engine = loaded(fake({("GET", "/api/v0/models/qwen3-30b-a3b"): info}))
    assert engine.context_size() == 16384
    assert engine.info.details["context_source"] == "LM Studio /api/v0 loaded_context_length"
    assert engine.info.details["server"] == "lmstudio"


def test_lmstudio_not_loaded_is_an_upper_bound(fake: Fake) -> None:
    info = {"id": "qwen3-30b-a3b", "state": "not-loaded", "max_context_length": 131072}
    server = fake({("GET", "/api/v0/models/qwen3-30b-a3b"): info})
    assert loaded(server).context_size() == 131072
    capped = loaded(server, context_tokens=8192)
    assert capped.context_size() == 8192
    assert capped.info.details["context_source"].startswith("user: --context (the server allows up to 131072")


def test_ollama_model_info_says_served_context_may_be_smaller(fake: Fake) -> None:
    show = {
        "modelfile": "FROM x",
        "parameters": "stop <|im_end|>",
        "model_info": {"qwen3moe.context_length": 262144},
    }
    engine = loaded(fake({("POST", "/api/show"): show}))
    assert engine.context_size() == 262144
    source = engine.info.details["context_source"]
    assert source.startswith("Ollama /api/show model_info context_length")
    assert "num_ctx" in source and "truncates" in source


def test_ollama_num_ctx_parameter_and_loaded_model(fake: Fake) -> None:
    show = {"parameters": "num_ctx 8192\nstop <|im_end|>", "model_info": {"qwen3moe.context_length": 262144}}
    engine = loaded(fake({("POST", "/api/show"): show}))
    assert engine.context_size() == 8192
    assert engine.info.details["context_source"] == "Ollama /api/show num_ctx parameter"
    ps = {"models": [{"name": "qwen3-30b-a3b", "model": "qwen3-30b-a3b", "context_length": 4096}]}
    engine = loaded(fake({("POST", "/api/show"): show, ("GET", "/api/ps"): ps}))
    assert engine.context_size() == 4096
    assert engine.info.details["context_source"] == "Ollama /api/ps context_length (loaded)"


def test_unknown_context_and_approximate_counts(fake: Fake) -> None:
    engine = loaded(fake({}))
    assert engine.context_size() is None
    assert engine.info.details["context_source"] == UNKNOWN_CONTEXT
    assert engine.info.details["token_count"] == "approximate"
    assert engine.count_tokens("abcdefg") == 2  # ceil(7 / 3.5)
    assert engine.info.details["chat_template"] == "built-in"
    user = loaded(fake({}), context_tokens=4096)
    assert user.context_size() == 4096
    assert user.info.details["context_source"] == "user: --context"


def test_model_choice_and_empty_listing(fake: Fake) -> None:
    two = {"data": [{"id": "first"}, {"id": "second"}]}
    assert loaded(fake({("GET", "/v1/models"): two})).info.model == "first"
    assert loaded(fake({("GET", "/v1/models"): two}), model="second").info.model == "second"
    with pytest.raises(EngineError, match="lists no models"):
        loaded(fake({("GET", "/v1/models"): {"data": []}}))


def test_base_url_forms_and_api_key(fake: Fake, monkeypatch: pytest.MonkeyPatch) -> None:
    server = fake({})
    monkeypatch.setenv("DEEPRESEARCH_API_KEY", "sk-test")
    for url in (server.url, server.url + "/", server.url + "/v1/"):
        engine = OpenAIEngine(url)
        engine.load()
        assert engine.info.details["base_url"] == server.url + "/v1"
    assert server.requests[0][3]["Authorization"] == "Bearer sk-test"
    err = fake({("GET", "/v1/models"): (401, {"error": {"message": "Invalid API key"}})})
    with pytest.raises(EngineError, match=r"HTTP 401.*Invalid API key.*API key"):
        loaded(err)


# ---------------------------------------------------------------- streaming


def _chunk(content: str = "", finish: str | None = None, **extra: Any) -> dict[str, Any]:
    delta = {"content": content} if content else {}
    delta.update(extra.pop("delta", {}))
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}


def test_llama_server_stream_with_timings_reasoning_and_folded_tools(fake: Fake) -> None:
    timings = {"prompt_n": 12, "cache_n": 30, "prompt_ms": 60.0, "prompt_per_second": 200.0}
    final = {**timings, "predicted_n": 4, "predicted_per_second": 25.0}
    stream = SSE(
        [
            _chunk(delta={"role": "assistant"}),
            _chunk(delta={"reasoning_content": "plan"}, timings=timings),
            _chunk("<tool_call>", timings=timings),
            _chunk("{}</tool_call>", timings=timings),
            _chunk(finish="stop", timings=final, usage={"prompt_tokens": 42, "completion_tokens": 4}),
        ]
    )
    server = fake(
        {
            ("GET", "/props"): {"default_generation_settings": {"n_ctx": 4096}},
            ("POST", "/tokenize"): {"tokens": [1] * 40},
            ("POST", "/v1/chat/completions"): stream,
        }
    )
    engine = loaded(server)
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Search."}]
    request = GenerationRequest(
        messages=messages, tools=TOOLS, stop=("<tool_response>",), sampling=Sampling(seed=7)
    )
    events = list(engine.generate(request))
    assert isinstance(events[0], PromptProcessed) and isinstance(events[-1], Finished)
    assert (events[0].prompt_tokens, events[0].reused_tokens, events[0].prefill_seconds) == (42, 30, 0.06)
    done = events[-1]
    assert done.text == "<think>\nplan\n</think>\n\n<tool_call>{}</tool_call>"
    assert done.text == "".join(e.text for e in events if isinstance(e, TextDelta))
    assert (done.reason, done.completion_tokens, done.decode_tps, done.prefill_tps) == (
        "stop",
        4,
        25.0,
        200.0,
    )
    body = server.posted("/v1/chat/completions")[0]
    assert "tools" not in body
    system = body["messages"][0]["content"]
    assert (
        system.startswith("Be brief.\n\n# Tools")
        and json.dumps(TOOLS[0]) in system
        and "<tool_call>" in system
    )
    assert body["stop"] == ["<tool_response>"] and body["seed"] == 7 and body["stream"] is True
    assert body["stream_options"] == {"include_usage": True} and body["reasoning_format"] == "none"
    assert {"temperature", "top_p", "top_k", "min_p", "presence_penalty", "repeat_penalty"} <= set(body)
    assert body["max_tokens"] == 1024  # below the context left (4096 - 40)


def test_stop_applied_client_side_when_the_server_ignores_it(fake: Fake) -> None:
    pieces = ["Hello", " wor", "ld <tool_", "response> more", " text"]
    stream = SSE([_chunk(p) for p in pieces] + [_chunk(finish="length")])
    server = fake({("POST", "/v1/completions"): stream})
    request = GenerationRequest(prompt="Say it.", stop=("<tool_response>",), max_tokens=50)
    events = list(loaded(server).generate(request))
    done = events[-1]
    assert isinstance(done, Finished)
    assert (done.text, done.reason, done.stop_string) == ("Hello world ", "stop", "<tool_response>")
    assert server.posted("/v1/completions")[0]["prompt"] == "Say it."


def test_http_errors_carry_the_server_message(fake: Fake) -> None:
    server = fake({("POST", "/v1/completions"): (500, {"error": {"message": "CUDA out of memory"}})})
    with pytest.raises(EngineError, match=r"HTTP 500.*CUDA out of memory") as info:
        list(loaded(server).generate(GenerationRequest(prompt="hi")))
    assert not isinstance(info.value, ContextOverflow)


def test_llama_server_context_error_teaches_the_real_context(fake: Fake) -> None:
    error = {"code": 400, "type": "exceed_context_size_error", "n_prompt_tokens": 9000, "n_ctx": 4096}
    error["message"] = "the request exceeds the available context size, try increasing it"
    server = fake({("POST", "/v1/completions"): (400, {"error": error})})
    engine = loaded(server)
    with pytest.raises(ContextOverflow, match="exceeds the available context size"):
        list(engine.generate(GenerationRequest(prompt="long")))
    assert engine.context_size() == 4096
    assert engine.info.details["context_source"] == "server error message"


def test_overflow_is_refused_before_sending_when_counts_are_exact(fake: Fake) -> None:
    server = fake(
        {
            ("GET", "/props"): {"default_generation_settings": {"n_ctx": 100}},
            ("POST", "/tokenize"): {"tokens": [1] * 150},
        }
    )
    with pytest.raises(ContextOverflow, match=r"150 tokens.*context of 100"):
        list(loaded(server).generate(GenerationRequest(prompt="long")))
    assert server.posted("/v1/completions") == []
