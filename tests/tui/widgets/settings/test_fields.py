"""The settings form's fields: help text from config.py's docstrings, parsing and validation."""

from __future__ import annotations

import dataclasses

from deepresearch_local.config import SamplingSettings, Settings
from deepresearch_local.tui.widgets.settings.fields import FIELDS, field_docs, form_values, parse_form


def test_every_setting_is_a_field_with_its_docstring_as_help() -> None:
    keys = {f.key for f in FIELDS}
    top = {f.name for f in dataclasses.fields(Settings)} - {"sampling"}
    sampling = {f"sampling.{f.name}" for f in dataclasses.fields(SamplingSettings)}
    assert keys == top | sampling
    docs = field_docs()
    assert set(docs) == keys
    assert docs["offline"] == "Never use the web: only local documents and tools."
    assert docs["sampling.top_p"].startswith("Nucleus sampling: keep the most likely tokens up to this")


def test_the_form_round_trips_settings() -> None:
    settings = Settings(
        backend="mlx",
        model="tongyi-30b-mlx-4bit",
        context_tokens=24576,
        mode="fold",
        offline=True,
        search_region="fr-fr",
        max_steps=12,
        sampling=SamplingSettings(temperature=0.25, top_p=0.9, presence_penalty=0.0),
    )
    values = form_values(settings)
    assert values["context_tokens"] == "24576" and values["sampling.temperature"] == "0.25"
    assert values["offline"] is True and values["backend"] == "mlx"
    assert parse_form(values) == (settings, {})
    assert parse_form(form_values(Settings())) == (Settings(), {})


def test_invalid_values_are_named_with_the_fix() -> None:
    values = form_values(Settings())
    values.update(
        {
            "backend": "openai",
            "base_url": "localhost:8080",
            "context_tokens": "lots",
            "max_steps": "0",
            "search_region": " ",
            "sampling.top_p": "1.5",
            "sampling.presence_penalty": "-3",
            "mode": "fast",
        }
    )
    settings, errors = parse_form(values)
    assert settings is None
    assert errors == {
        "base_url": "The openai backend needs the server's URL, e.g. http://127.0.0.1:8080/v1.",
        "context_tokens": "Context budget must be a whole number, not 'lots'.",
        "max_steps": "Max steps must be between 1 and 1000.",
        "search_region": 'Give a region code such as "us-en", or "auto".',
        "sampling.top_p": "Top-p must be between 0.01 and 1.0.",
        "sampling.presence_penalty": "Presence penalty must be between -2.0 and 2.0.",
        "mode": "Mode must be one of auto, fold, react.",
    }
    values = form_values(Settings())
    values["context_tokens"] = "4096"
    assert parse_form(values)[1] == {
        "context_tokens": "The agent needs at least 8192 tokens of context (0 = what fits here)."
    }
