"""HTTP plumbing for the OpenAI-compatible engine: requests, error messages and server discovery.

``discover`` asks each kind of server, in turn, for the context it really serves: llama.cpp's
llama-server (``/props``), vLLM (``max_model_len`` in ``/v1/models``), LM Studio (``/api/v0``)
and Ollama (``/api/ps``, ``/api/show``). llama-cpp-python's server exposes no context size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from deepresearch_local.errors import ContextOverflow, EngineError

PROBE_TIMEOUT = 10.0
_CTX_IN_MESSAGE = re.compile(r"maximum context length is (\d+)|context window of (\d+)", re.IGNORECASE)
_OLLAMA_MAX = (
    "Ollama /api/show model_info context_length: the model's maximum; Ollama serves num_ctx, often "
    "smaller (OLLAMA_CONTEXT_LENGTH), and silently truncates longer prompts"
)


def positive_int(value: Any) -> int | None:
    """``value`` if it is a positive int (not a bool), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


@dataclass
class ServerFacts:
    """What ``discover`` learned about a server."""

    model: str
    listed: list[str]
    context: int | None = None
    context_source: str = ""
    context_is_upper_bound: bool = False
    kind: str = "unknown"
    chat_template: str | None = None
    special_tokens: dict[str, str] = field(default_factory=dict)
    tokenize_endpoint: str | None = None


class Server:
    """A connection to an OpenAI-compatible server at ``root`` (the URL without ``/v1``)."""

    def __init__(self, root: str, api_key: str | None, timeout: float) -> None:
        self.root = root
        self.base_url = root + "/v1"
        self.timeout = timeout
        self.learned_context: int | None = None
        """The context size named by the last context-overflow error, if it named one."""
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(headers=headers, timeout=httpx.Timeout(timeout, connect=10.0))

    def close(self) -> None:
        self.client.close()

    # ------------------------------------------------------------ requests and errors

    def request(
        self, method: str, path: str, body: Any = None, timeout: float | None = None
    ) -> dict[str, Any]:
        """Send a request and return its JSON object; raise ``EngineError`` on any failure."""
        url = self.root + path
        try:
            resp = self.client.request(method, url, json=body, timeout=timeout or self.client.timeout)
        except httpx.TransportError as exc:
            raise self.transport_error(exc) from exc
        if resp.status_code >= 400:
            raise self.http_error(resp)
        try:
            data = resp.json()
        except ValueError as exc:
            raise EngineError(f"{url} did not answer with JSON: {resp.text[:200]!r}") from exc
        return data if isinstance(data, dict) else {"data": data}

    def probe(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        """Like ``request`` for optional endpoints: any failure gives ``{}``."""
        try:
            return self.request(method, path, body, timeout=PROBE_TIMEOUT)
        except EngineError:
            return {}

    def transport_error(self, exc: Exception) -> EngineError:
        if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
            return EngineError(
                f"cannot reach the server at {self.base_url}: is it running? ({exc}) Start it (for example "
                "`llama-server -m model.gguf --port 8080`) or pass the right --base-url."
            )
        if isinstance(exc, httpx.ReadTimeout):
            return EngineError(f"The server at {self.base_url} sent nothing for {self.timeout:g} s.")
        if isinstance(exc, ValueError):
            return EngineError(f"The server at {self.base_url} streamed something that is not JSON: {exc}")
        return EngineError(f"The connection to {self.base_url} failed: {type(exc).__name__}: {exc}")

    def http_error(self, resp: httpx.Response) -> EngineError:
        """An ``EngineError`` with the server's message; a context error becomes ``ContextOverflow``."""
        try:
            data = resp.json()
        except ValueError:
            data = {}
        err = data.get("error", data) if isinstance(data, dict) else {}
        err = err if isinstance(err, dict) else {"message": str(err)}
        message = str(err.get("message") or err.get("detail") or resp.text[:500] or resp.reason_phrase)
        found = _CTX_IN_MESSAGE.search(message)
        n_ctx = positive_int(err.get("n_ctx")) or (int(found.group(1) or found.group(2)) if found else None)
        where = f"HTTP {resp.status_code} from {resp.request.method} {resp.request.url}"
        if n_ctx or "context" in str(err.get("code") or err.get("type") or ""):
            self.learned_context = n_ctx or self.learned_context
            return ContextOverflow(f"The server refused the prompt as too long: {message} ({where})")
        hint = ""
        if resp.status_code in (401, 403):
            hint = " Check the API key (--api-key, DEEPRESEARCH_API_KEY or OPENAI_API_KEY)."
        return EngineError(f"The server answered {where}: {message}.{hint}")

    # ------------------------------------------------------------ discovery

    def discover(self, model: str | None) -> ServerFacts:
        """List the models, pick ``model`` (or the first), and find the context the server serves."""
        listing = self.request("GET", "/v1/models")
        entries = [e for e in listing.get("data") or [] if isinstance(e, dict) and "id" in e]
        listed = [str(e["id"]) for e in entries]
        if not model and not listed:
            raise EngineError(f"The server at {self.base_url} lists no models. Pass --model with its name.")
        facts = ServerFacts(model=model or listed[0], listed=listed)
        entry = next((e for e in entries if e["id"] == facts.model), {})
        found = self._llama_server(facts) or self._vllm(facts, entry) or self._lmstudio(facts)
        found = found or self._ollama(facts)
        if found:
            facts.context, facts.context_source, facts.context_is_upper_bound = found
        facts.tokenize_endpoint = self._find_tokenizer(facts.model)
        if facts.tokenize_endpoint == "/extras/tokenize" and facts.kind == "unknown":
            facts.kind = "llama-cpp-python"
        return facts

    def _llama_server(self, facts: ServerFacts) -> tuple[int, str, bool] | None:
        props = self.probe("GET", "/props")
        if "default_generation_settings" not in props and "n_ctx" not in props:
            return None
        facts.kind = "llama-server"
        template = props.get("chat_template")
        facts.chat_template = template if isinstance(template, str) and template.strip() else None
        facts.special_tokens = {
            k: props[k] for k in ("bos_token", "eos_token") if isinstance(props.get(k), str)
        }
        settings = props.get("default_generation_settings")
        n = positive_int(settings.get("n_ctx")) if isinstance(settings, dict) else None
        n = n or positive_int(props.get("n_ctx"))
        return (n, "llama-server /props n_ctx", False) if n else None

    @staticmethod
    def _vllm(facts: ServerFacts, entry: dict[str, Any]) -> tuple[int, str, bool] | None:
        if n := positive_int(entry.get("max_model_len")):
            facts.kind = "vllm"
            return n, "vLLM /v1/models max_model_len", False
        return None

    def _lmstudio(self, facts: ServerFacts) -> tuple[int, str, bool] | None:
        got = self.probe("GET", "/api/v0/models/" + quote(facts.model, safe="/:@"))
        if "loaded_context_length" not in got and "max_context_length" not in got:
            return None
        facts.kind = "lmstudio"
        if n := positive_int(got.get("loaded_context_length")):
            return n, "LM Studio /api/v0 loaded_context_length", False
        if n := positive_int(got.get("max_context_length")):
            return n, "LM Studio /api/v0 max_context_length (the model's maximum; not loaded yet)", True
        return None

    def _ollama(self, facts: ServerFacts) -> tuple[int, str, bool] | None:
        show = self.probe("POST", "/api/show", {"model": facts.model, "name": facts.model})
        if "model_info" not in show and "modelfile" not in show:
            return None
        facts.kind = "ollama"
        for m in self.probe("GET", "/api/ps").get("models") or []:
            loaded = isinstance(m, dict) and facts.model in (m.get("name"), m.get("model"))
            if loaded and (n := positive_int(m.get("context_length"))):
                return n, "Ollama /api/ps context_length (loaded)", False
        found = re.search(r"^num_ctx\s+(\d+)", str(show.get("parameters") or ""), re.MULTILINE)
        if found:
            return int(found.group(1)), "Ollama /api/show num_ctx parameter", False
        info = show.get("model_info")
        for key, value in info.items() if isinstance(info, dict) else ():
            if key.endswith(".context_length") and (n := positive_int(value)):
                return n, _OLLAMA_MAX, True
        return None

    def _find_tokenizer(self, model: str) -> str | None:
        probes = {
            "/tokenize": {"content": "Hello", "prompt": "Hello", "model": model},
            "/extras/tokenize": {"input": "Hello", "model": model},
        }
        for path, body in probes.items():
            if isinstance(self.probe("POST", path, body).get("tokens"), list):
                return path
        return None
