"""A folder's include and exclude rules: globs over paths relative to the folder.

``exclude`` leaves matching files out ("excluded by the folder's rule PATTERN"); ``include``
forces matching files in, past the exclude rules, the generated-file detector and the duplicate
check (it cannot make the library read a hidden or tool folder, a link, or an unsupported type).

Patterns follow .gitignore habits: one without a ``/`` matches a file or folder name at any
depth (``*.md``, ``build``); one with a ``/`` matches the path from the folder's root
(``build/**``, ``docs/api/*.html``, ``/build``); ``**`` spans folders, ``*`` and ``?`` stay within one name;
a pattern that names a folder covers everything under it.

The rules are stored per folder root in the library database, so ``docs add DIR --include ...``
can set them before the folder's first indexing; forgetting a folder forgets its rules.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from deepresearch_local.library.store import Store

Decision = Literal["include", "exclude", ""]


def _translate(pattern: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end]
                body = "^" + body[1:] if body.startswith("!") else body
                out.append(f"[{body.replace(chr(92), chr(92) * 2)}]")
                i = end + 1
                continue
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def check_pattern(pattern: str) -> str:
    """The pattern, tidied; raises ``ValueError`` with what to fix for one that cannot work."""
    cleaned = pattern.strip().replace("\\", "/")
    if not cleaned.strip("/"):
        raise ValueError(f"{pattern!r} is empty; give a name or a path glob")
    if cleaned.lstrip("/").startswith("../") or "/../" in cleaned or cleaned.strip("/") == "..":
        raise ValueError(f"{pattern!r} points outside the folder; patterns match paths inside it")
    try:
        re.compile(_translate(cleaned.rstrip("/")))
    except re.error as exc:
        raise ValueError(f"{pattern!r} is not a valid glob ({exc})") from exc
    return cleaned


@dataclass(frozen=True)
class Glob:
    pattern: str

    @cached_property
    def _regex(self) -> re.Pattern[str]:
        body = self.pattern.rstrip("/")
        if "/" in body:  # anchored at the folder's root (a leading "/" only says so)
            return re.compile(_translate(body.lstrip("/")) + "(?:/.*)?")
        return re.compile("(?:.*/)?" + _translate(body) + "(?:/.*)?")

    def matches(self, rel: str) -> bool:
        return self._regex.fullmatch(rel.rstrip("/")) is not None


@dataclass(frozen=True)
class FolderRules:
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    _globs: tuple[tuple[Decision, Glob], ...] = field(default=(), init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        globs = [("include", Glob(p)) for p in self.include] + [("exclude", Glob(p)) for p in self.exclude]
        object.__setattr__(self, "_globs", tuple(globs))

    def __bool__(self) -> bool:
        return bool(self.include or self.exclude)

    def decide(self, rel: str) -> tuple[Decision, str]:
        """("include", pattern), ("exclude", pattern) or ("", "") for a folder-relative path:
        an include rule wins over an exclude rule."""
        for which, glob in self._globs:
            if glob.matches(rel):
                return which, glob.pattern
        return "", ""

    def forced(self, rel: str) -> bool:
        return self.decide(rel)[0] == "include"

    @property
    def fingerprint(self) -> str:
        """Changes whenever the rules do (the indexer then reconsiders every file)."""
        text = "\n".join(self.include) + "\0" + "\n".join(self.exclude)
        return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16] if self else ""

    def describe(self) -> str:
        parts = [f"include {' '.join(self.include)}" if self.include else ""]
        parts.append(f"exclude {' '.join(self.exclude)}" if self.exclude else "")
        return "; ".join(p for p in parts if p) or "no rules"

    def as_dict(self) -> dict[str, object]:
        return {"include": list(self.include), "exclude": list(self.exclude)}


def excluded_reason(pattern: str) -> str:
    return f"excluded by the folder's rule {pattern}"


def _split(text: str) -> tuple[str, ...]:
    return tuple(line for line in text.split("\n") if line)


def _unique(patterns: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(check_pattern(p) for p in patterns))


def load_rules(store: Store, root: str) -> tuple[FolderRules, str]:
    """(the rules for a folder root, the fingerprint of the rules it was last indexed with)."""
    rows = store.query("SELECT include, exclude, applied FROM folder_rules WHERE root = ?", (root,))
    if not rows:
        return FolderRules(), ""
    row = rows[0]
    return FolderRules(_split(row["include"]), _split(row["exclude"])), str(row["applied"] or "")


def save_rules(
    store: Store,
    root: str,
    include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    *,
    replace: bool = False,
) -> FolderRules:
    """Add patterns to a folder root's rules (or ``replace`` them); returns the new rules.
    Raises ``ValueError`` for a pattern that cannot work."""
    current, applied = load_rules(store, root)
    new_include = _unique([*(() if replace else current.include), *(include or ())])
    new_exclude = _unique([*(() if replace else current.exclude), *(exclude or ())])
    rules = FolderRules(new_include, new_exclude)
    with store.transaction() as db:
        if not rules and not applied:  # nothing to keep (a folder that was never indexed with rules)
            db.execute("DELETE FROM folder_rules WHERE root = ?", (root,))
            return rules
        db.execute(
            "INSERT INTO folder_rules (root, include, exclude, applied) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(root) DO UPDATE SET include = excluded.include, exclude = excluded.exclude",
            (root, "\n".join(rules.include), "\n".join(rules.exclude), applied),
        )
    return rules


def remove_patterns(store: Store, root: str, patterns: Sequence[str]) -> tuple[FolderRules, list[str]]:
    """Drop patterns from both lists; returns the new rules and the patterns that were not there."""
    current, _ = load_rules(store, root)
    wanted = {p.strip() for p in patterns}
    missing = sorted(wanted - set(current.include) - set(current.exclude))
    rules = FolderRules(
        tuple(p for p in current.include if p not in wanted),
        tuple(p for p in current.exclude if p not in wanted),
    )
    with store.transaction() as db:
        db.execute(
            "UPDATE folder_rules SET include = ?, exclude = ? WHERE root = ?",
            ("\n".join(rules.include), "\n".join(rules.exclude), root),
        )
    return rules, missing


def mark_applied(store: Store, root: str, rules: FolderRules) -> None:
    """Record that the folder was indexed with these rules."""
    with store.transaction() as db:
        db.execute(
            "INSERT INTO folder_rules (root, include, exclude, applied) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(root) DO UPDATE SET applied = excluded.applied",
            (root, "\n".join(rules.include), "\n".join(rules.exclude), rules.fingerprint),
        )
