"""User settings, saved as TOML in the config folder (``deepresearch paths`` shows where).

Every field has a default, so a missing or partial file is fine; an unreadable one is reported
with the fix. Command-line flags override these for one run.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from deepresearch_local import atomic
from deepresearch_local.errors import ConfigError
from deepresearch_local.paths import get_paths

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass
class SamplingSettings:
    temperature: float = 0.6
    """Randomness of the model's choices (upstream Tongyi: 0.6)."""
    top_p: float = 0.95
    """Nucleus sampling: keep the most likely tokens up to this probability mass."""
    presence_penalty: float = 1.1
    """Discourages repeating what was already said (upstream: 1.1)."""


@dataclass
class Settings:
    backend: Literal["auto", "llama.cpp", "mlx", "openai"] = "auto"
    """Inference backend; "auto" picks MLX on Apple Silicon and llama.cpp elsewhere."""
    model: str = ""
    """Model to research with: a registered id, a catalog variant, or a path ("" = the default
    chosen on the Models screen or with `models use`)."""
    base_url: str = ""
    """OpenAI-compatible server for the "openai" backend, e.g. http://127.0.0.1:8080/v1."""
    context_tokens: int = 0
    """Context to allocate (0 = the largest that fits this machine, up to 32K)."""
    constrain_tool_calls: Literal["auto", "on", "off"] = "auto"
    """Hold tool calls to the declared tools' schemas with a grammar while the model writes them
    (llama.cpp): "auto" for builds of 3 bits and below, "on" for every build, "off" never."""
    mode: Literal["auto", "fold", "react"] = "auto"
    """Research mode; "auto" folds the context when the model has under 48 GB to work in."""
    offline: bool = False
    """Never use the web: only local documents and tools."""
    allow_composed_urls: bool = False
    """Let `visit` request URLs the model composed itself once local documents were read (such
    URLs could carry your data to any server; `ask --allow-composed-urls` allows it for one run)."""
    allow_unisolated_python: bool = False
    """Run PythonInterpreter in online runs where no operating-system sandbox holds the code
    (Windows, a Mac without sandbox-exec): there the code could read your files and send them."""
    search_region: str = "auto"
    """Web search region (e.g. "us-en", "de-de"); "auto" follows the language of each query."""
    search_provider: str = "ddgs"
    """Web search: "ddgs" (keyless), "searxng", "serper", "brave" or "tavily"
    (DEEPRESEARCH_SEARCH_PROVIDER overrides it)."""
    search_url: str = ""
    """The SearXNG instance (SEARXNG_URL), or another endpoint for a keyed provider."""
    search_api_key: str = ""
    """The key of a keyed provider (SERPER_API_KEY, BRAVE_API_KEY or TAVILY_API_KEY override it)."""
    preset: str = "laptop"
    """"laptop": the defaults here; "upstream": upstream Tongyi's run settings (react, up to 128K
    context, 100 calls, 150 minutes, 10,000 output tokens) for machines that hold them."""
    max_steps: int = 40
    """Model calls allowed per research run."""
    seed_library_search: bool = True
    """Offline research over your folders opens with a search of them for the question, so every
    answer starts from your documents (false: the model chooses its first step itself)."""
    max_output_tokens: int = 0
    """Tokens one model turn may write (0 = sized from the context: in fold mode the report cap
    plus room to think, in react mode upstream's 10,000 where the context allows)."""
    fold_keep_fraction: float = 0.9
    """Fold mode: earlier rounds stay in the prompt, reused from the cache rather than computed
    again, while it is under this share of the budget; then the round folds to the question, the
    report and the latest result (0 = fold every round: a smaller prompt, more prompt processing)."""
    embedding_model: str = ""
    """Embedding model for library search by meaning (hybrid with BM25): a catalog id, a
    registered id or a GGUF path ("" = the embedding model pulled first, if any; else keyword
    search alone)."""
    sampling: SamplingSettings = field(default_factory=SamplingSettings)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _from_dict(data: dict[str, Any], origin: Path) -> Settings:
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"{origin}: unknown setting(s) {', '.join(unknown)}. Remove them or fix the spelling."
        )
    values = dict(data)
    try:
        if "sampling" in values:
            values["sampling"] = SamplingSettings(**values["sampling"])
        settings = Settings(**values)
    except TypeError as exc:
        raise ConfigError(f"{origin}: {exc}. Fix the file or delete it to start from the defaults.") from exc
    for f in fields(Settings):
        default = getattr(Settings(), f.name)
        value = getattr(settings, f.name)
        if (
            f.name != "sampling"
            and type(value) is not type(default)
            and not (isinstance(default, float) and isinstance(value, int))
        ):
            raise ConfigError(f"{origin}: {f.name} should be a {type(default).__name__}, not {value!r}.")
    return settings


def load_settings(path: Path | None = None) -> Settings:
    path = path or get_paths().config_file
    if not path.exists():
        return Settings()
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"Cannot read the settings in {path}: {exc}. Fix it or delete it.") from exc
    return _from_dict(data, path)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write the settings (atomically) and return the file."""
    path = path or get_paths().config_file
    data = settings.to_dict()
    sampling = data.pop("sampling")
    lines = ["# deepresearch-local settings (deepresearch paths shows this file)"]
    lines += [f"{key} = {_toml_value(value)}" for key, value in data.items()]
    lines += ["", "[sampling]"] + [f"{key} = {_toml_value(value)}" for key, value in sampling.items()]
    return atomic.write_text(path, "\n".join(lines) + "\n")


def default_mode(model_memory_bytes: int) -> Literal["fold", "react"]:
    """Fold the context when the model has under 48 GB to work in (react needs long contexts)."""
    return "fold" if model_memory_bytes < 48 * (1 << 30) else "react"
