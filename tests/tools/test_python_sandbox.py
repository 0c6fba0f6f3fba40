"""PythonInterpreter: upstream's output shape, and each isolation layer stopping what it should.

Every run is a real child process. Layers are also switched off one by one (``layers=``) to
prove that each kernel layer holds on its own, not only the audit hook in front of them.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from deepresearch_local.engines.base import CancelToken
from deepresearch_local.tools.base import Tool, ToolContext, schema_of
from deepresearch_local.tools.python_sandbox import PythonInterpreter
from deepresearch_local.tools.sandbox import SandboxLimits, run_python
from deepresearch_local.tools.sandbox.process import group_members
from tests.support.waiting import wait_until

LINUX = sys.platform.startswith("linux")


def call(code: str, **limits: float) -> tuple[str, bool]:
    tool = PythonInterpreter(SandboxLimits(**limits))  # type: ignore[arg-type]
    result = tool.call({"code": code}, ToolContext())
    return result.text, result.error


def wait_group_empty(pgid: int, seconds: float = 60.0) -> list[int] | None:
    deadline = time.monotonic() + seconds
    members = group_members(pgid)
    while members and time.monotonic() < deadline:
        time.sleep(0.05)
        members = group_members(pgid)
    return members


@pytest.fixture
def loopback_server() -> Iterator[tuple[int, list[str]]]:
    """A TCP server on 127.0.0.1 that records every connection it accepts."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.1)
    accepted: list[str] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, peer = server.accept()
            except TimeoutError:
                continue
            accepted.append(f"{peer[0]}:{peer[1]}")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    server.close()


def test_schema_matches_upstream() -> None:
    tool = PythonInterpreter()
    assert isinstance(tool, Tool)
    assert tool.needs_network is False
    schema = schema_of(tool)["function"]
    assert schema["name"] == "PythonInterpreter"
    assert schema["parameters"] == {"type": "object", "properties": {}, "required": []}
    assert "<code>" in schema["description"] and "print()" in schema["description"]


def test_stdout_is_returned_in_upstream_shape() -> None:
    assert call("print(6 * 7)") == ("stdout:\n42\n", False)


def test_stdout_and_stderr_sections() -> None:
    text, error = call("import sys\nprint('out')\nprint('err', file=sys.stderr)")
    assert (text, error) == ("stdout:\nout\n\nstderr:\nerr\n", False)


def test_no_output_says_finished_execution() -> None:
    assert call("x = 1 + 1") == ("Finished execution.", False)


def test_exception_gives_a_traceback_of_the_code_only() -> None:
    text, error = call("print('before')\nvalues = [1, 0]\nvalues[0] / values[1]")
    assert error is True
    assert text.startswith("stdout:\nbefore\n\nstderr:\nTraceback (most recent call last):\n")
    assert '  File "<code>", line 3, in <module>\n    values[0] / values[1]\n' in text
    assert text.endswith("ZeroDivisionError: division by zero\n")
    assert "child.py" not in text


def test_missing_code_and_markdown_fences() -> None:
    tool = PythonInterpreter()
    empty = tool.call({}, ToolContext())
    assert empty.error is True and "<code>" in empty.text and "</code>" in empty.text
    fenced = tool.call({"code": "```python\nprint('fenced')\n```"}, ToolContext())
    assert fenced.text == "stdout:\nfenced\n"


def test_fresh_folder_minimal_environment_and_cleanup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPRESEARCH_TEST_SECRET", "s3cret")
    code = "import os\nprint(os.getcwd())\nprint(os.listdir('.'))\nprint('s3cret' in str(os.environ))"
    result = run_python(code)
    folder, listing, leaked = result.stdout.splitlines()
    assert listing == "[]" and leaked == "False"
    assert Path(folder).name.startswith("deepresearch-python-")
    assert not Path(folder).exists()


def test_isolation_layers_take_effect_here() -> None:
    layers = run_python("pass").layers
    assert layers["audit_hook"] == "on"
    assert layers["rlimits"].startswith("on: RLIMIT_AS, RLIMIT_CPU, RLIMIT_FSIZE")
    if LINUX:  # measured on the CI machines (root, kernel with user namespaces and Landlock)
        assert (layers["namespaces"], layers["seccomp"]) == ("on", "on")
        assert layers["landlock"].startswith("on (ABI ")


CONNECT = """
import socket, time
started = time.monotonic()
try:
    sock = socket.socket()
    sock.settimeout(1)
    sock.connect(({host!r}, {port}))
    print("CONNECTED")
except OSError as exc:
    print(type(exc).__name__, exc.errno, exc)
print("seconds", round(time.monotonic() - started, 2))
"""


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        ({}, "PermissionError None Sandbox: network access is disabled"),
        ({"audit_hook": False}, "PermissionError 1 [Errno 1] Operation not permitted"),  # seccomp
        (
            {"audit_hook": False, "seccomp": False, "landlock": False},
            "OSError 101 [Errno 101] Network is unreachable",  # the namespace has no usable device
        ),
        (
            {"audit_hook": False, "seccomp": False, "namespaces": False},
            "PermissionError 13 [Errno 13] Permission denied",  # Landlock (ABI >= 4) denies TCP connect
        ),
    ],
    ids=["audit-hook", "seccomp", "network-namespace", "landlock"],
)
def test_socket_to_a_loopback_server_never_connects(
    loopback_server: tuple[int, list[str]], layers: dict[str, bool], expected: str
) -> None:
    port, accepted = loopback_server
    result = run_python(CONNECT.format(host="127.0.0.1", port=port), layers=layers)
    assert result.stdout.startswith(expected), result.stdout + result.stderr
    # A connection of our own, accepted after anything the sandbox could have queued before it.
    with socket.create_connection(("127.0.0.1", port), timeout=30) as ours:
        mine = f"127.0.0.1:{ours.getsockname()[1]}"
    deadline = time.monotonic() + 60
    while not accepted and time.monotonic() < deadline:
        time.sleep(0.02)
    assert accepted == [mine]  # ours alone


@pytest.mark.parametrize("layers", [{}, {"audit_hook": False}], ids=["audit-hook", "seccomp"])
def test_socket_to_a_public_ip_is_refused_before_any_packet(layers: dict[str, bool]) -> None:
    # Refused when the socket is created: no socket exists, so nothing can be sent.
    code = CONNECT.replace("    sock.settimeout(1)", "    print('socket created')\n    sock.settimeout(1)")
    result = run_python(code.format(host="8.8.8.8", port=53), layers=layers)
    first, _seconds = result.stdout.splitlines()
    assert first.startswith("PermissionError") and "CONNECTED" not in result.stdout
    assert "socket created" not in result.stdout


def test_tool_reports_blocked_network_clearly() -> None:
    text, error = call("import urllib.request\nurllib.request.urlopen('http://192.0.2.1/', timeout=1)")
    assert error is True
    assert "PermissionError: Sandbox: network access is disabled" in text


WRITE_OUTSIDE = """
import os
try:
    with open({path!r}, "w") as handle:
        handle.write("escaped")
    print("WROTE")
except OSError as exc:
    print(type(exc).__name__, exc.errno)
with open("inside.txt", "w") as handle:
    handle.write("fine")
print(open("inside.txt").read())
"""


@pytest.mark.parametrize(
    ("layers", "expected"),
    [({}, "PermissionError None\nfine\n"), ({"audit_hook": False}, "PermissionError 13\nfine\n")],
    ids=["audit-hook", "landlock"],
)
def test_writing_outside_the_working_folder_is_refused(layers: dict[str, bool], expected: str) -> None:
    target = Path(f"/tmp/escape-{uuid.uuid4().hex}")
    try:
        result = run_python(WRITE_OUTSIDE.format(path=str(target)), layers=layers)
        assert result.stdout == expected, result.stdout + result.stderr
        assert not target.exists()
    finally:
        target.unlink(missing_ok=True)


@pytest.mark.parametrize("layers", [{}, {"audit_hook": False}], ids=["audit-hook", "landlock"])
def test_reading_the_users_files_is_refused(tmp_path: Path, layers: dict[str, bool]) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("private words")
    code = f"try:\n    print(open({str(secret)!r}).read())\n"
    code += "except OSError as exc:\n    print(type(exc).__name__)"
    result = run_python(code, layers=layers)
    assert result.stdout == "PermissionError\n", result.stdout + result.stderr


def test_python_fork_bomb_is_stopped_and_leaves_nothing() -> None:
    result = run_python("import os\nwhile True:\n    os.fork()")
    assert "PermissionError: Sandbox: starting or signalling processes is not allowed (os.fork refused)" in (
        result.stderr
    )
    assert not result.timed_out  # refused at the first fork, not ended by the time limit
    assert wait_group_empty(result.pid) == []


def test_native_fork_bomb_is_stopped_by_the_kernel() -> None:
    code = (
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nforks = 0\n"
        "while True:\n    if libc.fork() < 0:\n"
        "        raise OSError(ctypes.get_errno(), f'fork refused after {forks}')\n"
        "    forks += 1\n"
    )
    result = run_python(code, SandboxLimits(timeout_s=10))
    assert result.stderr.endswith("PermissionError: [Errno 1] fork refused after 0\n"), result.stderr
    assert wait_group_empty(result.pid) == []


def test_processes_left_behind_are_killed_with_the_group() -> None:
    # With seccomp and the hook off, children can be created: the process-group kill must end them.
    code = (
        "import os, time\nfor _ in range(3):\n    if os.fork() == 0:\n        time.sleep(300)\n"
        "        os._exit(0)\nprint('parent done')\n"
    )
    result = run_python(code, layers={"seccomp": False, "audit_hook": False})
    assert result.stdout == "parent done\n"
    assert wait_group_empty(result.pid) == []


def test_allocating_10_gb_fails_with_a_clear_message() -> None:
    text, error = call("data = bytearray(10 * 1024**3)\nprint(len(data))")
    assert error is True
    assert "MemoryError\n" in text
    assert text.endswith(
        "[PythonInterpreter Error] MemoryError: the sandbox allows 2 GiB of memory. "
        "Work on smaller pieces of data."
    )


def test_endless_loop_times_out() -> None:
    started = time.monotonic()
    result = PythonInterpreter(SandboxLimits(timeout_s=2)).call(
        {"code": "while True:\n    pass"}, ToolContext()
    )
    elapsed = time.monotonic() - started
    assert elapsed >= 2  # it ran until the limit (how far past it depends on the machine's load)
    assert result.error is True
    assert result.text.startswith(
        "[PythonInterpreter Error] TimeoutError: Execution timed out after 2 seconds"
    )


def test_cpu_time_limit_kills_with_a_message() -> None:
    text, error = call("while True:\n    pass", timeout_s=20, cpu_seconds=1)
    assert error is True
    assert text == (
        "[PythonInterpreter Error] The process was killed by SIGXCPU because it used up its 1 s of CPU time."
    )


def test_huge_output_is_truncated() -> None:
    text, error = call("print('x' * 5_000_000)")
    assert error is False
    kept = "x" * 20_000
    note = "[... 4,980,001 more characters of stdout not shown. Print a summary or a slice instead.]"
    assert text == f"stdout:\n{kept}\n{note}"


def test_cancel_stops_the_run() -> None:
    """Cancelled once the child really runs; a cancel that did not work would end in the timeout
    (its own text), long before the hour-long sleep ends, so no clock is read here."""
    import psutil

    token = CancelToken()
    children: list[psutil.Process] = []
    # Processes this one already had (an earlier test's, such as multiprocessing's resource
    # tracker, which lives as long as its parent) are not the sandbox's child.
    before = {c.pid for c in psutil.Process().children(recursive=True)}

    def started() -> bool:
        children[:] = [c for c in psutil.Process().children(recursive=True) if c.pid not in before]
        return bool(children)

    def cancel_once_running() -> None:
        wait_until(started, "the child to start")
        token.cancel()

    canceller = threading.Thread(target=cancel_once_running)
    canceller.start()
    tool = PythonInterpreter(SandboxLimits(timeout_s=240))
    result = tool.call({"code": "import time\ntime.sleep(3600)"}, ToolContext(cancel=token))
    canceller.join(60)
    assert result.text == "[PythonInterpreter Error] The run was cancelled."
    assert children and not any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children)


def test_ordinary_code_still_works() -> None:
    code = (
        "import asyncio, threading, json, math, tempfile\n"
        "out = []\nt = threading.Thread(target=lambda: out.append(math.factorial(20)))\nt.start(); t.join()\n"
        "async def main():\n    await asyncio.sleep(0)\n    return 'async'\n"
        "with tempfile.NamedTemporaryFile('w', delete=False) as handle:\n    handle.write('tmp')\n"
        "print(out[0], asyncio.run(main()), json.dumps({'a': 1}), open(handle.name).read())\n"
    )
    assert call(code) == ('stdout:\n2432902008176640000 async {"a": 1} tmp\n', False)


def test_successful_output_is_citable_evidence() -> None:
    result = PythonInterpreter().call({"code": "print(2 ** 10)"}, ToolContext())
    assert [(e.source, e.text, e.kind) for e in result.evidence] == [("python", "1024\n", "computed")]
    assert result.summary.startswith("ran 1 line of Python: exit 0 in ")
    assert os.path.basename(__file__) == "test_python_sandbox.py"
