"""Checks on what an installed or frozen `deepresearch` printed (used by .ci/pipx-smoke and
.ci/pyinstaller-smoke). Each check reads one saved output file and exits non-zero with a
reason when the output is wrong.

    python .ci/smoke_check.py version FILE          "deepresearch-local <version of this tree>"
    python .ci/smoke_check.py doctor FILE           JSON; llama.cpp loads; the MLX check ran
    python .ci/smoke_check.py models FILE           JSON naming every catalog build in models/
    python .ci/smoke_check.py ask FILE RC           exit 0 or 4; JSON lines ending in `finished`
    python .ci/smoke_check.py answer FILE RC TEXT   exit 0, an answer holding TEXT, and a report whose
                                                    sources open and one cited line range holds TEXT
                                                    (--no-sources: a run that read no documents)
    python .ci/smoke_check.py tool FILE TEXT        a tool_resulted event whose text holds TEXT
    python .ci/smoke_check.py docs FILE N           `docs add --json` indexed N files, none failed
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def fail(message: str) -> None:
    sys.exit(f"smoke check failed: {message}")


def tree_version() -> str:
    text = (ROOT / "deepresearch_local" / "__init__.py").read_text("utf-8")
    found = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    if found is None:
        fail("no __version__ in deepresearch_local/__init__.py")
        raise AssertionError
    return found.group(1)


def catalog_ids() -> list[str]:
    ids: list[str] = []
    for path in sorted((ROOT / "models").glob("*.toml")):
        data = tomllib.loads(path.read_text("utf-8"))
        ids += [str(v["id"]) for v in data.get("variant", [])]
    return ids


def events(text: str) -> list[dict[str, Any]]:
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            out.append(json.loads(line))
        except ValueError:
            fail(f"line {number} is not JSON: {line[:200]!r}")
    return out


def cited_lines(entry: str) -> tuple[Path, str] | None:
    """The file and the text of the lines one ``## Sources`` entry cites ("..., lines 3-9")."""
    found = re.search(r"(/\S+?), (?:.*?)lines (\d+)-(\d+)\s*$", entry)
    if found is None:
        return None
    path, first, last = Path(found.group(1)), int(found.group(2)), int(found.group(3))
    if not path.is_file():
        fail(f"the report cites {path}, which does not exist")
    lines = path.read_text("utf-8").splitlines()
    if not 1 <= first <= last <= len(lines):
        fail(f"the report cites lines {first}-{last} of {path}, which has {len(lines)} lines")
    return path, "\n".join(lines[first - 1 : last])


def check_answer(stream: list[dict[str, Any]], code: int, wanted: str, sources: bool = True) -> None:
    """A research run that worked: exit 0, the answer names ``wanted``, the report's sources open
    and at least one cited line range holds ``wanted``."""
    last = stream[-1] if stream else {}
    if code != 0 or last.get("type") != "finished":
        fail(f"ask exited {code} ({last.get('termination')}): the model gave no answer")
    answer = str(last.get("answer") or "")
    if wanted.lower() not in answer.lower():
        fail(f"the answer does not say {wanted!r}: {answer!r}")
    results = [str(e.get("text") or "").strip() for e in stream if e.get("type") == "tool_resulted"]
    if any(t and t.splitlines()[0] in answer for t in results):
        fail(f"the answer is a tool result pasted back, not the model's answer: {answer[:300]!r}")
    if not sources:
        print(f"ask: {last.get('termination')}, {last.get('steps')} steps: {answer[:120]!r}")
        return
    report = Path(str(last.get("report_path") or ""))
    if not report.is_file():
        fail(f"no report at {report}")
    markdown = report.read_text("utf-8")
    if "## Sources" not in markdown:
        fail("the report has no Sources section")
    entries = [line for line in markdown.split("## Sources", 1)[1].splitlines() if re.match(r"\d+\. ", line)]
    cited = [c for c in (cited_lines(e) for e in entries) if c is not None]
    if not any(wanted.lower() in text.lower() for _, text in cited):
        fail(f"no cited line range holds {wanted!r}: {entries}")
    print(f"ask: {last.get('termination')}, {last.get('steps')} steps: {answer[:120]!r}")


def main(argv: list[str]) -> None:
    check, path = argv[0], Path(argv[1])
    text = path.read_text("utf-8")
    if check == "version":
        expected = f"deepresearch-local {tree_version()}"
        if text.strip() != expected:
            fail(f"--version printed {text.strip()!r}, expected {expected!r}")
    elif check == "doctor":
        report = json.loads(text)
        llama = report["backends"]["llama.cpp"]
        if not llama["available"]:
            fail(f"llama.cpp does not load in the installed copy: {llama['reason']}")
        if "crashed or timed out" in report["backends"]["mlx"]["reason"]:
            fail("the MLX check could not run: " + report["backends"]["mlx"]["reason"])
        if not report["recommended"]["why"]:
            fail("doctor gave no recommendation")
    elif check == "models":
        json.loads(text)
        missing = [i for i in catalog_ids() if i not in text]
        if not catalog_ids() or missing:
            fail(f"models list lacks catalog builds {missing} (is models/ shipped as catalog_data?)")
    elif check == "ask":
        code = int(argv[2])
        if code not in (0, 4):
            fail(f"ask exited {code}")
        last = events(text)[-1]
        if last.get("type") != "finished":
            fail(f"the last event is {last.get('type')!r}, not 'finished'")
        seconds = float(last.get("elapsed_seconds") or 0)
        print(f"ask: {last.get('termination')}, {last.get('steps')} steps, {seconds:.0f} s")
    elif check == "answer":
        check_answer(events(text), int(argv[2]), argv[3], sources="--no-sources" not in argv[4:])
    elif check == "tool":
        wanted = argv[2]
        texts = [e.get("text", "") for e in events(text) if e.get("type") == "tool_resulted"]
        if not any(wanted in t for t in texts):
            fail(f"no tool result contains {wanted!r}; results: {texts}")
    elif check == "docs":
        report = json.loads(text)
        if (report["indexed"], report["failed"]) != (int(argv[2]), 0):
            fail(f"docs add indexed {report['indexed']} of {argv[2]} files, {report['failed']} failed")
        if "--workers" in argv:  # the files must have been read by that many worker processes
            wanted = int(argv[argv.index("--workers") + 1])
            broken = [n for n in report["notes"] if "worker process" in n]
            if report.get("workers") != wanted or broken:
                fail(f"docs add read with {report.get('workers')} workers, not {wanted}: {broken}")
    else:
        fail(f"unknown check {check!r}")
    print(f"ok: {check}")


if __name__ == "__main__":
    main(sys.argv[1:])
