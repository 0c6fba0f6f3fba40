"""``--cpu-moe N`` travels from the command line to the engine spec, and is stored with the run."""

from __future__ import annotations

from deepresearch_local.cli.main import build_parser
from deepresearch_local.cli.research import request_from_args
from deepresearch_local.config import Settings
from deepresearch_local.service.engine import EngineChoice, choose_engine, engine_spec


def test_the_flag_reaches_the_engine_spec_and_the_stored_choice() -> None:
    args = build_parser().parse_args(["ask", "--model", "m.gguf", "--cpu-moe", "20", "a question"])
    request = request_from_args(args)
    assert request.cpu_moe_layers == 20
    choice = choose_engine(Settings(), request, resolve=False)
    assert engine_spec(choice).cpu_moe_layers == 20
    stored = EngineChoice.from_dict(choice.to_dict())
    assert stored == choice and stored.cpu_moe_layers == 20
    # Older runs stored no such field: the calculator decides, as before.
    assert EngineChoice.from_dict({"model": "m.gguf"}).cpu_moe_layers is None
    plain = build_parser().parse_args(["ask", "--model", "m.gguf", "a question"])
    assert (
        engine_spec(choose_engine(Settings(), request_from_args(plain), resolve=False)).cpu_moe_layers is None
    )
