"""The sdist and the wheel, built from this checkout: metadata, entry point, and every data file."""

from __future__ import annotations

import email
import email.message
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from deepresearch_local import __version__

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "deepresearch_local"
DATA_PATTERNS = (
    "agent/prompts/*.md",
    "tools/prompts/*",
    "tools/texts/*",
    "tools/SANDBOX.md",
    "engines/chatml_tools.jinja",
    "tui/*.tcss",
    "py.typed",
)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Build like a user's installer would: the sdist first, then the wheel from that sdist."""
    out = tmp_path_factory.mktemp("dist")
    build = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    yield out


@pytest.fixture(scope="module")
def wheel(dist: Path) -> zipfile.ZipFile:
    return zipfile.ZipFile(dist / f"deepresearch_local-{__version__}-py3-none-any.whl")


def _source_files() -> list[str]:
    return sorted(
        p.relative_to(ROOT).as_posix()
        for p in PACKAGE.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )


def _metadata(wheel: zipfile.ZipFile) -> email.message.Message:
    return email.message_from_bytes(wheel.read(f"deepresearch_local-{__version__}.dist-info/METADATA"))


def test_the_wheel_holds_every_file_of_the_package(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    missing = [f for f in _source_files() if f not in names]
    assert not missing, missing
    assert not [n for n in names if n.startswith(("tests/", "packaging/", ".ci/")) or n.endswith(".pyc")]


@pytest.mark.parametrize("pattern", DATA_PATTERNS)
def test_every_package_data_file_is_in_the_wheel_byte_for_byte(wheel: zipfile.ZipFile, pattern: str) -> None:
    files = sorted(PACKAGE.glob(pattern))
    assert files, f"nothing in the source matches {pattern}"
    for path in files:
        name = path.relative_to(ROOT).as_posix()
        assert wheel.read(name) == path.read_bytes(), name


def test_the_model_catalog_ships_as_catalog_data(wheel: zipfile.ZipFile) -> None:
    catalogs = sorted((ROOT / "models").glob("*.toml"))
    assert catalogs
    for path in catalogs:
        assert wheel.read(f"deepresearch_local/catalog_data/{path.name}") == path.read_bytes()


def test_metadata_and_entry_point(wheel: zipfile.ZipFile) -> None:
    meta = _metadata(wheel)
    assert (meta["Name"], meta["Version"]) == ("deepresearch-local", __version__)
    assert meta["License-Expression"] == "Apache-2.0" and meta["License-File"] == "LICENSE"
    assert meta["Requires-Python"] == ">=3.10"
    assert meta["Description-Content-Type"] == "text/markdown"
    raw = wheel.read(f"deepresearch_local-{__version__}.dist-info/METADATA").decode("utf-8")
    assert raw.split("\n\n", 1)[1].strip() == (ROOT / "README.md").read_text("utf-8").strip()
    urls = {u.split(",")[0] for u in meta.get_all("Project-URL", [])}
    assert {"Homepage", "Documentation", "Source", "Issues"} <= urls
    classifiers = meta.get_all("Classifier", [])
    assert "Typing :: Typed" in classifiers and "Programming Language :: Python :: 3.10" in classifiers
    requires = meta.get_all("Requires-Dist", [])
    assert any(r.startswith("llama-cpp-python>=") and "sys_platform" in r for r in requires), requires
    assert any(r.startswith("textual>=") for r in requires)
    licence = wheel.read(f"deepresearch_local-{__version__}.dist-info/licenses/LICENSE")
    assert licence == (ROOT / "LICENSE").read_bytes() and b"Apache License" in licence
    entry_points = wheel.read(f"deepresearch_local-{__version__}.dist-info/entry_points.txt").decode()
    assert "[console_scripts]\ndeepresearch = deepresearch_local.cli.main:main" in entry_points


def test_the_sdist_can_rebuild_everything(dist: Path) -> None:
    with tarfile.open(dist / f"deepresearch_local-{__version__}.tar.gz") as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    needed = ["LICENSE", "README.md", "pyproject.toml", ".ci/run", ".ci/pipx-smoke", ".ci/pyinstaller-smoke"]
    needed += [p.relative_to(ROOT).as_posix() for p in (ROOT / "models").glob("*.toml")]
    needed += [p.relative_to(ROOT).as_posix() for p in (ROOT / "packaging").rglob("*") if p.is_file()]
    needed += _source_files()
    assert not [n for n in needed if n not in names]


def test_the_unpacked_wheel_finds_its_own_data(wheel: zipfile.ZipFile, tmp_path: Path) -> None:
    """Imported from the wheel's files (not this checkout), the catalog, prompts and texts load."""
    wheel.extractall(tmp_path)
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "import deepresearch_local\n"
        "from deepresearch_local.weights.catalog import catalog_dir, load_catalog\n"
        "from deepresearch_local.agent.prompts import load\n"
        "from deepresearch_local.tools import texts\n"
        "print(deepresearch_local.__file__)\n"
        "print(catalog_dir())\n"
        "print(len(load_catalog()), len(load('role')) > 0, sorted(texts.load('privacy')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", probe, str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    module, catalog, counts = out.stdout.splitlines()
    assert module == str(tmp_path / "deepresearch_local" / "__init__.py")
    assert catalog == str(tmp_path / "deepresearch_local" / "catalog_data")
    count, prompts, privacy = counts.split(" ", 2)
    assert int(count) >= 1 and prompts == "True" and "'refused'" in privacy and "'url_refused'" in privacy
