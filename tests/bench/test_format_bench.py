"""``bench format`` on the real 0.5B model over a few prompts (both modes), and its scoring."""

from __future__ import annotations

import argparse
from pathlib import Path

from deepresearch_local.bench import format as fmt


def test_scoring_follows_the_agent_parser() -> None:
    tools = fmt.bench_tools()
    call = '<tool_call>\n{"name": "search", "arguments": {"query": ["x"]}}\n</tool_call>'
    assert fmt.score(call, tools)[0] == "clean"
    assert fmt.score('{"name": "search", "arguments": {"query": ["x"]}}', tools)[0] == "repaired"
    unknown = fmt.score('<tool_call>\n{"name": "browse", "arguments": {}}\n</tool_call>', tools)
    assert unknown[0] == "unusable" and "unknown tool 'browse'" in unknown[1]
    missing = fmt.score(
        '<tool_call>\n{"name": "visit", "arguments": {"url": "https://a.b"}}\n</tool_call>', tools
    )
    assert missing[0] == "unusable" and "missing argument 'goal'" in missing[1]
    typed = fmt.score('<tool_call>\n{"name": "search", "arguments": {"query": 3}}\n</tool_call>', tools)
    assert typed[0] == "unusable" and "argument 'query' should be array" in typed[1]
    code = '<tool_call>\n{"name": "PythonInterpreter", "arguments": {}}\n<code>print(1)</code>\n</tool_call>'
    assert fmt.score(code, tools) == ("clean", (), "PythonInterpreter")
    assert fmt.score("<answer>Bertozzi, Meldal and Sharpless.</answer>", tools)[0] == "clean"
    assert fmt.score("I think it was Bertozzi.", tools)[0] == "unusable"


def test_bench_format_runs_on_a_few_prompts(qwen05b: Path, capsys: object) -> None:
    args = argparse.Namespace(
        model=str(qwen05b), samples=1, limit=2, max_tokens=40, temperature=0.6, context=2048, threads=1,
        json=False,
    )  # fmt: skip
    result = fmt.from_args(args)
    assert result["prompts"] == 2 and len(result["samples"]) == 4
    free, bound = result["modes"]["free"], result["modes"]["constrained"]
    for mode in (free, bound):
        assert mode["turns"] == 2 and mode["clean"] + mode["repaired"] + mode["unusable"] == 2
        assert mode["decode_tps_median"] > 0
    assert {s["constrained"] for s in result["samples"]} == {False, True}
