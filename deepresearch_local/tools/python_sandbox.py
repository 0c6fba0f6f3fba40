"""``PythonInterpreter``: the model's code runs in a locked-down child process, never in ours.

Each call gets a fresh temporary folder (deleted afterwards), a minimal environment, a wall-clock
timeout (50 s by default) and resource limits (memory, CPU time, file size, processes, open
files). On Linux the child also enters a user + network namespace (no route anywhere), restricts
itself with Landlock (reads only Python and system libraries, writes only its folder, no TCP)
and a seccomp filter (no new processes, no exec, no sockets); everywhere, a Python audit hook
refuses the same things with a readable message. On macOS the child runs under Seatbelt
(``sandbox/seatbelt.py``). Where no kernel layer holds (Windows, a Mac without ``sandbox-exec``)
an online run runs code only when the user allows it. When the run ends or times out the child's
whole process group is killed. What this does and does not guarantee: ``SANDBOX.md``.

The result follows upstream's shape: ``stdout:`` / ``stderr:`` sections, a timeout line, and
``Finished execution.`` when nothing was printed.
"""

from __future__ import annotations

import hashlib
import re
import signal
from collections.abc import Mapping
from typing import Any

from deepresearch_local.tools.base import Evidence, ToolContext, ToolResult
from deepresearch_local.tools.sandbox import ExecutionResult, SandboxLimits, run_python
from deepresearch_local.tools.sandbox.isolation import expected
from deepresearch_local.tools.texts import load

NAME = "PythonInterpreter"
_FENCE = re.compile(r"^\s*```[\w+-]*[ \t]*\n(.*?)\n?```\s*$", re.S)


def extract_code(arguments: Mapping[str, Any]) -> str:
    """The code the parser put in ``arguments["code"]``, without a Markdown fence around it."""
    code = arguments.get("code")
    if not isinstance(code, str):
        return ""
    fenced = _FENCE.match(code)
    return fenced.group(1) if fenced else code


def _human_bytes(count: int) -> str:
    """2147483648 -> "2 GiB", 805306368 -> "768 MiB"."""
    value, unit = float(count), "bytes"
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            break
        value /= 1024
    return f"{value:.1f}".removesuffix(".0") + f" {unit}"


def format_observation(result: ExecutionResult, limits: SandboxLimits) -> str:
    """Turn an execution into the text the model sees (upstream's shape, plus clear limit messages)."""
    texts = load("python_interpreter")
    if result.error:
        return texts["start_failed"].format(error=result.error)
    parts: list[str] = []
    for stream, text, dropped in (
        ("stdout", result.stdout, result.stdout_dropped),
        ("stderr", result.stderr, result.stderr_dropped),
    ):
        if not text and not dropped:
            continue
        body = text
        if dropped:
            note = texts["truncated"].format(count=f"{dropped:,}", stream=stream)
            separator = "" if text.endswith("\n") or not text else "\n"
            body = f"{text}{separator}{note}"
        parts.append(f"{stream}:\n{body}")
    parts.extend(_diagnoses(result, limits))
    observation = "\n".join(parts)
    return observation if observation.strip() else "Finished execution."


def _diagnoses(result: ExecutionResult, limits: SandboxLimits) -> list[str]:
    """Lines that say why a run ended abnormally, in words the model can act on."""
    texts = load("python_interpreter")
    if result.cancelled:
        return [texts["cancelled"]]
    if result.timed_out:
        seconds = f"{limits.timeout_s:g}"
        return [texts["timeout"].format(seconds=seconds)]
    lines: list[str] = []
    last_error = result.stderr.rstrip().rsplit("\n", 1)[-1] if result.stderr else ""
    if last_error.startswith("MemoryError") and limits.memory_bytes is not None:
        lines.append(texts["memory"].format(limit=_human_bytes(limits.memory_bytes)))
    code = result.exit_code
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        cpu_seconds = limits.child_limits()["cpu_seconds"]
        why = {"SIGXCPU": texts["cpu"], "SIGKILL": texts["sigkill"]}.get(name, "").format(seconds=cpu_seconds)
        lines.append(texts["killed"].format(signal=name, why=why))
    return lines


class PythonInterpreter:
    """The ``PythonInterpreter`` tool. Arguments are ``{}``; the code comes from ``<code>`` tags."""

    name = NAME
    needs_network = False

    def __init__(self, limits: SandboxLimits | None = None) -> None:
        self.limits = limits or SandboxLimits()
        texts = load("python_interpreter")
        self.description = texts["description"]
        if not expected().kernel:  # the model learns up front that code may be refused here
            self.description += texts["description_unisolated"]
        self.parameters: Mapping[str, Any] = {"type": "object", "properties": {}, "required": []}

    def call(self, arguments: Mapping[str, Any], context: ToolContext) -> ToolResult:
        code = extract_code(arguments)
        if not code.strip():
            return ToolResult(load("python_interpreter")["no_code"], error=True, summary="no code given")
        refusal = self._unisolated_refusal(code, context)
        if refusal is not None:
            return ToolResult(refusal, error=True, summary="PythonInterpreter refused: no OS sandbox here")
        lines = code.count("\n") + 1
        plural = "s" if lines != 1 else ""
        context.progress(f"running {lines} line{plural} of Python (up to {self.limits.timeout_s:g} s)")
        result = run_python(code, self.limits, cancel=context.cancel)
        text = format_observation(result, self.limits)
        failed = bool(result.error) or result.timed_out or result.cancelled or result.exit_code != 0
        evidence = []
        if result.stdout and not failed:
            digest = hashlib.sha256(code.encode("utf-8")).hexdigest()[:12]
            evidence.append(
                Evidence(
                    source="python",
                    location=f"code {digest}",
                    text=result.stdout,
                    title="PythonInterpreter output",
                    kind="computed",
                )
            )
        outcome = "timed out" if result.timed_out else f"exit {result.exit_code}"
        summary = f"ran {lines} line{plural} of Python: {outcome} in {result.duration_s:.1f} s"
        return ToolResult(text, evidence=evidence, error=failed, summary=summary)

    @staticmethod
    def _unisolated_refusal(code: str, context: ToolContext) -> str | None:
        """Where no kernel sandbox holds, an online run runs code only if the user allows it:
        the setting, or a yes to the question asked before each run (the TUI asks)."""
        isolation = expected()
        if isolation.kernel or context.offline or context.allow_unisolated_python:
            return None
        texts = load("python_interpreter")
        if context.confirm is not None and context.confirm(
            texts["confirm"].format(platform=isolation.platform, code=code).strip()
        ):
            return None
        return texts["not_isolated"].format(platform=isolation.platform).strip()
