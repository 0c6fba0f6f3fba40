"""`ask --fold-keep-fraction` and the fold_keep_fraction setting reach the run's AgentConfig."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from deepresearch_local.agent.config import AgentConfig
from deepresearch_local.cli.research import request_from_args
from deepresearch_local.config import Settings, load_settings, save_settings
from deepresearch_local.service.build import agent_config


def _ask(*argv: str) -> argparse.Namespace:
    from deepresearch_local.cli.ask_cmd import add_parser

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    return parser.parse_args(["ask", "q", *argv])


def _config(*argv: str) -> AgentConfig:
    return agent_config(load_settings(), request_from_args(_ask(*argv)))


def test_the_setting_and_the_flag_reach_the_agent(isolated_home: Path) -> None:
    assert _config().fold_keep_fraction == Settings().fold_keep_fraction == AgentConfig().fold_keep_fraction
    save_settings(Settings(fold_keep_fraction=0.5))
    assert load_settings().fold_keep_fraction == 0.5
    assert _config("--mode", "fold").fold_keep_fraction == 0.5
    assert _config("--fold-keep-fraction", "0").fold_keep_fraction == 0.0  # the flag wins: fold every round


@pytest.mark.parametrize(("value", "message"), [("2", "give 0 to 1"), ("lots", "is not a number")])
def test_a_share_outside_zero_to_one_is_refused(
    value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        _ask("--fold-keep-fraction", value)
    assert message in capsys.readouterr().err
