"""The catalog schema: which keys a family file may hold, their types, and the rules between them.

A catalog file (``models/<family>.toml``) has one ``[family]`` table with a ``[family.shape]`` and
one ``[[variant]]`` per build. Each variant lists its ``sources`` in the order downloads try them:

* a GGUF build names one ``file`` or, when split, every part in ``files``
  (``NAME-00001-of-00003.gguf`` …, in order);
* an MLX build names neither: the whole repository folder is fetched (``include`` narrows it
  with glob patterns; the default is in :data:`FOLDER_PATTERNS`).

A family with ``kind = "embedding"`` is a sentence-embedding model for library search, not an
agent model: it also has an ``[family.embedding]`` table (vector size, token limit, pooling, the
prefixes queries and passages need) and is kept apart from the agent catalog.

``validate_family`` returns every problem found (an empty list means the file is valid).
"""

from __future__ import annotations

import re
from typing import Any

HUBS = ("hf", "modelscope")
FORMATS = ("gguf", "mlx")
KINDS = ("agent", "embedding")
POOLINGS = ("mean", "cls", "last")
FOLDER_PATTERNS = ("*.json", "*.safetensors", "*.txt", "*.model", "*.jinja", "*.tiktoken")
"""Files fetched for a whole-folder (MLX) build when its source names no ``include``."""

SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
SPLIT_PART = re.compile(r"^(?P<stem>.+)-(?P<index>\d{5})-of-(?P<count>\d{5})\.gguf$")

FAMILY_KEYS: dict[str, type | tuple[type, ...]] = {
    "id": str,
    "name": str,
    "license": str,
    "upstream": str,
    "modelscope": str,
    "description": str,
    "shape": dict,
    "kind": str,
    "embedding": dict,
}
FAMILY_REQUIRED = ("id", "name", "license", "upstream", "description", "shape")
SHAPE_KEYS = (
    "architecture",
    "n_layers",
    "n_heads",
    "n_kv_heads",
    "head_dim",
    "n_embd",
    "n_vocab",
    "n_ctx_train",
)
SHAPE_OPTIONAL = ("n_experts", "n_experts_used", "expert_ff", "n_ff")
EMBEDDING_KEYS: dict[str, type | tuple[type, ...]] = {
    "dim": int,
    "max_tokens": int,
    "pooling": str,
    "query_prefix": str,
    "document_prefix": str,
    "languages": str,
}
EMBEDDING_REQUIRED = ("dim", "max_tokens", "pooling")
VARIANT_KEYS: dict[str, type | tuple[type, ...]] = {
    "id": str,
    "format": str,
    "quant": str,
    "approx_bytes": int,
    "quality": int,
    "sources": list,
    "notes": str,
    "recommended": bool,
}
VARIANT_REQUIRED = ("id", "format", "quant", "approx_bytes", "quality", "sources")
SOURCE_KEYS: dict[str, type | tuple[type, ...]] = {
    "hub": str,
    "repo": str,
    "file": str,
    "files": list,
    "include": list,
    "revision": str,
}


def _check_keys(
    table: dict[str, Any], allowed: dict[str, Any], required: tuple[str, ...], where: str
) -> list[str]:
    problems = [f"{where}: missing {key!r}" for key in required if key not in table]
    for key, value in table.items():
        if key not in allowed:
            problems.append(f"{where}: unknown key {key!r}")
        elif not isinstance(value, allowed[key]) or (allowed[key] is int and isinstance(value, bool)):
            problems.append(f"{where}: {key!r} must be {allowed[key].__name__}, got {type(value).__name__}")
    return problems


def _check_shape(shape: dict[str, Any]) -> list[str]:
    problems = [f"family.shape: missing {key!r}" for key in SHAPE_KEYS if key not in shape]
    for key, value in shape.items():
        if key not in SHAPE_KEYS + SHAPE_OPTIONAL:
            problems.append(f"family.shape: unknown key {key!r}")
        elif key == "architecture":
            if not isinstance(value, str) or not value:
                problems.append("family.shape: 'architecture' must be a non-empty string")
        elif not isinstance(value, int) or isinstance(value, bool) or value < 0:
            problems.append(f"family.shape: {key!r} must be a non-negative integer")
    if shape.get("n_experts") and not (shape.get("n_experts_used") and shape.get("expert_ff")):
        problems.append("family.shape: a mixture of experts needs 'n_experts_used' and 'expert_ff'")
    if not shape.get("n_experts") and not shape.get("n_ff"):
        problems.append("family.shape: a dense model needs 'n_ff'")
    return problems


def _check_files(files: list[Any], where: str) -> list[str]:
    if not files or not all(isinstance(f, str) and f.endswith(".gguf") for f in files):
        return [f"{where}: 'files' must be a non-empty list of .gguf names"]
    if len(files) == 1:
        return [f"{where}: one file goes in 'file', not 'files'"]
    parts = [SPLIT_PART.match(f) for f in files]
    if not all(parts):
        return [f"{where}: split parts must be named NAME-00001-of-0000N.gguf"]
    stems = {p["stem"] for p in parts if p}
    counts = {int(p["count"]) for p in parts if p}
    indexes = [int(p["index"]) for p in parts if p]
    if len(stems) != 1 or counts != {len(files)} or indexes != list(range(1, len(files) + 1)):
        return [f"{where}: split parts must share one name and run 00001..{len(files):05d} in order"]
    return []


def _check_source(source: Any, fmt: str, where: str) -> list[str]:
    if not isinstance(source, dict):
        return [f"{where}: a source must be a table"]
    problems = _check_keys(source, SOURCE_KEYS, ("hub", "repo"), where)
    if source.get("hub") not in HUBS:
        problems.append(f"{where}: 'hub' must be one of {', '.join(HUBS)}")
    if not REPO_ID.match(str(source.get("repo", ""))):
        problems.append(f"{where}: 'repo' must look like OWNER/NAME")
    has_file, has_files = "file" in source, "files" in source
    if fmt == "gguf":
        if has_file == has_files:
            problems.append(f"{where}: a GGUF source names exactly one of 'file' or 'files'")
        elif has_file and not str(source["file"]).endswith(".gguf"):
            problems.append(f"{where}: 'file' must end in .gguf")
        elif has_files and isinstance(source["files"], list):
            problems.extend(_check_files(source["files"], where))
        if "include" in source:
            problems.append(f"{where}: 'include' is for whole-folder (MLX) sources")
    elif has_file or has_files:
        problems.append(f"{where}: an MLX source is a whole folder: no 'file' or 'files'")
    include = source.get("include", [])
    if not isinstance(include, list) or not all(isinstance(p, str) and p for p in include):
        problems.append(f"{where}: 'include' must be a list of glob patterns")
    return problems


def _check_embedding(family: dict[str, Any]) -> list[str]:
    kind = family.get("kind", "agent")
    if kind not in KINDS:
        return [f"family: 'kind' must be one of {', '.join(KINDS)}"]
    table = family.get("embedding")
    if kind == "agent":
        return ['family: an [family.embedding] table needs kind = "embedding"'] if table is not None else []
    if not isinstance(table, dict):
        return ["family: an embedding model needs an [family.embedding] table"]
    problems = _check_keys(table, EMBEDDING_KEYS, EMBEDDING_REQUIRED, "family.embedding")
    if table.get("pooling") not in POOLINGS:
        problems.append(f"family.embedding: 'pooling' must be one of {', '.join(POOLINGS)}")
    for key in ("dim", "max_tokens"):
        if isinstance(table.get(key), int) and table[key] <= 0:
            problems.append(f"family.embedding: {key!r} must be positive")
    return problems


def _check_variant(variant: Any, index: int, min_bytes: int = 100_000_000) -> list[str]:
    where = f"variant[{index}]"
    if not isinstance(variant, dict):
        return [f"{where}: must be a table"]
    where = f"variant {variant.get('id', index)!r}"
    problems = _check_keys(variant, VARIANT_KEYS, VARIANT_REQUIRED, where)
    if not SLUG.match(str(variant.get("id", ""))):
        problems.append(f"{where}: 'id' must be lower-case letters, digits, '.', '_' or '-'")
    fmt = variant.get("format")
    if fmt not in FORMATS:
        problems.append(f"{where}: 'format' must be one of {', '.join(FORMATS)}")
    approx = variant.get("approx_bytes")
    if isinstance(approx, int) and approx < min_bytes:
        problems.append(f"{where}: 'approx_bytes' looks wrong (below {min_bytes // 1_000_000} MB)")
    quality = variant.get("quality")
    if isinstance(quality, int) and not 1 <= quality <= 10:
        problems.append(f"{where}: 'quality' must be 1..10")
    sources = variant.get("sources")
    if isinstance(sources, list):
        if not sources:
            problems.append(f"{where}: needs at least one source")
        for i, source in enumerate(sources):
            problems.extend(_check_source(source, str(fmt), f"{where} source {i + 1}"))
        if not any(isinstance(s, dict) and s.get("hub") == "hf" for s in sources):
            problems.append(f"{where}: needs a Hugging Face ('hf') source")
    return problems


def validate_family(data: Any) -> list[str]:
    """Every problem in one parsed catalog file; ``[]`` when it follows the schema."""
    if not isinstance(data, dict):
        return ["the file must hold a [family] table and [[variant]] tables"]
    problems = [f"unknown top-level key {k!r}" for k in data if k not in ("family", "variant")]
    family = data.get("family")
    if not isinstance(family, dict):
        problems.append("missing [family] table")
    else:
        problems.extend(_check_keys(family, FAMILY_KEYS, FAMILY_REQUIRED, "family"))
        if not SLUG.match(str(family.get("id", ""))):
            problems.append("family: 'id' must be lower-case letters, digits, '.', '_' or '-'")
        for key in ("upstream", "modelscope"):
            if key in family and not REPO_ID.match(str(family[key])):
                problems.append(f"family: {key!r} must look like OWNER/NAME")
        if isinstance(family.get("shape"), dict):
            problems.extend(_check_shape(family["shape"]))
        problems.extend(_check_embedding(family))
    variants = data.get("variant")
    if not isinstance(variants, list) or not variants:
        problems.append("needs at least one [[variant]]")
        return problems
    # Embedding models are small: tens of MB is normal for them
    embedding = isinstance(family, dict) and family.get("kind") == "embedding"
    for i, variant in enumerate(variants):
        problems.extend(_check_variant(variant, i, 10_000_000 if embedding else 100_000_000))
    ids = [str(v.get("id")) for v in variants if isinstance(v, dict)]
    problems.extend(f"variant id {i!r} is used twice" for i in sorted({x for x in ids if ids.count(x) > 1}))
    for fmt in FORMATS:
        flagged = [
            str(v.get("id"))
            for v in variants
            if isinstance(v, dict) and v.get("format") == fmt and v.get("recommended")
        ]
        if len(flagged) > 1:
            problems.append(f"more than one recommended {fmt} variant: {', '.join(flagged)}")
    return problems
