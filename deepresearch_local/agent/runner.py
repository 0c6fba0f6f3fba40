"""One research run: the loop that calls the model, runs tools, commits every step, and reports.

``Researcher.ask`` starts a run and ``Researcher.resume`` continues a killed one; both yield the
typed events of ``agent.events``. The loop's state is the list of committed steps (see
``agent.steps``), so a run killed at any moment continues from its last committed step.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from deepresearch_local.agent import fold, prompts, react, retry, seed
from deepresearch_local.agent import steps as S
from deepresearch_local.agent.budget import TurnSizes, turn_sizes
from deepresearch_local.agent.config import AgentConfig
from deepresearch_local.agent.events import (
    AgentEvent,
    AnswerReady,
    Cancelled,
    ContextUsage,
    ErrorEvent,
    RunFinished,
    RunStarted,
    StepStarted,
    Termination,
)
from deepresearch_local.agent.generation import Generated, generate
from deepresearch_local.agent.protocol import parse_turn
from deepresearch_local.agent.reporting import replay_report, write_report
from deepresearch_local.agent.resum import FORCED_TEXT, near_budget
from deepresearch_local.agent.stats import RunStats
from deepresearch_local.agent.step_events import events_of
from deepresearch_local.agent.step_kinds import ForcedStep, ModelStep
from deepresearch_local.agent.toolrun import run_tool
from deepresearch_local.engines.base import CancelToken, Engine
from deepresearch_local.errors import ContextOverflow, EngineError
from deepresearch_local.store.sessions import SessionStore
from deepresearch_local.tools.base import ToolContext, ToolRegistry, shown_texts

FORCED_TERMINATION: dict[str, tuple[Termination, Termination]] = {
    # reason: (termination with an answer, termination without one)
    "max_llm_calls": ("forced_answer", "max_llm_calls"),
    "timeout": ("forced_answer", "timeout"),
    "context": ("forced_answer", "context_exhausted"),
    "loop": ("loop_forced_answer", "no_answer"),
    "unusable": ("forced_answer", "no_answer"),
}


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
    def sizes(self) -> TurnSizes:
        return turn_sizes(self.engine.context_size(), self.config)

    @property
    def budget(self) -> int:
        """The configured budget, never more than the engine's real context minus the output limit."""
        return self.sizes.budget

    @property
    def max_output(self) -> int:
        """Tokens one turn may generate (``agent.budget`` sizes it with the budget)."""
        return self.sizes.max_output

    def system_message(self, tools: bool = True) -> str:
        """Upstream's system message: the role, the tools block, then ``Current date: YYYY-MM-DD`` last.

        The tools are written into the message (as upstream does) rather than passed to the chat
        template, so the date comes after them for every engine, a server's included."""
        text = prompts.load("role")
        if self.config.mode == "fold":
            text += "\n\n" + prompts.load("fold")
        schemas = self._schemas() if tools else []
        if schemas:
            lines = "\n".join(json.dumps(s, ensure_ascii=False) for s in schemas)
            text += "\n\n" + prompts.render("tools", tools=lines)
        return f"{text}\n\nCurrent date: {self.today.isoformat()}"

    def render(self, messages: list[dict[str, Any]]) -> str:
        """A prompt as the engine sees it (the tools are inside the system message already)."""
        return self.engine.render(messages, enable_thinking=self.config.enable_thinking)

    def _schemas(self) -> list[dict[str, Any]]:
        return self.tools.schemas(offline=self.offline)

    def _observation(self, share: float) -> react.Observation:
        """React mode shows each observation within ``share`` of the budget (the store keeps it whole)."""
        limit = int(self.budget * share)
        return lambda step: fold.capped_observation(step, limit, self.engine.count_tokens)

    def messages(
        self, question: str, steps: list[S.Step], share: float | None = None
    ) -> list[dict[str, Any]]:
        system = self.system_message()
        share = self.config.observation_share if share is None else share
        if self.config.mode == "react":
            return react.messages(system, question, steps, self._observation(share))
        overhead = self.engine.count_tokens(self.render([{"role": "system", "content": system}]))
        sizes = self.sizes
        return fold.messages(
            system,
            question,
            steps,
            budget=sizes.budget,
            max_rounds=self.config.max_llm_calls,
            observation_share=share,
            report_cap=sizes.report_cap,
            count=self.engine.count_tokens,
            fixed_overhead=overhead,
            keep_fraction=self.config.fold_keep_fraction,
        )

    def fitted_prompt(self, question: str, steps: list[S.Step], limit: int) -> str:
        """The prompt, with the observations shown smaller (as ReSum's request does) until it fits
        ``limit`` tokens or they are down to a note each."""
        share = self.config.observation_share
        while True:
            prompt = self.render(self.messages(question, steps, share))
            if self.engine.count_tokens(prompt) <= limit or share < 0.01:
                return prompt
            share /= 2

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
        }
        run_id = self.store.start_run(session_id, question_id, self.config.mode, config)
        yield from self._drive(session_id, run_id, question, prompt_question, resumed=False)

    def resume(self, run_id: str) -> Iterator[AgentEvent]:
        run = self.store.run(run_id)
        prompt_question = str(run.config.get("prompt_question") or run.question)
        yield from self._drive(run.session_id, run_id, run.question, prompt_question, resumed=True)

    # ------------------------------------------------------------ the loop

    def _steps(self, run_id: str) -> list[S.Step]:
        return [S.Step(r.index, r.kind, r.data) for r in self.store.steps(run_id)]

    def _commit(self, run_id: str, steps: list[S.Step], kind: str, data: dict[str, Any]) -> S.Step:
        step = S.Step(len(steps), kind, data)
        self.store.add_step(run_id, step.index, kind, data)
        steps.append(step)
        return step

    def _drive(
        self, session_id: str, run_id: str, question: str, prompt_question: str, *, resumed: bool
    ) -> Iterator[AgentEvent]:
        cfg = self.config
        info = self.engine.info
        self.run_id = run_id
        self.context.local_texts = lambda: [
            str(e["text"]) for e in self.store.evidence(run_id) if e.get("kind") == "file"
        ]
        steps = self._steps(run_id)
        self.context.seen_texts = lambda: shown_texts(prompt_question, steps)  # visit's URL sources
        started = time.monotonic() - S.elapsed(steps)
        stats = RunStats.from_steps(steps)
        yield RunStarted(
            session_id,
            run_id,
            question,
            cfg.mode,
            self.budget,
            self.engine.context_size() or 0,
            cfg.max_llm_calls,
            resumed,
            info.model,
            info.backend,
        )
        termination: Termination = "no_answer"
        answer: str | None = None
        last_kind = steps[-1].kind if steps else None
        if last_kind == "report" or (last_kind == "model" and steps[-1].data.get("answer")):
            final = _final_answer(steps)  # answered before a kill: consumers still get the ending
            if final:
                yield AnswerReady(final)
            if last_kind == "report":
                yield replay_report(self, run_id, steps[-1])
        try:
            while True:
                if self.cancel.cancelled:
                    yield Cancelled(len(steps))
                    termination = "cancelled"
                    break
                last = steps[-1] if steps else None
                if last is None and seed.wanted(self):
                    seed.commit(self, run_id, steps, question)
                    continue
                if last is not None and last.kind == "seed":
                    yield from run_tool(self, run_id, steps, last)
                    continue
                if last is not None and last.kind == "report":
                    answer = _final_answer(steps)
                    termination = _answered_termination(steps)
                    break
                if last is not None and last.kind == "model" and last.data.get("answer"):
                    answer = str(last.data["answer"])  # AnswerReady came with the step
                    if not cfg.write_report:
                        termination = _answered_termination(steps)
                        break
                    yield from write_report(self, run_id, steps, question, answer, stats)
                    continue
                if last is not None and last.kind == "model" and last.data.get("forced"):
                    reason = S.forced_reason(steps) or "max_llm_calls"
                    termination = FORCED_TERMINATION[reason][1]
                    break
                if last is not None and last.kind == "model":
                    if last.data.get("tool_call") and retry.report_left_out(self, steps, last):
                        yield from retry.ask_for_report(self, run_id, steps)
                    elif last.data.get("tool_call"):
                        yield from run_tool(self, run_id, steps, last)
                    else:
                        yield from retry.remind(self, run_id, steps, last)
                    continue
                limit = self._limit_reached(steps, started)
                if limit and S.forced_reason(steps) is None:
                    text = prompts.render("forced_answer", reason=FORCED_TEXT[limit])
                    message = f"Limit reached ({FORCED_TEXT[limit]}): asking for a final answer."
                    forced_step = ForcedStep(limit, text, message)
                    self._commit(run_id, steps, forced_step.kind, forced_step.to_dict())
                    yield from events_of(
                        forced_step, turn=len(S.model_steps(steps)), max_steps=cfg.max_llm_calls
                    )
                    continue
                yield from self._model_turn(run_id, steps, prompt_question, started, stats)
        except ContextOverflow as exc:
            yield ErrorEvent(str(exc))
            termination = "context_exhausted"
        except EngineError as exc:
            yield ErrorEvent(str(exc))
            termination = "error"
        status = {"cancelled": "cancelled", "error": "failed"}.get(termination, "finished")
        report = _final_report(steps)
        elapsed = time.monotonic() - started  # stored with the stats: a replay shows the same run time
        self.store.finish_run(
            run_id, status, termination, answer, report, {**stats.to_dict(), "elapsed": elapsed}
        )
        yield RunFinished(
            termination,
            answer,
            session_id,
            run_id,
            str(self.report_path_for(run_id)) if report else None,
            len(S.model_steps(steps)),
            stats.llm_calls,
            stats.max_prompt_tokens,
            elapsed,
            stats.prompt_tokens,
            stats.reused_tokens,
            stats.completion_tokens,
        )

    def report_path_for(self, run_id: str) -> Path:
        if self.report_path is not None:
            return self.report_path
        from deepresearch_local.paths import get_paths

        return get_paths().data_dir / "reports" / f"{run_id}.md"

    def _limit_reached(self, steps: list[S.Step], started: float) -> str | None:
        if S.llm_calls(steps) >= self.config.max_llm_calls:
            return "max_llm_calls"
        if time.monotonic() - started >= self.config.max_minutes * 60:
            return "timeout"
        return None

    def _model_turn(
        self, run_id: str, steps: list[S.Step], question: str, started: float, stats: RunStats
    ) -> Iterator[AgentEvent]:
        cfg = self.config
        index = len(S.model_steps(steps)) + 1
        forced = S.forced_reason(steps) is not None and steps[-1].kind == "forced"
        if forced:  # the last call must fit: show the observations smaller rather than give up
            prompt = self.fitted_prompt(question, steps, self.budget)
        else:
            prompt = self.render(self.messages(question, steps))
        used = self.engine.count_tokens(prompt)
        if cfg.mode == "react" and not forced and used > self.budget * cfg.summarize_at:
            yield from near_budget(self, run_id, steps, question, used, stats)
            return
        if used > self.budget:
            if forced:
                raise ContextOverflow(
                    f"The final prompt needs {used} tokens but the budget is {self.budget}. Allocate a "
                    "larger context (--context) or budget (--budget), or ask a shorter question."
                )
            text = prompts.render("forced_answer", reason=FORCED_TEXT["context"])
            message = f"The prompt ({used} tokens) no longer fits the budget ({self.budget})."
            forced_step = ForcedStep("context", text, message)
            self._commit(run_id, steps, forced_step.kind, forced_step.to_dict())
            yield from events_of(forced_step, turn=index - 1, max_steps=cfg.max_llm_calls)
            return
        yield StepStarted(index, cfg.max_llm_calls)  # after the budget checks: once per model step
        yield ContextUsage(index, used, self.budget)
        result: Generated | None = None
        for event in generate(self, prompt, self.max_output):
            if isinstance(event, Generated):
                result = event
            else:
                yield event
        assert result is not None
        stats.add(result, used)
        yield ContextUsage(
            index, used, self.budget, result.reused_tokens, result.decode_tps, result.prefill_tps
        )
        if result.cancelled:
            return  # nothing committed: the turn is redone on resume
        parsed = parse_turn(result.text)
        step = ModelStep(
            text=parsed.text,
            think=parsed.think,
            tool_call={"name": parsed.tool_call.name, "arguments": parsed.tool_call.arguments}
            if parsed.tool_call
            else None,
            answer=parsed.answer,
            report=parsed.report,
            report_complete=parsed.report_complete,
            problems=list(parsed.problems),
            extra_tool_calls=parsed.extra_tool_calls,
            prompt_tokens=used,
            completion_tokens=result.completion_tokens,
            reused_tokens=result.reused_tokens,
            finish=result.reason,
            elapsed=time.monotonic() - started,
            forced=forced,
        )
        self._commit(run_id, steps, step.kind, step.to_dict())
        yield from events_of(step, turn=index, max_steps=cfg.max_llm_calls, announced=True)


def _title(question: str) -> str:
    line = " ".join(question.split())
    return line if len(line) <= 80 else line[:77] + "..."


def _final_answer(steps: list[S.Step]) -> str | None:
    for step in reversed(steps):
        if step.kind == "model" and step.data.get("answer"):
            return str(step.data["answer"])
    return None


def _answered_termination(steps: list[S.Step]) -> Termination:
    reason = S.forced_reason(steps)
    return FORCED_TERMINATION[reason][0] if reason else "answer"


def _final_report(steps: list[S.Step]) -> str | None:
    for step in reversed(steps):
        if step.kind == "report":
            return str(step.data["markdown"])
    return None
