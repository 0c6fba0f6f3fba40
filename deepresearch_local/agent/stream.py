"""Label streamed model text as thinking, action, report or answer while it arrives."""

from __future__ import annotations

from deepresearch_local.agent.events import DeltaKind

_OPEN: dict[str, DeltaKind] = {
    "<think>": "thinking",
    "<tool_call>": "action",
    "<report>": "report",
    "<answer>": "answer",
}
_CLOSE = {"</think>", "</tool_call>", "</report>", "</answer>"}
_TAGS = sorted([*_OPEN, *_CLOSE], key=len, reverse=True)


class DeltaLabeler:
    """Feed deltas; get (kind, text) pieces. Tags themselves are labelled with what they open."""

    def __init__(self, start: DeltaKind = "text") -> None:
        self.kind: DeltaKind = start
        self._pending = ""

    def feed(self, text: str) -> list[tuple[DeltaKind, str]]:
        self._pending += text
        out: list[tuple[DeltaKind, str]] = []
        while self._pending:
            at = self._pending.find("<")
            if at < 0:
                out.append((self.kind, self._pending))
                self._pending = ""
                break
            if at > 0:
                out.append((self.kind, self._pending[:at]))
                self._pending = self._pending[at:]
                continue
            tag = next((t for t in _TAGS if self._pending.startswith(t)), None)
            if tag is not None:
                if tag in _OPEN:
                    self.kind = _OPEN[tag]
                    out.append((self.kind, tag))
                else:
                    out.append((self.kind, tag))
                    self.kind = "text"
                self._pending = self._pending[len(tag) :]
                continue
            if any(t.startswith(self._pending) for t in _TAGS):
                break  # maybe a tag split across deltas: wait for more
            out.append((self.kind, "<"))
            self._pending = self._pending[1:]
        return _merge(out)

    def flush(self) -> list[tuple[DeltaKind, str]]:
        rest, self._pending = self._pending, ""
        return [(self.kind, rest)] if rest else []


def _merge(pieces: list[tuple[DeltaKind, str]]) -> list[tuple[DeltaKind, str]]:
    merged: list[tuple[DeltaKind, str]] = []
    for kind, text in pieces:
        if merged and merged[-1][0] == kind:
            merged[-1] = (kind, merged[-1][1] + text)
        elif text:
            merged.append((kind, text))
    return merged


class FixedLabel:
    """The labeler of a call whose whole output is one kind (the report pass writes findings)."""

    def __init__(self, kind: DeltaKind) -> None:
        self.kind: DeltaKind = kind

    def feed(self, text: str) -> list[tuple[DeltaKind, str]]:
        return [(self.kind, text)] if text else []

    def flush(self) -> list[tuple[DeltaKind, str]]:
        return []
