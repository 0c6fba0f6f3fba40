"""The catalog data files follow the schema, hold the builds the issue asks for, and stay consistent."""

from __future__ import annotations

import copy
import sys
from typing import Any

import pytest

from deepresearch_local.errors import ConfigError
from deepresearch_local.weights.catalog import catalog_dir, load_catalog, parse_family, variant_for_file
from deepresearch_local.weights.pull import parse_target
from deepresearch_local.weights.schema import validate_family

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _files() -> list[dict[str, Any]]:
    paths = sorted(catalog_dir().glob("*.toml"))
    assert paths, catalog_dir()
    return [tomllib.loads(p.read_text("utf-8")) for p in paths]


def test_every_catalog_file_follows_the_schema() -> None:
    for data in _files():
        assert validate_family(data) == [], data["family"]["id"]


def test_the_tongyi_builds_are_all_there() -> None:
    quants = {(v.format, v.quant) for v in load_catalog() if v.family == "tongyi-deepresearch-30b-a3b"}
    for wanted in ("Q3_K_M", "IQ4_XS", "Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0"):
        assert ("gguf", wanted) in quants, wanted
    assert ("gguf", "IQ3_M") in quants and ("mlx", "4bit") in quants


def test_entries_are_consistent() -> None:
    catalog = load_catalog()
    assert len({v.id for v in catalog}) == len(catalog)
    for v in catalog:
        assert v.sources[0].hub == "hf", v.id
        for s in v.sources:
            if v.format == "gguf":
                # The file a source names is the build the variant says it is
                assert s.file and v.quant.lower() in s.file.lower(), (v.id, s.file)
                assert variant_for_file(s.file_names[0]) == v
            else:
                assert s.is_folder and s.file_names == (), v.id
    ggufs = sorted((v for v in catalog if v.format == "gguf"), key=lambda v: v.quality)
    sizes = [v.approx_bytes for v in ggufs]
    assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes)  # more bits, more bytes
    assert sum(v.recommended for v in catalog if v.format == "gguf") == 1
    assert sum(v.recommended for v in catalog if v.format == "mlx") == 1


GOOD: dict[str, Any] = {
    "family": {
        "id": "demo",
        "name": "Demo",
        "license": "MIT",
        "upstream": "acme/Demo",
        "description": "A demo.",
        "shape": {
            "architecture": "qwen2",
            "n_layers": 2,
            "n_heads": 2,
            "n_kv_heads": 1,
            "head_dim": 8,
            "n_embd": 16,
            "n_ff": 32,
            "n_vocab": 100,
            "n_ctx_train": 1024,
        },
    },
    "variant": [
        {
            "id": "demo-q8_0",
            "format": "gguf",
            "quant": "Q8_0",
            "approx_bytes": 2_000_000_000,
            "quality": 8,
            "sources": [
                {
                    "hub": "hf",
                    "repo": "acme/Demo-GGUF",
                    "files": ["demo-Q8_0-00001-of-00002.gguf", "demo-Q8_0-00002-of-00002.gguf"],
                },
                {"hub": "modelscope", "repo": "acme/Demo-GGUF", "file": "demo-Q8_0.gguf"},
            ],
        },
        {
            "id": "demo-mlx-4bit",
            "format": "mlx",
            "quant": "4bit",
            "approx_bytes": 1_000_000_000,
            "quality": 5,
            "sources": [{"hub": "hf", "repo": "acme/Demo-4bit", "include": ["*.json", "*.safetensors"]}],
        },
    ],
}


def _broken(path: str, value: Any) -> dict[str, Any]:
    """GOOD with one value replaced (``None`` deletes the key); ``path`` like ``variant.0.sources.1.hub``."""
    data = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    node: Any = data
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is None:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data


def test_a_valid_family_parses_with_split_files_and_folders() -> None:
    assert validate_family(GOOD) == []
    split, mlx = parse_family(GOOD, "demo.toml")
    hf, ms = split.sources
    assert hf.file == "demo-Q8_0-00001-of-00002.gguf" and len(hf.file_names) == 2
    assert (ms.hub, ms.file_names) == ("modelscope", ("demo-Q8_0.gguf",))
    assert mlx.sources[0].is_folder and mlx.sources[0].include == ("*.json", "*.safetensors")


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        ("variant.0.colour", "blue", "variant 'demo-q8_0': unknown key 'colour'"),
        ("variant.0.quality", None, "variant 'demo-q8_0': missing 'quality'"),
        ("variant.0.quality", True, "variant 'demo-q8_0': 'quality' must be int, got bool"),
        ("variant.0.quality", 11, "variant 'demo-q8_0': 'quality' must be 1..10"),
        ("variant.0.approx_bytes", 5, "variant 'demo-q8_0': 'approx_bytes' looks wrong (below 100 MB)"),
        ("variant.0.format", "onnx", "variant 'demo-q8_0': 'format' must be one of gguf, mlx"),
        (
            "variant.0.id",
            "Demo Q8",
            "variant 'Demo Q8': 'id' must be lower-case letters, digits, '.', '_' or '-'",
        ),
        ("variant.0.sources", [], "variant 'demo-q8_0': needs at least one source"),
        (
            "variant.0.sources.1.hub",
            "civitai",
            "variant 'demo-q8_0' source 2: 'hub' must be one of hf, modelscope",
        ),
        (
            "variant.0.sources.1.repo",
            "no-owner",
            "variant 'demo-q8_0' source 2: 'repo' must look like OWNER/NAME",
        ),
        ("variant.0.sources.1.file", "demo.bin", "variant 'demo-q8_0' source 2: 'file' must end in .gguf"),
        (
            "variant.0.sources.1.file",
            None,
            "variant 'demo-q8_0' source 2: a GGUF source names exactly one of 'file' or 'files'",
        ),
        (
            "variant.0.sources.0.files",
            ["demo-Q8_0-00002-of-00002.gguf", "demo-Q8_0-00001-of-00002.gguf"],
            "variant 'demo-q8_0' source 1: split parts must share one name and run 00001..00002 in order",
        ),
        (
            "variant.0.sources.0.files",
            ["a.gguf", "b.gguf"],
            "variant 'demo-q8_0' source 1: split parts must be named NAME-00001-of-0000N.gguf",
        ),
        (
            "variant.1.sources.0.file",
            "x.gguf",
            "variant 'demo-mlx-4bit' source 1: an MLX source is a whole folder: no 'file' or 'files'",
        ),
        (
            "variant.0.sources.0.hub",
            "modelscope",
            "variant 'demo-q8_0': needs a Hugging Face ('hf') source",
        ),
        ("variant.1.id", "demo-q8_0", "variant id 'demo-q8_0' is used twice"),
        ("family.shape.n_ff", None, "family.shape: a dense model needs 'n_ff'"),
        ("family.upstream", "Demo", "family: 'upstream' must look like OWNER/NAME"),
    ],
)
def test_the_schema_names_each_problem(path: str, value: Any, problem: str) -> None:
    data = _broken(path, value)
    assert problem in validate_family(data)
    with pytest.raises(ConfigError) as info:
        parse_family(data, "demo.toml")
    assert str(info.value).startswith("Catalog file demo.toml does not follow the schema: ")
    assert problem in str(info.value)


def test_two_recommended_builds_of_one_format_are_refused() -> None:
    data = copy.deepcopy(GOOD)
    data["variant"].append({**data["variant"][0], "id": "demo-q8_0-b", "recommended": True})
    data["variant"][0]["recommended"] = True
    assert "more than one recommended gguf variant: demo-q8_0, demo-q8_0-b" in validate_family(data)


def test_pull_targets_from_the_catalog_and_from_repo_names() -> None:
    q4 = parse_target("tongyi-30b-q4_k_m")
    assert q4.name == q4.folder == "tongyi-30b-q4_k_m" and q4.format == "gguf"
    # The catalog's Hugging Face sources first, then the same repositories tried on ModelScope
    assert [(s.hub, s.repo) for s in q4.sources] == [
        ("hf", "bartowski/Alibaba-NLP_Tongyi-DeepResearch-30B-A3B-GGUF"),
        ("hf", "mradermacher/Tongyi-DeepResearch-30B-A3B-GGUF"),
        ("modelscope", "bartowski/Alibaba-NLP_Tongyi-DeepResearch-30B-A3B-GGUF"),
        ("modelscope", "mradermacher/Tongyi-DeepResearch-30B-A3B-GGUF"),
    ]
    # A catalog file named by repo and file is registered as its variant
    same = parse_target("mradermacher/Tongyi-DeepResearch-30B-A3B-GGUF:Tongyi-DeepResearch-30B-A3B.Q6_K.gguf")
    assert (same.name, same.folder) == ("tongyi-30b-q6_k", "tongyi-30b-q6_k")
    split = parse_target("acme/Big-GGUF:big-Q8_0-00001-of-00003.gguf")
    assert split.sources[0].file_names == tuple(f"big-Q8_0-{i:05d}-of-00003.gguf" for i in (1, 2, 3))
    assert (split.name, split.folder) == ("big-q8_0", "acme--Big-GGUF")
    mlx = parse_target("acme/Tiny-4bit")
    assert (mlx.name, mlx.format, mlx.sources[0].is_folder) == ("tiny-4bit", "mlx", True)
    from deepresearch_local.errors import UsageError

    for bad in ("not a model", "acme/Tiny:weights.bin"):
        with pytest.raises(UsageError):
            parse_target(bad)
