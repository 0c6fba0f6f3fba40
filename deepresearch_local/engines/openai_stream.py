"""Streaming for the OpenAI-compatible engine: SSE reading on a thread, chunk parsing and metrics.

Servers differ in what they stream: llama-server adds ``timings`` (exact prefill and decode speeds,
and ``cache_n``, the prompt tokens it reused), vLLM and others a final ``usage`` block,
llama-cpp-python neither. The best source available is used; otherwise our own count and clock.
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx

from deepresearch_local.engines.base import (
    CancelToken,
    EngineEvent,
    Finished,
    FinishReason,
    GenerationRequest,
    Meter,
    PromptProcessed,
    StopScanner,
    TextDelta,
)
from deepresearch_local.engines.openai_server import Server, positive_int
from deepresearch_local.errors import EngineError


class SSEStream:
    """Reads a server-sent event stream on a thread, so a cancel never waits for the next chunk.

    ``items`` yields ``("chunk", dict)``, then ``("end", None)``; or ``("error", EngineError)``.
    A connection dropped before any chunk also ends with ``("end", None)``.
    """

    def __init__(self, server: Server, path: str, body: dict[str, Any]) -> None:
        self.items: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._server = server
        self._resp: httpx.Response | None = None
        self._closed = threading.Event()
        threading.Thread(target=self._pump, args=(path, body), daemon=True).start()

    def _pump(self, path: str, body: dict[str, Any]) -> None:
        received = False
        try:
            # A connection of its own: one a failed or cancelled stream leaves is never reused.
            headers = {"Connection": "close"}
            with self._server.client.stream(
                "POST", self._server.root + path, json=body, headers=headers
            ) as resp:
                self._resp = resp
                if resp.status_code >= 400:
                    resp.read()
                    self.items.put(("error", self._server.http_error(resp)))
                    return
                for line in resp.iter_lines():
                    if self._closed.is_set():
                        return
                    data = line[5:].strip() if line.startswith("data:") else ""
                    if data == "[DONE]":
                        break
                    if data:
                        self.items.put(("chunk", json.loads(data)))
                        received = True
            self.items.put(("end", None))
        except Exception as exc:
            if self._closed.is_set():
                return
            if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)) and not received:
                self.items.put(("end", None))  # dropped before any output: the caller asks why
            else:
                self.items.put(("error", self._server.transport_error(exc)))

    def close(self) -> None:
        """Stop reading and shut the socket, which also tells the server to stop generating."""
        self._closed.set()
        stream = self._resp.extensions.get("network_stream") if self._resp is not None else None
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def choice_text(choice: dict[str, Any], thinking: bool) -> tuple[str, bool]:
    """Text of one streamed choice; reasoning a server split out is put back inside ``<think>`` tags."""
    delta = choice.get("delta")
    delta = delta if isinstance(delta, dict) else {}
    content = str(delta.get("content") or choice.get("text") or "")
    reasoning = str(delta.get("reasoning_content") or delta.get("reasoning") or "")
    piece = ""
    if reasoning:
        piece, thinking = ("" if thinking else "<think>\n") + reasoning, True
    if content and thinking:
        piece, thinking = piece + "\n</think>\n\n", False
    return piece + content, thinking


def stream_events(
    server: Server,
    path: str,
    body: dict[str, Any],
    request: GenerationRequest,
    n_prompt: int,
    cancel: CancelToken,
) -> Iterator[EngineEvent]:
    """Stream one request's events; the last is ``Finished``. ``n_prompt`` is our own count."""
    meter, scanner = Meter(), StopScanner(request.stop)
    sse = SSEStream(server, path, body)
    parts: list[str] = []
    usage: dict[str, Any] = {}
    timings: dict[str, Any] = {}
    reason: FinishReason = "stop"
    prompt_event: PromptProcessed | None = None
    thinking = got_chunk = False
    server_stop: str | None = None
    try:
        while scanner.stopped is None:
            try:
                kind, item = sse.items.get(timeout=0.05)
            except queue.Empty:
                kind, item = "", None
            if cancel.cancelled:
                reason = "cancelled"
                break
            if kind == "error":
                raise item
            if kind == "end":
                if not got_chunk:
                    _explain_empty_stream(server, path, body)
                break
            if kind != "chunk":
                continue
            got_chunk = True
            if item.get("error"):
                raise EngineError(f"The server reported an error mid-stream: {item['error']}")
            usage = item.get("usage") or usage
            timings = item.get("timings") or timings
            for choice in item.get("choices") or []:
                piece, thinking = choice_text(choice, thinking)
                if choice.get("finish_reason"):
                    reason = "length" if choice["finish_reason"] == "length" else "stop"
                    if choice.get("stop_reason") in request.stop:  # vLLM names the stop it met
                        server_stop = choice["stop_reason"]
                if not piece:
                    continue
                meter.token()
                if prompt_event is None:
                    prompt_event = _prompt_event(timings, usage, n_prompt, meter)
                    yield prompt_event
                text = scanner.feed(piece)
                if text:
                    parts.append(text)
                    yield TextDelta(text, meter.tokens, meter.decode_tps)
                if scanner.stopped is not None:
                    reason = "stop"
                    break
    finally:
        sse.close()
    tail = scanner.flush() + ("\n</think>\n\n" if thinking else "")
    if tail and reason != "cancelled":
        parts.append(tail)
        yield TextDelta(tail, meter.tokens, meter.decode_tps)
    if prompt_event is None:
        prompt_event = _prompt_event(timings, usage, n_prompt, meter)
        yield prompt_event
    stop = scanner.stopped or (server_stop if reason == "stop" else None)
    yield _finished(reason, "".join(parts), prompt_event, timings, usage, meter, stop)


def _explain_empty_stream(server: Server, path: str, body: dict[str, Any]) -> None:
    """A stream that ends before any chunk hides the server's error: ask again without streaming.

    llama-cpp-python's server does this when the prompt overflows its context; the retry fails
    at once with the message naming its ``n_ctx``.
    """
    retry = {k: v for k, v in body.items() if k != "stream_options"}
    server.request("POST", path, {**retry, "stream": False, "max_tokens": 1})
    raise EngineError(f"The server at {server.base_url} ended the stream without any output; see its log.")


def _prompt_event(
    timings: dict[str, Any], usage: dict[str, Any], n_prompt: int, meter: Meter
) -> PromptProcessed:
    """Prefill metrics: llama-server's timings, else the usage block, else our own count and clock."""
    if "prompt_n" in timings:  # llama-server: exact, with the tokens reused from its cache
        cached = int(timings.get("cache_n") or 0)
        seconds = float(timings.get("prompt_ms") or 0.0) / 1000.0
        return PromptProcessed(int(timings["prompt_n"]) + cached, cached, seconds or meter.prefill_seconds)
    if positive_int(usage.get("prompt_tokens")):
        details = usage.get("prompt_tokens_details")
        cached = int(details.get("cached_tokens") or 0) if isinstance(details, dict) else 0
        return PromptProcessed(int(usage["prompt_tokens"]), cached, meter.prefill_seconds)
    return PromptProcessed(n_prompt, 0, meter.prefill_seconds)


def _finished(
    reason: FinishReason,
    text: str,
    prompt: PromptProcessed,
    timings: dict[str, Any],
    usage: dict[str, Any],
    meter: Meter,
    stop: str | None,
) -> Finished:
    if "prompt_n" in timings or positive_int(usage.get("prompt_tokens")):  # the server's final numbers
        prompt = _prompt_event(timings, usage, prompt.prompt_tokens, meter)
    completion = positive_int(timings.get("predicted_n")) or positive_int(usage.get("completion_tokens"))
    return Finished(
        reason=reason,
        text=text,
        prompt_tokens=prompt.prompt_tokens,
        reused_tokens=prompt.reused_tokens,
        completion_tokens=completion or meter.tokens,
        prefill_tps=float(timings.get("prompt_per_second") or 0.0) or prompt.prefill_tps,
        decode_tps=float(timings.get("predicted_per_second") or 0.0) or meter.decode_tps,
        elapsed_seconds=meter.elapsed,
        stop_string=stop,
    )
