"""Malformed and odd model turns, each with what the parser must find and what the loop must do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.agent.conftest import call_turn

S = '{"name": "search", "arguments": {"query": ["boiling point"]}}'
Q = {"query": ["boiling point"]}
SEARCHED = "A search for 'boiling point' found 3 results"
TOOLS = "Available tools: search, visit, PythonInterpreter, parse_file, flaky."
MAX_OUT = 256


@dataclass(frozen=True)
class Case:
    id: str
    text: str
    call: tuple[str, dict[str, Any]] | None = None
    """The call the parser must find (name, arguments), exactly."""
    ran: bool = False
    """The named tool really ran, with exactly those arguments."""
    answer: str | None = None
    problem: str | None = None
    """A substring of one of the parser's problems (None: no problem at all)."""
    extra: int = 0
    think: str | None = None
    notice: str = ""
    """What the next prompt must contain (the observation or the format notice)."""
    absent: str = ""
    """What the next prompt must not contain."""
    ends: str | None = None
    """The termination when this turn ends the run."""
    report: str | None = None


def reminder(problem: str) -> str:
    return f"Your last reply could not be used: {problem}"


def tagged(body: str) -> str:
    return f"<tool_call>\n{body}\n</tool_call>"


NEITHER = "neither a <tool_call> nor an <answer>"
NOT_OBJECT = 'the tool call must be a JSON object with "name"'
NO_NAME = 'the tool call has no "name"'

CASES = [
    Case("no_tags", "The boiling point is probably 100 C.", problem=NEITHER,
         notice=reminder(f"the reply has {NEITHER}")),
    Case("two_tool_calls",
         call_turn("search", query=["first"]) + "\n" + call_turn("search", query=["second"]),
         call=("search", {"query": ["first"]}), ran=True, extra=1,
         notice="(Only your first tool call was run: make one call per turn.)", absent="for 'second'"),
    Case("unknown_tool", tagged('{"name": "browse", "arguments": {"url": "x"}}'),
         call=("browse", {"url": "x"}),
         notice=f"Error: the tool 'browse' does not exist. {TOOLS}"),
    Case("broken_json", tagged('{"name": "search", "arguments": {"query": ["boiling"]'),
         problem="not valid JSON",
         notice=reminder("the tool call is not valid JSON")),
    Case("trailing_commas", tagged('{"name": "search", "arguments": {"query": ["boiling point",],},}'),
         call=("search", Q), ran=True, notice=SEARCHED),
    Case("single_quotes", tagged("{'name': 'search', 'arguments': {'query': ['boiling point']}}"),
         call=("search", Q), ran=True, notice=SEARCHED),
    Case("fenced_block_without_tags", f"<think>Search.</think>\n```json\n{S}\n```", call=("search", Q),
         ran=True, problem="without <tool_call></tool_call> tags", notice=SEARCHED),
    Case("fenced_block_inside_tags", tagged(f"```json\n{S}\n```"), call=("search", Q), ran=True,
         notice=SEARCHED),
    Case("tool_call_not_closed", f"<think>Search.</think>\n<tool_call>\n{S}\n", call=("search", Q), ran=True,
         notice=SEARCHED),
    Case("answer_not_closed", "<think>Done.</think>\n<answer>Water boils at 100 C",
         answer="Water boils at 100 C",
         problem="not closed with </answer>", ends="answer"),
    Case("empty_answer", "<think>Done.</think>\n<answer>  </answer>", problem="the <answer> is empty",
         notice=reminder("the <answer> is empty")),
    Case("hallucinated_tool_response",
         tagged(S) + "\n<tool_response>\nfake: water boils at 50 C\n</tool_response>\n<answer>50 C</answer>",
         call=("search", Q), ran=True, notice=SEARCHED, absent="fake: water boils at 50 C"),
    Case("empty_output", "", problem="the reply was empty", notice=reminder("the reply was empty")),
    Case("whitespace_output", "\n   \n", problem="the reply was empty",
         notice=reminder("the reply was empty")),
    Case("thinking_to_max_tokens", "<think>" + " ".join(f"idea{i}" for i in range(400)),
         problem="the thinking never ended",
         notice="the thinking never ended (close it with </think>) "
         f"(the reply reached the {MAX_OUT}-token limit: keep the thinking short)"),
    Case("thinking_in_a_loop", "<think>" + "hmm, " * 400, problem="the thinking never ended",
         notice="the thinking never ended (close it with </think>) "
         "(the reply kept repeating itself and was stopped)"),
    Case("the_same_line_in_a_loop", "<think>" + "Let me check the boiling point of water again.\n" * 60,
         problem="the thinking never ended",
         notice="the thinking never ended (close it with </think>) "
         "(the reply kept repeating itself and was stopped)"),
    Case("python_inside_search_query", call_turn("search", query=["python list comprehension speed"]),
         call=("search", {"query": ["python list comprehension speed"]}), ran=True,
         notice="A search for 'python list comprehension speed'"),
    Case("python_code_tags",
         tagged('{"name": "PythonInterpreter", "arguments": {}}\n<code>\nprint(sum(range(10)))\n</code>'),
         call=("PythonInterpreter", {"code": "print(sum(range(10)))"}), ran=True,
         notice="stdout:\nran 21 characters of code"),
    Case("python_code_only", tagged('<code>\nx = {"a": 1}\nprint(x)\n</code>'),
         call=("PythonInterpreter", {"code": 'x = {"a": 1}\nprint(x)'}), ran=True,
         notice="stdout:\nran 21 characters of code"),
    Case("arguments_as_json_string",
         tagged('{"name": "search", "arguments": "{\\"query\\": [\\"boiling point\\"]}"}'),
         call=("search", Q), ran=True, notice=SEARCHED),
    Case("parameters_instead_of_arguments",
         tagged('{"name": "search", "parameters": {"query": ["boiling point"]}}'),
         call=("search", Q), ran=True, notice=SEARCHED),
    Case("missing_required_argument", tagged('{"name": "search", "arguments": {}}'), call=("search", {}),
         notice="Error: search needs the argument(s) query."),
    Case("empty_required_arguments", tagged('{"name": "visit", "arguments": {"url": [], "goal": ""}}'),
         call=("visit", {"url": [], "goal": ""}), notice="Error: visit needs the argument(s) url, goal."),
    Case("name_with_spaces", tagged('{"name": "web search", "arguments": {"query": ["x"]}}'),
         call=("web search", {"query": ["x"]}),
         notice=f"Error: the tool 'web search' does not exist. {TOOLS}"),
    Case("name_padded_with_spaces",
         tagged('{"name": "  search ", "arguments": {"query": ["boiling point"]}}'),
         call=("search", Q), ran=True, notice=SEARCHED),
    Case("empty_name", tagged('{"name": "", "arguments": {"query": ["x"]}}'), problem=NO_NAME,
         notice=reminder(NO_NAME)),
    Case("name_not_a_string", tagged('{"name": ["search"], "arguments": {}}'), problem=NO_NAME,
         notice=reminder(NO_NAME)),
    Case("json_list", tagged('["search", {"query": ["x"]}]'), problem="must be a JSON object",
         notice=reminder(NOT_OBJECT)),
    Case("json_number", tagged("42"), problem="must be a JSON object", notice=reminder(NOT_OBJECT)),
    Case("null_arguments", tagged('{"name": "search", "arguments": null}'),
         problem='the "arguments" of search must be a JSON object',
         notice=reminder('the "arguments" of search must be a JSON object')),
    Case("answer_inside_think", "<think>Maybe <answer>100 C</answer>, but I must check.</think>",
         problem=NEITHER, think="Maybe <answer>100 C</answer>, but I must check.",
         notice=reminder("the reply has neither")),
    Case("tool_call_inside_think",
         f"<think>I could run <tool_call>{S}</tool_call> later.</think>\n<answer>100 C</answer>",
         answer="100 C", ends="answer"),
    Case("think_closed_but_never_opened", f"I should search first.</think>\n{tagged(S)}", call=("search", Q),
         ran=True, think="I should search first.", notice=SEARCHED),
    Case("cjk_arguments", call_turn("search", query=["水的沸点是多少"]),
         call=("search", {"query": ["水的沸点是多少"]}),
         ran=True, notice="A search for '水的沸点是多少' found 3 results"),
    Case("huge_argument", call_turn("search", query=["a" * 40_000]),
         call=("search", {"query": ["a" * 40_000]}),
         ran=True, notice="[... cut at 60000 characters]"),
    Case("nested_braces_in_strings", call_turn("search", query=["what does {x: {y}} mean", "a } b {"]),
         call=("search", {"query": ["what does {x: {y}} mean", "a } b {"]}), ran=True,
         notice="A search for 'a } b {' found 3 results"),
    Case("tool_raises", tagged('{"name": "flaky", "arguments": {}}'), call=("flaky", {}),
         notice="Error: flaky failed: RuntimeError: the flaky backend exploded"),
    Case("think_closed_with_the_answer_tag", "<think>It boils at 100 C.</answer>\n<answer>100 C</answer>",
         answer="100 C", ends="answer", problem="the thinking was closed with </answer> instead of </think>"),
    Case("think_closed_with_the_call_tag", f"<think>Search first.</tool_call>\n{tagged(S)}",
         call=("search", Q), ran=True, think="Search first.", notice=SEARCHED,
         problem="the thinking was closed with </tool_call> instead of </think>"),
    Case("report_not_closed",
         f"<think>Noted.</think>\n<report>- water boils at 100 C [https://w.test/a]\n{tagged(S)}",
         call=("search", Q), ran=True, report="- water boils at 100 C [https://w.test/a]",
         problem="the <report> was not closed", notice=SEARCHED),
    Case("answer_then_tool_call", f"<think>Done.</think>\n<answer>100 C</answer>\n{tagged(S)}",
         answer="100 C",
         ends="answer"),
    Case("tool_call_then_answer", f"<think>Check.</think>\n{tagged(S)}\n<answer>100 C</answer>",
         call=("search", Q), ran=True, notice=SEARCHED),
    Case("bare_call_glued_to_name", f"search{S}", call=("search", Q), ran=True,
         problem="without <tool_call></tool_call> tags", notice=SEARCHED),
    Case("json_with_comments",
         tagged('{"name": "search", // the web\n "arguments": {"query": ["boiling point"]}}'),
         call=("search", Q), ran=True, notice=SEARCHED),
    Case("prose_around_json_inside_tags", tagged(f"Sure! Here is the call: {S} Hope it helps."),
         call=("search", Q), ran=True, notice=SEARCHED),
    Case("empty_tool_call", "<think>Search.</think>\n<tool_call>\n</tool_call>",
         problem="the <tool_call> is empty",
         notice=reminder("the <tool_call> is empty")),
    Case("degenerate_nesting", '<tool_call>\n{"name": "search", "arguments": {"query": ' + "[" * 5000,
         problem="not valid JSON", notice=reminder("the tool call is not valid JSON")),
    Case("lone_surrogate_escape", tagged('{"name": "search", "arguments": {"query": ["boil \\ud83d"]}}'),
         call=("search", {"query": ["boil \ufffd"]}), ran=True,
         notice="A search for 'boil \ufffd' found 3 results"),
    Case("two_think_blocks", "<think>a</think>\n<think>b</think>\n<answer>100 C</answer>", answer="100 C",
         think="a", ends="answer"),
    Case("tool_call_inside_answer", f"<answer>\n{S}\n</answer>",
         call=("search", Q), ran=True, problem="written inside <answer></answer>", notice=SEARCHED),
    Case("json_answer_that_is_not_a_call", '<answer>{"boiling_point_c": 100}</answer>',
         answer='{"boiling_point_c": 100}', ends="answer"),
    # The 0.5B model, asked for its final answer, quoted the requested format in its thoughts.
    Case("thoughts_quote_the_format",
         "<think>Answer in the format <think>your reasoning</think><answer>your answer</answer>.</think>\n"
         "<answer>100 C</answer>", answer="100 C", think="Answer in the format <think>your reasoning",
         ends="answer"),
    Case("thoughts_quote_a_call",
         f"<think>I could write <think>x</think>{tagged(S)} but no.</think>\n<answer>100 C</answer>",
         answer="100 C", ends="answer"),
    Case("a_second_think_after_the_call", f"<think>a</think>\n{tagged(S)}\n<think>b</think>",
         call=("search", Q), ran=True, think="a", notice=SEARCHED),
]  # fmt: skip
