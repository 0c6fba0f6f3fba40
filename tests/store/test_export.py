"""Markdown export of a session: questions, answers, and reports nested under each question."""

from __future__ import annotations

from deepresearch_local.store import SessionStore
from deepresearch_local.store.export import demote_headings, session_markdown
from tests.store.conftest import seed


def test_demote_headings_skips_code_and_caps_at_six() -> None:
    code = "```\n# code\n```\n~~~\n## more code\n~~~\n"
    text = "# Top\n## Sub\n##### Deep\n#not a heading\n" + code + "### After"
    assert (
        demote_headings(text, 2) == "### Top\n#### Sub\n###### Deep\n#not a heading\n" + code + "##### After"
    )


def test_session_markdown(store: SessionStore) -> None:
    seeded = seed(store)
    info = store.get_session(seeded.session)
    created = info.created_at[:16].replace("T", " ")
    updated = info.updated_at[:16].replace("T", " ")
    assert session_markdown(store, seeded.session) == (
        "# Heat pumps\n\n"
        f"_Session `{seeded.session}` · started {created} UTC · updated {updated} UTC_\n\n"
        "## Question 1\n\n"
        "> Do heat pumps work at -20 °C?\n\n"
        f"_Run `{seeded.run1}` · fold · answered_\n\n"
        "### Answer\n\n"
        "Yes, with a COP above 1.5.\n\n"
        "### Report\n\n"
        "### Heat pumps in cold climates\n\n"
        "Modern cold-climate heat pumps keep a COP above 1.5 at -20 °C [1].\n\n"
        "```\n# not a heading\n```\n\n"
        "#### Sources\n1. https://example.test/cop\n\n"
        "## Question 2\n\n"
        "> Which refrigerant is best?\n> Consider R290 and R32.\n\n"
        f"_Run `{seeded.run2}` · react · running_\n\n"
        "_No answer: the run did not finish; "
        f"resume it with `deepresearch sessions resume {seeded.session}`._\n"
    )


def test_export_picks_the_latest_answered_run_per_question(store: SessionStore) -> None:
    seeded = seed(store)
    store.finish_run(seeded.run2, "failed", "engine_error", None, None, {})
    retry = store.start_run(seeded.session, seeded.q2, "react", {})
    store.finish_run(retry, "finished", "answered", "R290.", None, {})
    later = store.start_run(seeded.session, seeded.q2, "fold", {})
    store.finish_run(later, "cancelled", "cancelled", None, None, {})
    unanswered = store.add_question(seeded.session, "And noise?")
    markdown = session_markdown(store, seeded.session)
    tail = markdown.split("## Question 2\n", 1)[1]
    assert f"_Run `{retry}` · react · answered_\n\n### Answer\n\nR290.\n" in tail
    assert seeded.run2 not in tail and later not in tail and "### Report" not in tail
    assert unanswered not in markdown
    assert markdown.endswith("## Question 3\n\n> And noise?\n\n_Not researched yet._\n")
    cancelled_only = store.add_question(seeded.other_session, "Why rye?")
    run = store.start_run(seeded.other_session, cancelled_only, "react", {})
    store.finish_run(run, "cancelled", "cancelled", None, None, {})
    assert session_markdown(store, seeded.other_session).endswith(
        f"_Run `{run}` · react · cancelled_\n\n_No answer: the run was cancelled._\n"
    )
