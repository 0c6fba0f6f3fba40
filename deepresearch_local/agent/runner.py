"""One research run: the loop that calls the model, runs tools, commits every step, and reports.

``Researcher.ask`` starts a run and ``Researcher.resume`` continues a killed one; both yield the
typed events of ``agent.events``. The loop's state is the list of committed steps (see
``agent.steps``), so a run killed at any moment continues from its last committed step: each
pass of the loop looks at the last step's kind and takes the one move that follows it. The moves
live in their own modules (``turn``, ``toolrun``, ``retry``, ``resum``, ``reporting``, ``seed``)
and get a :class:`~deepresearch_local.agent.state.RunState`, never the ``Researcher``.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from deepresearch_local.agent import prompts, retry, seed
from deepresearch_local.agent import steps as S
from deepresearch_local.agent.budget import TurnSizes
from deepresearch_local.agent.config import AgentConfig
from deepresearch_local.agent.ending import Ending, answered, final_answer, final_report, unanswered
from deepresearch_local.agent.events import (
    AgentEvent,
    AnswerReady,
    Cancelled,
    ErrorEvent,
    RunFinished,
    RunStarted,
)
from deepresearch_local.agent.generation import ModelCall
from deepresearch_local.agent.prompting import Prompter
from deepresearch_local.agent.reporting import replay_report, write_report
from deepresearch_local.agent.state import RunState
from deepresearch_local.agent.stats import RunStats
from deepresearch_local.agent.toolrun import run_tool
from deepresearch_local.agent.turn import next_turn
from deepresearch_local.engines.base import CancelToken, Engine
from deepresearch_local.errors import ContextOverflow, EngineError
from deepresearch_local.store.sessions import SessionStore
from deepresearch_local.tools.base import ToolContext, ToolRegistry, shown_texts

Move = Generator[AgentEvent, None, Ending | None]
"""One pass of the loop: its events, then how the run ends (None: it goes on)."""


class Researcher:
    """Runs research with one engine, one tool registry and one session store."""

    def __init__(
        self,
        engine: Engine,
        tools: ToolRegistry,
        store: SessionStore,
        config: AgentConfig | None = None,
        *,
        offline: bool = False,
        today: date | None = None,
        report_path: Path | None = None,
    ) -> None:
        self.engine = engine
        self.tools = tools
        self.store = store
        self.config = config or AgentConfig()
        self.offline = offline
        self.today = today or date.today()
        self.report_path = report_path
        self.cancel = CancelToken()
        self.context = ToolContext(engine=engine, offline=offline, cancel=self.cancel)
        self.run_id: str | None = None
        """The run being driven (set by ``ask`` and ``resume``)."""
        self.meta: dict[str, Any] = {}
        """Stored with each run (how to reopen the engine and tools when resuming)."""

    # ------------------------------------------------------------ budget and prompts

    @property
    def prompter(self) -> Prompter:
        return Prompter(self.engine, self.config, self.tools, self.offline, self.today)

    @property
    def sizes(self) -> TurnSizes:
        return self.prompter.sizes

    @property
    def budget(self) -> int:
        """The configured budget, never more than the engine's real context minus the output limit."""
        return self.prompter.budget

    @property
    def max_output(self) -> int:
        """Tokens one turn may generate (``agent.budget`` sizes it with the budget)."""
        return self.prompter.max_output

    def system_message(self, tools: bool = True) -> str:
        return self.prompter.system_message(tools)

    def render(self, messages: list[dict[str, Any]]) -> str:
        return self.prompter.render(messages)

    def messages(
        self, question: str, steps: list[S.Step], share: float | None = None
    ) -> list[dict[str, Any]]:
        return self.prompter.messages(question, steps, share)

    def report_path_for(self, run_id: str) -> Path:
        if self.report_path is not None:
            return self.report_path
        from deepresearch_local.paths import get_paths

        return get_paths().data_dir / "reports" / f"{run_id}.md"

    # ------------------------------------------------------------ entry points

    def ask(self, question: str, session_id: str | None = None) -> Iterator[AgentEvent]:
        """Start a run (a follow-up when ``session_id`` names a session with a previous report)."""
        if session_id is None:
            session_id = self.store.create_session(_title(question))
        previous = self.store.latest_report(session_id)
        question_id = self.store.add_question(session_id, question)
        prompt_question = question
        if previous:
            prompt_question = prompts.render("question_followup", question=question, report=previous)
        config = {
            **self.config.to_dict(),
            "prompt_question": prompt_question,
            "offline": self.offline,
            "meta": self.meta,
            "started": self._started(),
        }
        run_id = self.store.start_run(session_id, question_id, self.config.mode, config)
        yield from self._drive(session_id, run_id, question, prompt_question, resumed=False)

    def _started(self) -> dict[str, Any]:
        """What ``RunStarted`` shows about the engine, stored so a replay shows the same."""
        info = self.engine.info
        context = self.engine.context_size() or 0
        return {
            "budget_tokens": self.budget,
            "context_tokens": context,
            "model": info.model,
            "backend": info.backend,
        }

    def resume(self, run_id: str) -> Iterator[AgentEvent]:
        run = self.store.run(run_id)
        prompt_question = str(run.config.get("prompt_question") or run.question)
        yield from self._drive(run.session_id, run_id, run.question, prompt_question, resumed=True)

    # ------------------------------------------------------------ the loop

    def _state(self, run_id: str, question: str, prompt_question: str) -> RunState:
        """The run's state from its committed steps; the tool context's hooks look at this run."""
        self.run_id = run_id
        steps = [S.Step(r.index, r.kind, r.data) for r in self.store.steps(run_id)]
        self.context.local_texts = lambda: [
            str(e["text"]) for e in self.store.evidence(run_id) if e.get("kind") == "file"
        ]
        self.context.seen_texts = lambda: shown_texts(prompt_question, steps)  # visit's URL sources
        for step in steps:  # links met on pages visited before a resume
            if step.kind == "tool":
                self.context.web_links.update(str(u) for u in step.data.get("links") or [])
        cfg = self.config
        call = ModelCall(
            self.engine, cfg.sampling, cfg.enable_thinking, self.cancel, self.context.engine_lock
        )
        return RunState(
            run_id=run_id,
            question=question,
            prompt_question=prompt_question,
            steps=steps,
            store=self.store,
            tools=self.tools,
            context=self.context,
            prompter=self.prompter,
            call=call,
            report_path=self.report_path_for(run_id),
            stats=RunStats.from_steps(steps),
            started=RunState.clock_start(steps),
        )

    def _drive(
        self, session_id: str, run_id: str, question: str, prompt_question: str, *, resumed: bool
    ) -> Iterator[AgentEvent]:
        state = self._state(run_id, question, prompt_question)
        info = self.engine.info
        yield RunStarted(
            session_id,
            run_id,
            question,
            self.config.mode,
            state.prompter.budget,
            self.engine.context_size() or 0,
            self.config.max_llm_calls,
            resumed,
            info.model,
            info.backend,
        )
        yield from _answered_before(state)
        ending: Ending = ("no_answer", None)
        try:
            while True:
                if self.cancel.cancelled:
                    yield Cancelled(len(state.steps))
                    ending = ("cancelled", _pending_answer(state.steps))
                    break
                outcome = yield from _move(state)
                if outcome is not None:
                    ending = outcome
                    break
        except ContextOverflow as exc:
            yield ErrorEvent(str(exc))
            ending = ("context_exhausted", _pending_answer(state.steps))
        except EngineError as exc:
            yield ErrorEvent(str(exc))
            ending = ("error", _pending_answer(state.steps))
        yield self._finish(session_id, state, ending)

    def _finish(self, session_id: str, state: RunState, ending: Ending) -> RunFinished:
        termination, answer = ending
        stats = state.stats
        status = {"cancelled": "cancelled", "error": "failed"}.get(termination, "finished")
        report = final_report(state.steps)
        elapsed = state.elapsed()  # stored with the stats: a replay shows the same run time
        self.store.finish_run(
            state.run_id, status, termination, answer, report, {**stats.to_dict(), "elapsed": elapsed}
        )
        return RunFinished(
            termination,
            answer,
            session_id,
            state.run_id,
            str(state.report_path) if report else None,
            state.turn,
            stats.llm_calls,
            stats.max_prompt_tokens,
            elapsed,
            stats.prompt_tokens,
            stats.reused_tokens,
            stats.completion_tokens,
        )


# ---------------------------------------------------------------- the moves


def _move(state: RunState) -> Move:
    """The one move that follows the last committed step."""
    if not state.steps:
        if seed.wanted(state):
            seed.commit(state)
        else:
            yield from next_turn(state)
        return None
    last = state.steps[-1]
    match last.kind:
        case "seed":  # the opening library search: run it like a call of the model's
            yield from run_tool(state, last)
        case "model":
            return (yield from _after_model_turn(state, last))
        case "report":
            return answered(state.steps)
        case _:  # a tool result, a notice, a forced instruction or a summary: the model's turn
            yield from next_turn(state)
    return None


def _after_model_turn(state: RunState, last: S.Step) -> Move:
    if last.data.get("answer"):  # AnswerReady came with the step
        if not state.config.write_report:
            return answered(state.steps)
        yield from write_report(state, str(last.data["answer"]))
    elif last.data.get("forced"):  # the final turn brought no answer
        return unanswered(state.steps)
    elif last.data.get("tool_call") and retry.report_left_out(state.config, state.steps, last):
        yield from retry.ask_for_report(state)
    elif last.data.get("tool_call"):
        yield from run_tool(state, last)
    else:
        yield from retry.remind(state, last)
    return None


def _answered_before(state: RunState) -> Iterator[AgentEvent]:
    """A run answered before a kill: consumers still get the ending."""
    steps = state.steps
    last_kind = steps[-1].kind if steps else None
    if last_kind == "report" or (last_kind == "model" and steps[-1].data.get("answer")):
        final = final_answer(steps)
        if final:
            yield AnswerReady(final)
        if last_kind == "report":
            yield replay_report(state.report_path, steps[-1])


def _pending_answer(steps: list[S.Step]) -> str | None:
    """The answer of a run stopped (cancelled, an engine error) while its report was being written."""
    last = steps[-1] if steps else None
    if last is not None and last.kind == "model" and last.data.get("answer"):
        return str(last.data["answer"])
    return None


def _title(question: str) -> str:
    line = " ".join(question.split())
    return line if len(line) <= 80 else line[:77] + "..."
