"""A scripted engine described by a JSON file, so subprocess tests can drive ``ask`` end to end.

``{"replies": [...], "select": "sequential" | "tool_responses" | "round", "report": "...",
"rules": [{"has": [...], "lacks": [...], "reply": "..."}], "context_tokens": 32768, "delay": 0.0}``.
``tool_responses`` picks the reply by the number of tool results in the prompt and ``round`` by
fold mode's round number, so a resumed process answers exactly as the killed one would have.
``rules`` come first: the first whose ``has`` strings are all in the prompt and ``lacks`` strings
are not answers it. ``report`` answers the report pass.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from deepresearch_local.engines.scripted import ScriptedEngine
from deepresearch_local.errors import EngineError, UsageError

_ROUND = re.compile(r"\(round (\d+) of at most")
REPORT_MARKER = "Write the findings section"


def scripted_from_file(path: Path) -> ScriptedEngine:
    try:
        spec: dict[str, Any] = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"Cannot read the scripted-engine file {path}: {exc}") from exc
    replies = [str(r) for r in spec["replies"]]
    select = spec.get("select", "sequential")
    report = str(spec.get("report", "The evidence supports the answer [1]."))
    queue = list(replies)
    rules: list[dict[str, Any]] = list(spec.get("rules", []))

    def choose(prompt: str) -> str:
        if REPORT_MARKER in prompt:
            return report
        for rule in rules:
            if all(h in prompt for h in rule.get("has", [])) and not any(
                x in prompt for x in rule.get("lacks", [])
            ):
                return str(rule["reply"])
        if select == "sequential":
            if not queue:
                raise EngineError("the scripted engine has no reply left")
            return queue.pop(0)
        if select == "round":
            rounds = _ROUND.findall(prompt)
            index = int(rounds[-1]) - 1 if rounds else 0
        else:
            index = prompt.count("<tool_response>")
        return replies[min(index, len(replies) - 1)]

    return ScriptedEngine(
        context_tokens=int(spec.get("context_tokens", 32768)),
        delay=float(spec.get("delay", 0)),
        respond=choose,
    )
