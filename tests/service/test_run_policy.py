"""One rule for when a run probes the network, applied by ``deepresearch ask`` and by the app."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepresearch_local.cli.main import build_parser
from deepresearch_local.cli.research import request_from_args
from deepresearch_local.config import Settings, load_settings, save_settings
from deepresearch_local.service import run_policy
from deepresearch_local.service.build import prepare_run
from deepresearch_local.service.run_policy import decide_run_offline, network_check_needed, uses_server
from deepresearch_local.service.sessions import SessionService
from deepresearch_local.tools.network import NetworkStatus, decide_offline


@pytest.mark.parametrize(
    ("backend", "base_url", "server"),
    [
        ("openai", "http://127.0.0.1:8080/v1", True),
        ("openai", None, True),  # the engine factory then asks for --base-url
        (None, "http://127.0.0.1:8080/v1", True),  # a URL and no backend: the factory picks openai
        ("auto", "http://127.0.0.1:8080/v1", True),
        ("llama.cpp", "http://127.0.0.1:8080/v1", False),  # the factory ignores the URL here
        ("mlx", None, False),
        (None, None, False),
        ("auto", "", False),
    ],
)
def test_which_runs_use_a_server(backend: str | None, base_url: str | None, server: bool) -> None:
    assert uses_server(backend, base_url) is server
    assert network_check_needed(backend, base_url) is not server
    assert network_check_needed(backend, base_url, scripted=True) is False


def _never() -> NetworkStatus:
    raise AssertionError("no network check expected")


def test_decisions() -> None:
    down = lambda: NetworkStatus(False, "cannot reach x:443: boom", True)  # noqa: E731
    local = {"backend": "llama.cpp", "base_url": None, "check": _never}
    asked = decide_run_offline(requested=True, setting=False, **local)  # type: ignore[arg-type]
    assert (asked.offline, asked.reason) == (True, "--offline was given")
    server_but_set = decide_run_offline(
        requested=False, setting=True, backend="openai", base_url="http://h/v1", check=_never
    )
    assert (server_but_set.offline, server_but_set.reason) == (True, "offline is set in the settings")
    server = decide_run_offline(
        requested=False, setting=False, backend="openai", base_url="http://h/v1", check=_never
    )
    assert (server.offline, server.reason) == (False, "the model runs on a server: no network check")
    scripted = decide_run_offline(requested=False, setting=False, scripted=True, **local)  # type: ignore[arg-type]
    assert (scripted.offline, scripted.reason) == (False, "a scripted model: no network check")
    auto = decide_run_offline(requested=False, setting=False, check=down, backend="llama.cpp", base_url=None)
    assert (auto.offline, auto.reason) == (True, "no network (cannot reach x:443: boom): running offline")


CASES = [
    # (backend, base_url) as the CLI flags and as the settings give them
    ("openai", "http://127.0.0.1:9/v1"),
    ("openai", ""),  # the CLI used to probe here and the app not
    ("llama.cpp", "http://127.0.0.1:9/v1"),
    ("llama.cpp", ""),
    ("auto", ""),
]


@pytest.mark.parametrize(("backend", "base_url"), CASES)
def test_the_cli_and_the_app_check_the_network_for_the_same_runs(
    backend: str, base_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Both front ends build runs with ``service.build``: count the probes each one makes."""
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")

    probes: list[str] = []
    real = decide_offline

    def counting(requested: bool, setting: bool = False, *, check: object = None) -> object:
        if not (requested or setting):
            probes.append("probe")
            return real(False, check=lambda: NetworkStatus(True, "reached x:443", True))
        return real(requested, setting)

    monkeypatch.setattr(run_policy, "decide_offline", counting)
    save_settings(Settings(backend=backend, base_url=base_url, model=str(model)))  # type: ignore[arg-type]

    prepare_run(load_settings(), request_from_args(build_parser().parse_args(["ask", "q", "--json"])))
    cli_probes = len(probes)
    probes.clear()
    service = SessionService()
    try:
        assert service.offline() is False
    finally:
        service.close()
    app_probes = len(probes)
    expected = 0 if backend == "openai" else 1
    assert (cli_probes, app_probes) == (expected, expected)
