"""What changes inside a frozen (PyInstaller) build: the sandbox needs a real Python, the MLX check
runs in-process. The bundle itself is built and run by .ci/pyinstaller-smoke."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from deepresearch_local.hardware import parsers
from deepresearch_local.hardware.probe import SubprocessRunner, probe_mlx
from deepresearch_local.tools.sandbox import interpreter, run_python
from tests.packaging.fakes import write_program

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
"""This interpreter (the fixture below replaces ``sys.executable`` with a fake app)."""


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Pretend to be a frozen app whose executable is not Python; PATH holds only a scratch folder."""
    app = write_program(tmp_path / "app" / "deepresearch", "exit 2\n")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(app))
    monkeypatch.delenv(interpreter.PYTHON_ENV, raising=False)
    path = tmp_path / "path"
    path.mkdir()
    monkeypatch.setenv("PATH", str(path))
    return path


def test_outside_a_frozen_build_the_child_runs_under_this_python() -> None:
    assert interpreter.find_python() == sys.executable
    assert run_python("print(6 * 7)").stdout == "42\n"


def test_a_frozen_build_uses_the_python_named_in_the_environment(
    frozen: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(interpreter.PYTHON_ENV, PYTHON)
    real = interpreter.find_python()
    assert real is not None and Path(real).resolve() == Path(PYTHON).resolve()
    result = run_python("import sys; print(sys.version_info >= (3, 10), 6 * 7)")
    assert (result.stdout, result.error) == ("True 42\n", "")


def test_a_frozen_build_finds_python3_on_path_through_a_launcher_shim(frozen: Path) -> None:
    """A pyenv-style shim is resolved to the interpreter behind it (the child's minimal env has no shims)."""
    write_program(frozen / "python3", f'exec "{PYTHON}" "$@"\n')
    real = interpreter.find_python()
    assert real is not None and Path(real).resolve() == Path(PYTHON).resolve()
    assert run_python("print('frozen ok')").stdout == "frozen ok\n"


def test_a_python_older_than_3_10_is_refused(frozen: Path) -> None:
    # Answers the version check the way Python 3.8 would: an empty line.
    write_program(frozen / "python3", 'echo ""\n')
    write_program(frozen / "python", "exit 1\n")
    assert interpreter.find_python() is None


def test_the_app_itself_is_never_taken_for_python(frozen: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(interpreter.PYTHON_ENV, PYTHON)
    monkeypatch.setattr(sys, "executable", PYTHON)  # the "app" is this very interpreter
    assert interpreter.find_python() is None


def test_without_python_the_tool_says_how_to_enable_it(frozen: Path) -> None:
    from deepresearch_local.tools.python_sandbox import format_observation
    from deepresearch_local.tools.sandbox import SandboxLimits

    result = run_python("print(1)")
    assert (result.exit_code, result.error) == (None, interpreter.MISSING)
    text = format_observation(result, SandboxLimits())
    assert text.startswith("[PythonInterpreter Error] The sandbox could not start Python: this standalone")
    assert "DEEPRESEARCH_PYTHON" in text and "Python 3.10" in text


def test_the_mlx_check_runs_in_process_when_frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    report = {"mlx": "0.29.1", "metal": False, "cuda": False, "mlx_lm": "0.28.0"}
    check = f"import json; print('DRL_MLX ' + json.dumps({report!r}))"
    monkeypatch.setattr(parsers, "MLX_CHECK", check)
    expected = probe_mlx(SubprocessRunner(), apple_silicon=False)  # the normal way: a subprocess
    assert (expected.available, expected.version) == (True, "0.28.0")

    def refuse(argv: Sequence[str]) -> str | None:
        raise AssertionError(f"a frozen app must not start itself: {list(argv)}")

    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert probe_mlx(refuse, apple_silicon=False) == expected
    monkeypatch.setattr(parsers, "MLX_CHECK", "raise RuntimeError('MLX blew up')")
    broken = probe_mlx(refuse, apple_silicon=True)
    assert (broken.available, broken.reason) == (False, "the MLX check crashed or timed out")


def test_the_spec_collects_what_the_app_loads_by_name() -> None:
    spec = (ROOT / "packaging" / "pyinstaller" / "deepresearch.spec").read_text("utf-8")
    compile(spec, "deepresearch.spec", "exec")
    for needed in (
        'collect_submodules("deepresearch_local")',
        'collect_data_files("deepresearch_local")',
        'collect_dynamic_libs("llama_cpp")',
        '"deepresearch_local/catalog_data"',
        '("child.py", "linux.py")',
        'collect_submodules("textual.widgets")',
    ):
        assert needed in spec, needed
    entry = (ROOT / "packaging" / "pyinstaller" / "entry.py").read_text("utf-8")
    assert "from deepresearch_local.cli.main import main" in entry and "sys.exit(main())" in entry
