"""The macOS Seatbelt profile (its text and rules, checked on every platform) and the policy for
machines where no kernel sandbox holds."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from deepresearch_local.tools import python_sandbox
from deepresearch_local.tools.base import ToolContext
from deepresearch_local.tools.python_sandbox import PythonInterpreter
from deepresearch_local.tools.sandbox import seatbelt
from deepresearch_local.tools.sandbox.isolation import Isolation, describe, expected, has_kernel_layer, verify

WORKDIR = "/private/var/folders/xy/T/deepresearch-python-abc"
PYTHON = "/opt/homebrew/Cellar/python@3.12/3.12.4/Frameworks/Python.framework/Versions/3.12/bin/python3.12"
ROOTS = ["/Users/ana/.local/pipx/venvs/deepresearch-local", "/opt/homebrew/Cellar/python@3.12/3.12.4"]


def rules(text: str) -> list[str]:
    """The top-level forms of a profile, each as one string (checks the parentheses balance)."""
    forms, depth, start, in_string, escaped = [], 0, 0, False, False
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(";"))  # comments
    for i, ch in enumerate(text):
        if in_string:
            escaped = not escaped and ch == "\\"
            if ch == '"' and not escaped:
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch == "(":
            if depth == 0:
                start = i
            depth += 1
        elif ch == ")":
            depth -= 1
            assert depth >= 0, "unbalanced parentheses"
            if depth == 0:
                forms.append(" ".join(text[start : i + 1].split()))
    assert depth == 0 and not in_string
    return forms


def allowed(text: str, operation: str) -> list[str]:
    return [r for r in rules(text) if r.startswith(f"(allow {operation}")]


@pytest.fixture
def profile() -> str:
    return seatbelt.profile(WORKDIR, ROOTS, [PYTHON], ["/app/child.py"])


def test_everything_is_denied_unless_allowed(profile: str) -> None:
    forms = rules(profile)
    assert forms[:2] == ["(version 1)", "(deny default)"]
    operations = {re.match(r"\(allow ([\w*-]+)", f).group(1) for f in forms[2:]}  # type: ignore[union-attr]
    assert operations == {
        "process-exec", "signal", "process-info*", "sysctl-read", "file-read-metadata", "file-read*",
        "file-write*", "file-ioctl", "file-map-executable",
    }  # fmt: skip


def test_no_network_at_all(profile: str) -> None:
    assert not any("network" in f or "mach-lookup" in f for f in rules(profile) if f.startswith("(allow"))


def test_writes_only_in_the_working_folder(profile: str) -> None:
    (write,) = allowed(profile, "file-write*")
    assert write == (
        f'(allow file-write* (subpath "{WORKDIR}") (literal "/dev/null") (literal "/dev/dtracehelper"))'
    )


def test_reads_only_the_runtime_the_folder_and_the_system(profile: str) -> None:
    (read,) = allowed(profile, "file-read*")
    subpaths = re.findall(r'\(subpath "([^"]+)"\)', read)
    literals = re.findall(r'\(literal "([^"]+)"\)', read)
    assert subpaths[:3] == [WORKDIR, *ROOTS]
    assert set(subpaths[3:]) == set(seatbelt.SYSTEM_READ_ROOTS)
    assert "/app/child.py" in literals and "/dev/urandom" in literals
    for private in ("/Users", "/Users/ana", "/private/var", "/private/tmp", "/Volumes", "/"):
        assert private not in subpaths
    assert allowed(profile, "file-read-metadata") == ["(allow file-read-metadata)"]  # stat, no contents


def test_native_code_loads_only_from_the_runtime_and_the_system(profile: str) -> None:
    (mapping,) = allowed(profile, "file-map-executable")
    subpaths = re.findall(r'\(subpath "([^"]+)"\)', mapping)
    assert subpaths[:2] == ROOTS and "/System" in subpaths and "/usr/lib" in subpaths
    assert WORKDIR not in subpaths  # code cannot write a library and load it


def test_only_the_interpreter_may_be_executed_and_only_itself_signalled(profile: str) -> None:
    assert allowed(profile, "process-exec") == [f'(allow process-exec (literal "{PYTHON}"))']
    assert not allowed(profile, "process-fork")
    assert allowed(profile, "signal") == ["(allow signal (target self))"]
    assert allowed(profile, "process-info*") == ["(allow process-info* (target self))"]


def test_paths_are_quoted() -> None:
    text = seatbelt.profile('/tmp/a "b"\\c', [], ["/py"])
    assert '(subpath "/tmp/a \\"b\\"\\\\c")' in text
    rules(text)


def test_command_runs_the_child_under_the_profile() -> None:
    argv = seatbelt.command("/usr/bin/python3", "/app/child.py", "/tmp", ["/usr/lib"])
    assert argv[:2] == [seatbelt.SANDBOX_EXEC, "-p"]
    assert argv[3:] == ["/usr/bin/python3", "-I", "/app/child.py"]
    assert "(deny default)" in argv[2]


def test_availability_and_expected_layers_per_platform() -> None:
    assert not seatbelt.available("linux") and not seatbelt.available("win32")
    assert expected("win32") == Isolation(
        "Windows", False, {"kernel": "off: no operating-system sandbox on Windows"}
    )
    assert expected("darwin").kernel is seatbelt.available("darwin")
    assert has_kernel_layer({"seatbelt": "on: x"}) and not has_kernel_layer({"audit_hook": "on"})


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the kernel layers measured here are Linux's"
)
def test_verify_reports_the_layers_in_force_by_trying() -> None:
    found = verify()
    assert found.verified and found.kernel and found.platform == "Linux"
    assert found.layers["seccomp"] == "on" and found.layers["namespaces"] == "on"


def _without_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(python_sandbox, "expected", lambda: Isolation("Windows", False, {}))


def test_without_a_kernel_sandbox_online_runs_refuse_code(monkeypatch: pytest.MonkeyPatch) -> None:
    if expected().kernel:  # a machine with a kernel sandbox says nothing about it
        assert "no operating-system sandbox" not in PythonInterpreter().description
    _without_kernel(monkeypatch)
    tool = PythonInterpreter()
    assert tool.description.endswith("if it is refused, work without it.)")
    result = tool.call({"code": "print(6 * 7)"}, ToolContext())
    assert result.error and "The code was not run" in result.text and "Windows" in result.text
    assert "allow_unisolated_python" in result.text


@pytest.mark.parametrize(
    "context",
    [
        ToolContext(offline=True),
        ToolContext(allow_unisolated_python=True),
        ToolContext(confirm=lambda _: True),
    ],
    ids=["offline", "setting", "user-said-yes"],
)
def test_without_a_kernel_sandbox_code_runs_when_allowed(
    monkeypatch: pytest.MonkeyPatch, context: ToolContext
) -> None:
    _without_kernel(monkeypatch)
    result = PythonInterpreter().call({"code": "print(6 * 7)"}, context)
    assert result.text == "stdout:\n42\n", result.text


def test_the_user_is_asked_before_each_run_and_can_say_no(monkeypatch: pytest.MonkeyPatch) -> None:
    _without_kernel(monkeypatch)
    asked: list[str] = []

    def no(question: str) -> bool:
        asked.append(question)
        return False

    tool = PythonInterpreter()
    for _ in range(2):
        result = tool.call({"code": "print(6 * 7)"}, ToolContext(confirm=no))
        assert result.error and "The code was not run" in result.text
    assert len(asked) == 2 and "print(6 * 7)" in asked[0]


def test_doctor_reports_the_layers_in_force() -> None:
    from deepresearch_local.cli.doctor import sandbox_status

    status = sandbox_status()
    assert status["verified"] is True
    if sys.platform.startswith("linux"):
        assert status["kernel"] is True
        assert str(status["summary"]).startswith("Linux kernel isolation: namespaces, landlock (ABI ")
    windows = describe(expected("win32"))
    assert windows.startswith("no kernel isolation on Windows") and "allow_unisolated_python" in windows


def test_the_runner_builds_the_seatbelt_command_from_this_python(monkeypatch: pytest.MonkeyPatch) -> None:
    from deepresearch_local.tools.sandbox import runner

    monkeypatch.setattr(seatbelt, "available", lambda platform=None: True)
    argv, status = runner._under_seatbelt(sys.executable, "/tmp/work")
    assert argv[0] == seatbelt.SANDBOX_EXEC and argv[3:5] == [sys.executable, "-I"]
    assert argv[5].endswith("child.py") and status.startswith("on: sandbox-exec")
    (read,) = allowed(argv[2], "file-read*")
    assert f'(subpath "{os.path.realpath(sys.base_prefix)}")' in read  # the runtime this Python needs
    assert f'(literal "{os.path.realpath(argv[5])}")' in read  # the child script itself
    monkeypatch.setattr(seatbelt, "available", lambda platform=None: False)
    assert runner._under_seatbelt(sys.executable, "/tmp/work") == ([sys.executable, "-I", argv[5]], "")


def _fake_sandbox_exec(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, body: str) -> None:
    """Pretend to be a Mac whose ``sandbox-exec`` is the shell script ``body``."""
    from deepresearch_local.tools.sandbox import isolation

    tool = tmp_path / "sandbox-exec"
    tool.write_text("#!/bin/sh\n" + body)
    tool.chmod(0o755)
    monkeypatch.setattr(isolation, "_observed", None)  # restored after the test
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(seatbelt, "SANDBOX_EXEC", str(tool))
    monkeypatch.setattr(seatbelt, "available", lambda platform=None: True)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="runs the child as a Linux child")
def test_a_profile_macos_refuses_runs_no_code_and_turns_the_layer_off(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from deepresearch_local.tools.sandbox import isolation, run_python

    marker = tmp_path / "ran"
    _fake_sandbox_exec(monkeypatch, tmp_path, "echo 'sandbox-exec: unbound variable: target' >&2\nexit 65\n")
    result = run_python(f"open({str(marker)!r}, 'w').write('x')")
    assert not marker.exists()
    assert "did not start Python (sandbox-exec said: sandbox-exec: unbound variable: target)" in result.error
    assert result.layers["seatbelt"].startswith("off: the profile was refused")
    found = isolation.expected()  # later runs follow the no-kernel-sandbox policy
    assert found.verified and not found.kernel


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="runs the child as a Linux child")
def test_the_seatbelt_command_line_starts_the_child(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A stand-in ``sandbox-exec`` that checks its profile argument and runs the rest: the argv the
    runner builds starts the real child, and the run reports Seatbelt on."""
    from deepresearch_local.tools.sandbox import run_python

    check = (
        '[ "$1" = -p ] && case "$2" in "(version 1)"*) ;; *) exit 64;; esac || exit 64\nshift 2\nexec "$@"\n'
    )
    _fake_sandbox_exec(monkeypatch, tmp_path, check)
    result = run_python("print(6 * 7)")
    assert (result.error, result.stdout.strip()) == ("", "42")
    assert result.layers["seatbelt"].startswith("on: sandbox-exec")
