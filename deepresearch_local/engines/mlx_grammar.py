"""Grammar-constrained actions for the MLX engine: llguidance as an mlx-lm logits processor.

The language is the llama.cpp engine's: :func:`constrained.plan_for` picks the GBNF grammar from
:mod:`tool_grammar`, and llguidance's own converter turns it into the Lark it compiles; each
tool's arguments are its JSON schema, checked by llguidance's JSON support (``%json``) where the
llama.cpp engine uses llama.cpp's schema converter, so no llama-cpp-python is needed (a Mac
running MLX has none). The processor masks the logits of each step to the
tokens the grammar allows. Where the plan leaves thinking free, it only watches the generated
text until ``</think>`` and takes over from the next token: same ``generate_step``, same KV
cache, nothing prefilled again.

llguidance is optional (``pip install 'deepresearch-local[mlx-grammar]'``); without it the engine
says so once and generates unconstrained, and the agent's handling of malformed calls applies.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from deepresearch_local.engines.constrained import THINK_CLOSE, Switch, plan_for
from deepresearch_local.engines.tool_grammar import json_placeholders, tool_functions

INSTALL_HINT = "pip install 'deepresearch-local[mlx-grammar]'"


def missing() -> str | None:
    """Why tool calls cannot be constrained on MLX here (None: they can)."""
    try:
        import llguidance  # noqa: F401
    except ImportError:
        return f"the llguidance package is not installed ({INSTALL_HINT})"
    return None


@lru_cache(maxsize=16)
def lark_of(gbnf: str) -> str:
    """The Lark text llguidance compiles, converted from our GBNF grammar (same language)."""
    from llguidance.gbnf_to_lark import gbnf_to_lark

    return str(gbnf_to_lark(gbnf))


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _names(body: str) -> list[tuple[int, int, str]]:
    """(start, end, name) of the symbols a Lark rule body refers to, outside strings and regexes."""
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch in '"/':  # a "string" or a /regex/: skip it, escapes included
            j = i + 1
            while j < len(body) and body[j] != ch:
                j += 2 if body[j] == "\\" else 1
            i = j + 1
        elif (m := _NAME.match(body, i)) is not None:
            out.append((i, m.end(), m.group()))
            i = m.end()
        else:
            i += 1
    return out


def lark_with_json(gbnf: str, schemas: Sequence[Mapping[str, Any]]) -> str:
    """Lark for a grammar built with ``tool_grammar.json_placeholders``: each mark becomes the
    tool's schema as llguidance's ``%json``. The converter makes terminals of everything it can,
    and a terminal cannot hold ``%json``: every symbol that leads to an argument rule becomes a
    rule (lower case)."""
    lark = lark_of(gbnf)
    header, _, text = lark.partition("\n") if lark.startswith("%") else ("", "", lark)
    blocks: list[list[str]] = []  # one definition each: "NAME: body" and its indented lines
    for line in text.split("\n"):
        if blocks and (line[:1].isspace() or not line):
            blocks[-1].append(line)
        elif line:
            blocks.append([line])
    bodies = {b[0].split(":", 1)[0].strip(): "\n".join(b).split(":", 1)[1] for b in blocks}
    marks = {
        name: int(body.strip().strip('"').removeprefix("@json-arguments-").removesuffix("@"))
        for name, body in bodies.items()
        if body.strip().startswith('"@json-arguments-')
    }
    if len(marks) != len(schemas):
        raise ValueError(f"expected {len(schemas)} argument marks in the grammar, found {len(marks)}")
    promote = set(marks)
    grown = True
    while grown:
        grown = False
        for name, body in bodies.items():
            if name not in promote and any(n in promote for _, _, n in _names(body)):
                promote.add(name)
                grown = True

    def renamed(body: str) -> str:
        out, last = [], 0
        for start, end, n in _names(body):
            if n in promote:
                out += [body[last:start], n.lower()]
                last = end
        return "".join(out) + body[last:]

    lines = [header] if header else []
    for name, body in bodies.items():
        if name in marks:
            schema = json.dumps(schemas[marks[name]], ensure_ascii=False)
            lines.append(f"{name.lower()}: %json {schema}")
        else:
            lines.append(f"{name.lower() if name in promote else name}:{renamed(body)}")
    return "\n".join(lines) + "\n"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "no reason given"


@dataclass(frozen=True)
class GrammarPlan:
    lark: str
    free_until_think_close: bool


def grammar_plan(prompt: str, tools: Sequence[Mapping[str, Any]]) -> GrammarPlan:
    """The llama.cpp engine's grammar for this turn, with each tool's arguments checked by
    llguidance's own JSON-schema support (so no llama-cpp-python is needed, as on a Mac)."""
    plan = plan_for(prompt, tools, json_placeholders)
    schemas = [schema for _name, schema in tool_functions(tools)]
    return GrammarPlan(lark_with_json(plan.grammar, schemas), plan.free_until_think_close)


def ll_tokenizer(hf_tokenizer: Any) -> Any:
    """llguidance's tokenizer for an mlx-lm tokenizer wrapper (or a fast HF tokenizer); ~1 s.

    llguidance takes every added token for a special one, which grammar text cannot match; Qwen
    templates add ``<tool_call>`` and ``</tool_call>`` (and Qwen3 ``<think>``) as plain added
    tokens that models write in one piece. They go into the vocabulary as the text they stand for,
    so the grammar's ``"<tool_call>"`` allows that token, as llama.cpp's grammar does.
    """
    import copy
    import json

    import llguidance

    inner = getattr(hf_tokenizer, "_tokenizer", hf_tokenizer)
    backend = copy.copy(inner.backend_tokenizer)
    backend.no_padding()
    backend.no_truncation()
    data = json.loads(backend.to_str())
    vocab = data.get("model", {}).get("vocab")
    if isinstance(vocab, dict) and _byte_level(data):
        to_unicode = _bytes_to_unicode()
        special = []
        for token in data.get("added_tokens", []):
            if token.get("special", True):
                special.append(token)
            else:
                vocab["".join(to_unicode[b] for b in token["content"].encode())] = token["id"]
        data["added_tokens"] = special
    return llguidance.LLTokenizer(json.dumps(data), eos_token=inner.eos_token_id)


def _byte_level(data: Mapping[str, Any]) -> bool:
    return "ByteLevel" in json.dumps(data.get("pre_tokenizer")) and data.get("model", {}).get("type") == "BPE"


def _bytes_to_unicode() -> dict[int, str]:
    """The byte-level BPE alphabet (GPT-2's): printable bytes stand for themselves, the rest are
    shifted past 255."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    table, shift = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + shift)
            shift += 1
    return table


class ActionProcessor:
    """An mlx-lm logits processor that keeps the action well-formed.

    ``fed_prompt``: prompt tokens mlx-lm feeds in this call (they come first in ``tokens``);
    ``prompt_tokens``: the whole prompt; ``kv_tokens`` reads how many tokens the KV cache holds
    (to show that the switch reuses it). ``switch`` is set when the grammar took over after
    ``</think>``; ``problem`` when it had to give up (the rest of the turn is then free).
    """

    def __init__(
        self,
        tokenizer: Any,
        plan: GrammarPlan,
        *,
        fed_prompt: int,
        prompt_tokens: int,
        kv_tokens: Callable[[], int | None],
    ) -> None:
        self._ll = tokenizer
        self._plan = plan
        self._fed_prompt, self._prompt_tokens, self._kv_tokens = fed_prompt, prompt_tokens, kv_tokens
        self._seen = 0
        self._tail = b""
        self._matcher: Any = None
        self._mask: Any = None
        self.switch: Switch | None = None
        self.problem: str | None = None
        if not plan.free_until_think_close:
            self._start(b"")

    @property
    def bound(self) -> bool:
        return self._matcher is not None and self.problem is None

    def _start(self, leftover: bytes) -> None:
        import llguidance
        import numpy as np

        matcher = llguidance.LLMatcher(self._ll, self._plan.lark, log_level=0)
        if matcher.is_error():
            self.problem = "the grammar did not compile: " + _first_line(matcher.get_error())
            return
        self._matcher = matcher
        self._mask = np.full(((self._ll.vocab_size + 31) // 32,), -1, dtype=np.int32)
        if leftover:  # text after </think> in the same token: it must already fit the grammar
            self._consume(self._ll.tokenize_bytes(leftover))

    def _consume(self, tokens: list[int]) -> None:
        # A finished grammar has allowed only EOS; mlx-lm may still hand it over (it computes one
        # step ahead), and a stopped matcher takes nothing more.
        if not self.bound or not tokens or self._matcher.is_stopped():
            return
        if not self._matcher.consume_tokens(tokens) or self._matcher.is_error():
            self.problem = "the grammar rejected the text: " + _first_line(self._matcher.get_error())

    def _watch(self, tokens: list[int]) -> None:
        """Free text: look for ``</think>``; from there on, the grammar."""
        for i, token in enumerate(tokens):
            self._tail = (self._tail + self._ll.decode_bytes([token]))[-64:]
            at = self._tail.find(THINK_CLOSE.encode())
            if at < 0:
                continue
            free = self._seen + i + 1
            held = self._kv_tokens()
            total = self._prompt_tokens + free
            # KV holds the prompt and every free token but the newest (mlx-lm feeds it next step).
            self.switch = Switch(free, min(held, total) if held is not None else 0, total)
            self._start(self._tail[at + len(THINK_CLOSE) :])
            self._consume(tokens[i + 1 :])
            return

    def __call__(self, tokens: Any, logits: Any) -> Any:
        import mlx.core as mx
        import numpy as np

        new = [int(t) for t in tokens[self._fed_prompt + self._seen :].tolist()]
        if self._matcher is None and self.problem is None:
            self._watch(new)
        else:
            self._consume(new)
        self._seen += len(new)
        if not self.bound:
            return logits
        self._matcher.unsafe_compute_mask_ptr(self._mask.ctypes.data, self._mask.nbytes)
        if self._matcher.is_error():
            self.problem = "the grammar could not go on: " + _first_line(self._matcher.get_error())
            return logits
        allowed = np.unpackbits(self._mask.view(np.uint8), bitorder="little").astype(bool)
        width = logits.shape[-1]
        allowed = allowed[:width] if allowed.size >= width else np.pad(allowed, (0, width - allowed.size))
        return mx.where(mx.array(allowed), logits, mx.array(-float("inf"), dtype=logits.dtype))
