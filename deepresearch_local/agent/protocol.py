"""Tongyi's ReAct turn format: parse what the model wrote, and format what goes back to it.

An assistant turn is ``<think>...</think>`` followed by exactly one ``<tool_call>...</tool_call>``
or an ``<answer>...</answer>`` (in fold mode also a ``<report>...</report>``). Models, small ones
especially, bend this format in many ways; the parser accepts what it reasonably can and names
the problem otherwise, so the loop can tell the model instead of crashing.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from typing import Any

STOP_STRINGS = ("\n<tool_response>", "<tool_response>")
"""Upstream's stop strings: the model must never write a tool's result itself."""

PYTHON_TOOL = "PythonInterpreter"

_FENCE = re.compile(r"^\s*```[a-zA-Z0-9_-]*\s*\n?(.*?)\n?\s*```\s*$", re.S)
_CODE = re.compile(r"<code>\s*(.*?)\s*(?:</code>|$)", re.S)
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]
    raw: str

    def key(self) -> str:
        """A canonical form for loop detection (same tool, same arguments)."""
        return self.name + json.dumps(self.arguments, sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True)
class ParsedTurn:
    text: str
    """The turn as stored and replayed: cut before any invented ``<tool_response>``."""
    think: str = ""
    tool_call: ToolCall | None = None
    answer: str | None = None
    report: str | None = None
    problems: tuple[str, ...] = field(default_factory=tuple)
    """What was wrong with the format (each becomes part of the observation)."""
    extra_tool_calls: int = 0
    """Tool calls after the first one (ignored, as upstream does)."""
    report_complete: bool = False
    """The report was closed, or an action followed it (only its closing tag was forgotten). A report
    that runs to the end of the turn was cut off (by the token limit or the repetition guard)."""


def cut_hallucinated_response(text: str) -> str:
    """Drop everything from a ``<tool_response>`` the model wrote itself."""
    at = text.find("<tool_response>")
    return text[:at].rstrip() if at >= 0 else text


def _between(text: str, tag: str, *, allow_unclosed: bool = False) -> str | None:
    start = text.find(f"<{tag}>")
    if start < 0:
        return None
    start += len(tag) + 2
    end = text.find(f"</{tag}>", start)
    if end < 0:
        return text[start:].strip() if allow_unclosed else None
    return text[start:end].strip()


_THINK_TAGS = re.compile(r"</?think>")


def _think_end(text: str) -> int:
    """Where the thinking is closed (-1: never). Thoughts may quote the format itself, nested:
    ``<think>...in the format <think>your reasoning</think><answer>your answer</answer>.</think>
    <answer>1871</answer>``; the ``</think>`` that balances the first ``<think>`` ends them, so
    the quoted tags stay thinking. Unbalanced (opened twice, closed once): the first ``</think>``."""
    first = text.find("</think>")
    start = text.find("<think>")
    if first < 0 or start < 0 or start > first:
        return first
    depth = 0
    for tag in _THINK_TAGS.finditer(text, start):
        depth += 1 if tag.group() == "<think>" else -1
        if depth == 0:
            return tag.start()
    return first


def _without_think(text: str) -> str:
    """Text outside the thinking block (tags inside thoughts are not actions)."""
    start = text.find("<think>")
    end = _think_end(text)
    if end >= 0:
        return text[end + len("</think>") :]
    if start >= 0:  # thinking never closed: nothing after it counts, unless it was closed wrongly
        wrong = _misclosed_think(text, start)
        return text[wrong[1] :] if wrong else ""
    return text


def _misclosed_think(text: str, start: int) -> tuple[int, int] | None:
    """Where a ``<think>`` was closed with another tag (``</answer>`` with no ``<answer>`` opened in
    the thoughts, as small models write): (start, end) of that tag, else None."""
    match = re.search(r"</(answer|tool_call|report)>", text[start:])
    if match is None or f"<{match.group(1)}>" in text[start : start + match.start()]:
        return None
    return start + match.start(), start + match.end()


def loads_tolerant(raw: str) -> Any:
    """JSON as small models write it: code fences, trailing commas, single quotes, comments.

    Raises only ``ValueError``: also for runaway nesting (a degenerate ``[[[[...`` reply), and
    lone surrogates from a cut ``\\ud83d`` escape become U+FFFD (they cannot be stored as UTF-8).
    """
    try:
        return _clean_surrogates(_loads(raw))
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None


def _clean_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_clean_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_clean_surrogates(k): _clean_surrogates(v) for k, v in value.items()}
    return value


def _loads(raw: str) -> Any:
    text = raw.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    import json5

    try:
        return json5.loads(text)
    except ValueError:
        pass
    # Prose around the object: take the outermost braces.
    first, last = text.find("{"), text.rfind("}")
    if 0 <= first < last:
        return json5.loads(text[first : last + 1])
    raise ValueError("no JSON object found")


def parse_tool_call(raw: str) -> tuple[ToolCall | None, str | None]:
    """(call, problem). ``raw`` is the text between the tool_call tags."""
    code: str | None = None
    body = raw
    code_match = _CODE.search(raw)
    if code_match:
        code = code_match.group(1)
        body = raw[: code_match.start()] + raw[code_match.end() :]
    if not body.strip() and code is not None:
        return ToolCall(PYTHON_TOOL, {"code": code}, raw), None
    try:
        data = loads_tolerant(body)
    except ValueError as exc:
        return None, f"the tool call is not valid JSON ({exc})"
    if not isinstance(data, dict):
        return None, 'the tool call must be a JSON object with "name" and "arguments"'
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        return None, 'the tool call has no "name"'
    arguments = data.get("arguments", data.get("parameters", {}))
    if isinstance(arguments, str):
        try:
            arguments = loads_tolerant(arguments)
        except ValueError:
            return None, f'the "arguments" of {name} are not a JSON object'
    if not isinstance(arguments, dict):
        return None, f'the "arguments" of {name} must be a JSON object'
    if code is not None:
        arguments = {**arguments, "code": code}
    return ToolCall(name.strip(), arguments, raw), None


def _find_tool_call_block(action_text: str) -> tuple[str | None, int]:
    """The first tool-call body and how many more follow. Accepts a missing closing tag."""
    blocks = re.findall(r"<tool_call>(.*?)(?:</tool_call>|(?=<tool_call>)|$)", action_text, re.S)
    blocks = [b for b in blocks if b.strip()]
    if not blocks:
        return None, 0
    return blocks[0], len(blocks) - 1


def _bare_call(action_text: str) -> str | None:
    """A JSON object with "name" and "arguments" written without tags (or in a code fence)."""
    match = re.search(r"\{[^{}]*\"name\"\s*:\s*\"[^\"]+\".*\}", action_text, re.S)
    return match.group(0) if match and "arguments" in match.group(0) else None


def _call_inside_answer(answer: str) -> ToolCall | None:
    """A tool call (a JSON object with "name" and "arguments", nothing else) given as the answer."""
    stripped = answer.strip()
    if not (stripped.startswith("{") or stripped.startswith("```")) or '"arguments"' not in stripped:
        return None
    call, problem = parse_tool_call(stripped)
    return call if problem is None else None


def parse_turn(text: str) -> ParsedTurn:
    """Parse one assistant turn; never raises."""
    text = cut_hallucinated_response(text)
    think = _between(text, "think", allow_unclosed=True) or ""
    misclosed = (
        _misclosed_think(text, text.find("<think>")) if "<think>" in text and "</think>" not in text else None
    )
    if misclosed:
        think = text[text.find("<think>") + len("<think>") : misclosed[0]].strip()
    if "<think>" not in text and "</think>" in text:  # templates that open <think> in the prompt
        think = text[: text.find("</think>")].strip()
    action = _without_think(text)
    problems: list[str] = []
    if misclosed:
        tag = text[misclosed[0] : misclosed[1]]
        problems.append(f"the thinking was closed with {tag} instead of </think>")
    report = _between(action, "report", allow_unclosed=False)
    complete = report is not None
    if report is None and "<report>" in action:
        report = _between(action, "report", allow_unclosed=True)
        parts = re.split(r"<tool_call>|<answer>", report or "", maxsplit=1)
        report = parts[0].strip()  # not the action
        complete = len(parts) > 1
        problems.append(
            "the <report> was not closed with </report>"
            if complete
            else "the <report> was cut off before </report> (the turn ended inside it)"
        )
    complete = complete and bool(report)

    block, extra = _find_tool_call_block(action)
    answer_pos = action.find("<answer>")
    call_pos = action.find("<tool_call>")
    if answer_pos >= 0 and (call_pos < 0 or answer_pos < call_pos):
        answer = _between(action, "answer", allow_unclosed=True) or ""
        if "</answer>" not in action:
            problems.append("the answer was not closed with </answer>")
        if not answer.strip():
            return ParsedTurn(
                text, think, None, None, report, (*problems, "the <answer> is empty"), 0, complete
            )
        misplaced = _call_inside_answer(answer)
        if misplaced is not None:  # small models sometimes wrap their tool call in <answer>
            note = "the tool call was written inside <answer></answer> instead of <tool_call></tool_call>"
            return ParsedTurn(text, think, misplaced, None, report, (*problems, note), 0, complete)
        return ParsedTurn(text, think, None, answer, report, tuple(problems), 0, complete)

    if block is None:
        bare = _bare_call(action)
        if bare is None:
            if not text.strip():
                problems.append("the reply was empty")
            elif (
                "<think>" in text
                and "</think>" not in text
                and not _misclosed_think(text, text.find("<think>"))
            ):
                problems.append("the thinking never ended (close it with </think>)")
            elif "<tool_call>" in action:
                problems.append("the <tool_call> is empty")
            else:
                problems.append("the reply has neither a <tool_call> nor an <answer>")
            return ParsedTurn(text, think, None, None, report, tuple(problems), 0, complete)
        block = bare
        problems.append("the tool call was written without <tool_call></tool_call> tags")
    call, problem = parse_tool_call(block)
    if problem:
        problems.append(problem)
    return ParsedTurn(text, think, call, None, report, tuple(problems), extra, complete)


def tool_response(observation: str) -> str:
    """A tool's result as the user turn the model expects."""
    return f"<tool_response>\n{observation}\n</tool_response>"


def final_answer_salvage(parsed: ParsedTurn) -> ParsedTurn:
    """The last turn of a run (an answer was asked for), with an answer the model marked but never
    opened: text closed by ``</answer>`` with no ``<answer>`` before it, written as thinking
    (``<think>...</answer>``) or after it. Untagged text is not taken: nothing marks it an answer.
    """
    if parsed.answer is not None or parsed.tool_call is not None:
        return parsed
    text = parsed.text
    end = text.find("</answer>")
    if end < 0 or "<answer>" in text[:end]:
        return parsed
    closed, opened = text.rfind("</think>", 0, end), text.find("<think>", 0, end)
    if closed >= 0:
        start = closed + len("</think>")
    else:
        start = opened + len("<think>") if opened >= 0 else 0
    answer = text[start:end].strip()
    answer = re.sub(r"<report>.*?(?:</report>|$)", "", answer, flags=re.S).strip()
    if not answer or "<tool_call>" in answer:
        return parsed
    note = "the answer was closed with </answer> but never opened with <answer>"
    kept = tuple(p for p in parsed.problems if "neither a <tool_call> nor" not in p)
    return dataclasses.replace(parsed, answer=answer, problems=(*kept, note))
