"""Checks on a URL before ``visit`` requests it, and on every redirect hop.

Two questions, asked only in a run that has read local documents (before that there is nothing
private to leak):

- **Does the URL carry private text?** Its host labels, path, query keys and values, fragment and
  user info are URL-decoded (up to three times; ``+``, ``_``, ``-`` and ``.`` read as spaces),
  and pieces that look like base64, base32 or hex are decoded too. The result is refused when it
  shares 5 consecutive words with a local text, a key or number found in one
  (``tools.privacy``), or a run of 36+ letters and digits written without separators.
- **Where did the URL come from?** URLs the run was shown (the user's question, search results,
  pages it read and the links on them, the library's texts) may be visited as they are. A URL
  the model composed may use any host, but a path segment or a query string that appeared in
  none of those sources is refused, unless the user allows composed URLs.

Both refusals return the text the model sees; neither repeats the refused URL, so a refusal can
never become a source of the URL it refused.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, unquote_plus, urlsplit

from deepresearch_local.tools.privacy import URL_SPAN_WORDS, Leak, find_leak, squeeze
from deepresearch_local.tools.texts import load

if TYPE_CHECKING:
    from deepresearch_local.tools.base import ToolContext

_URL = re.compile(r"https?://[^\s<>\"'`\\{}|^\[\]]+", re.I)
_TRAILING = ".,;:!?]}'\""
_ENCODED = re.compile(r"[A-Za-z0-9+/_=\-]{16,}")
_ENCODED_NO_SLASH = re.compile(r"[A-Za-z0-9+_=\-]{16,}")
_SEPARATORS = re.compile(r"[._\-+~]+")
_RUN_WINDOW = 24
"""Squeezed characters compared at a time; any run of 36+ contains one whole window."""


def _unquote_fully(text: str, plus: bool = False) -> str:
    for _ in range(3):
        decoded = unquote_plus(text) if plus else unquote(text)
        if decoded == text:
            break
        text = decoded
    return text


def _host_text(host: str) -> str:
    if "xn--" in host:
        with contextlib.suppress(UnicodeError):
            host = host.encode("ascii").decode("idna")
    return host


def _decoded(token: str) -> str | None:
    """What a base64, base32 or hex token decodes to, when that is readable text."""
    candidates: list[bytes] = []
    if re.fullmatch(r"(?:[0-9a-fA-F]{2})+", token):
        candidates.append(binascii.unhexlify(token))
    padded = token + "=" * (-len(token) % 4)
    for decode in (base64.urlsafe_b64decode, base64.b64decode):
        with contextlib.suppress(binascii.Error, ValueError):
            candidates.append(decode(padded))
    upper = token.upper().rstrip("=")
    if re.fullmatch(r"[A-Z2-7]+", upper):
        with contextlib.suppress(binascii.Error, ValueError):
            candidates.append(base64.b32decode(upper + "=" * (-len(upper) % 8)))
    for raw in candidates:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if text and sum(ch.isprintable() or ch.isspace() for ch in text) / len(text) > 0.95:
            return text
    return None


def url_texts(url: str) -> list[str]:
    """The texts a URL would send: host, user info, path, query and fragment, decoded, plus what
    encoded-looking pieces of them decode to."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        user = " ".join(x for x in (parts.username, parts.password) if x)
    except ValueError:
        return [_unquote_fully(url)]
    pieces = [_host_text(host), _unquote_fully(user), _unquote_fully(parts.path)]
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        pieces += [_unquote_fully(key, plus=True), _unquote_fully(value, plus=True)]
    if parts.query and not pieces[3:]:
        pieces.append(_unquote_fully(parts.query, plus=True))
    pieces.append(_unquote_fully(parts.fragment, plus=True))
    texts = [_SEPARATORS.sub(" ", p) for p in pieces if p]
    for piece in [p for p in pieces if p]:
        flat = piece.replace(".", "")
        for token in {*_ENCODED.findall(flat), *_ENCODED_NO_SLASH.findall(flat)}:
            decoded = _decoded(token)
            if decoded:
                texts.append(decoded)
    for label in host.split("."):  # data split over labels: read them joined too
        if label and len(label) >= 16 and (decoded := _decoded(label)):
            texts.append(decoded)
    return texts


def _run_leak(texts: Sequence[str], local_texts: Sequence[str]) -> Leak | None:
    """A run of letters and digits (no separators needed) shared with a local text."""
    squeezed = [squeeze(t) for t in texts]
    windows = {
        s[i : i + _RUN_WINDOW]
        for s in squeezed
        for i in range(0, max(len(s) - _RUN_WINDOW + 1, 0), _RUN_WINDOW // 2)
    }
    if not windows:
        return None
    for text in local_texts:
        flat = squeeze(text)
        for window in windows:
            if window in flat:
                return Leak("span", 0, window[:16] + "…")
    return None


def find_url_leak(url: str, local_texts: Iterable[str]) -> Leak | None:
    texts = list(local_texts)
    if not texts:
        return None
    pieces = url_texts(url)
    return find_leak(pieces, texts, URL_SPAN_WORDS) or _run_leak(pieces, texts)


def privacy_refusal(leak: Leak, *, hop: bool = False) -> str:
    texts = load("privacy")
    if leak.kind == "secret":
        what = texts["url_secret"].format(excerpt=leak.excerpt)
    elif leak.words:
        what = texts["url_span"].format(count=leak.words, excerpt=leak.excerpt)
    else:
        what = texts["url_run"].format(excerpt=leak.excerpt)
    subject = texts["url_hop_subject" if hop else "url_subject"]
    return texts["url_refused"].format(subject=subject, what=what).strip()


# ------------------------------------------------------------------ provenance


def urls_in(texts: Iterable[str]) -> set[str]:
    """Every http(s) URL written in ``texts`` (trailing punctuation dropped)."""
    found: set[str] = set()
    for text in texts:
        for match in _URL.findall(text):
            url = match.rstrip(_TRAILING)
            while url.endswith(")") and url.count(")") > url.count("("):  # "[title](url)", "(see url)"
                url = url[:-1].rstrip(_TRAILING)
            found.add(url)
    return found


@dataclass(frozen=True)
class _Shape:
    key: str
    """Scheme-less host, port, decoded path, query and fragment: equal for the same URL."""
    segments: tuple[str, ...]
    query: str
    fragment: str


def _shape(url: str) -> _Shape | None:
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").rstrip(".")
        port = parts.port
    except ValueError:
        return None
    path = _unquote_fully(parts.path)
    segments = tuple(s for s in path.split("/") if s)
    query = _unquote_fully(parts.query, plus=True)
    fragment = _unquote_fully(parts.fragment, plus=True)
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    where = host if port in (None, default) else f"{host}:{port}"
    key = f"{where}/{'/'.join(segments)}?{query}" + (f"#{fragment}" if fragment else "")
    return _Shape(key, segments, query, fragment)


class Provenance:
    """The URLs a run was shown, and the path segments and query strings they are made of."""

    def __init__(self, urls: Iterable[str]) -> None:
        self.keys: set[str] = set()
        self.segments: set[str] = set()
        self.queries: set[str] = set()
        for url in urls:
            shape = _shape(url)
            if shape is None:
                continue
            self.keys.update({shape.key, shape.key.split("#", 1)[0]})
            self.segments.update(shape.segments)
            if shape.query:
                self.queries.add(shape.query)

    def knows(self, url: str) -> bool:
        shape = _shape(url)
        return shape is not None and shape.key in self.keys

    def unseen_parts(self, url: str) -> list[str]:
        """The path segments and query string of ``url`` that no source held (empty: nothing new)."""
        shape = _shape(url)
        if shape is None:
            return ["the whole URL"]
        if shape.key in self.keys:
            return []
        unseen = [f"path segment '{_short(s)}'" for s in shape.segments if s not in self.segments]
        if shape.query and shape.query not in self.queries:
            unseen.append("its query string")
        return unseen  # a fragment is never sent (only its privacy is checked): "#section" is fine


def _short(text: str) -> str:
    return text if len(text) <= 24 else text[:20] + "…"


def composed_refusal(unseen: Sequence[str]) -> str:
    return load("privacy")["url_composed"].format(parts=", ".join(unseen[:3])).strip()


# ------------------------------------------------------------------ the gate visit uses


class UrlGate:
    """The checks for one ``visit`` call, with the run's local texts and sources read once."""

    def __init__(
        self,
        local_texts: Sequence[str],
        sources: Iterable[str],
        *,
        allow_composed: bool = False,
        confirm: Callable[[str], bool] | None = None,
    ) -> None:
        self.local_texts = list(local_texts)
        self.allow_composed = allow_composed
        self.confirm = confirm
        known = urls_in(sources) | urls_in(self.local_texts)
        self.provenance = Provenance(known)

    @classmethod
    def for_context(cls, context: ToolContext) -> UrlGate:
        local = list(context.local_texts()) if context.local_texts is not None else []
        seen = list(context.seen_texts()) if context.seen_texts is not None else []
        return cls(
            local,
            [*seen, *context.web_links],
            allow_composed=context.allow_composed_urls,
            confirm=context.confirm,
        )

    @property
    def active(self) -> bool:
        """Whether anything private was read in this run (before that, every URL may go)."""
        return bool(self.local_texts)

    def learn(self, urls: Iterable[str]) -> None:
        self.provenance = _merged(self.provenance, urls)

    def check(self, url: str) -> str | None:
        """The refusal for a URL the model asked for, or None when it may be requested."""
        if not self.active or self.provenance.knows(url):
            return None  # shown to the model by a source: it carries nothing the model added
        leak = find_url_leak(url, self.local_texts)
        if leak is not None:
            return privacy_refusal(leak)
        unseen = self.provenance.unseen_parts(url)
        if not unseen or self.allow_composed:
            return None
        if self.confirm is not None and self.confirm(load("privacy")["url_confirm"].format(url=url).strip()):
            return None
        return composed_refusal(unseen)

    def check_hop(self, url: str) -> str | None:
        """The refusal for a redirect target: the server chose it, so only its content is checked."""
        if not self.active or self.provenance.knows(url):
            return None
        leak = find_url_leak(url, self.local_texts)
        if leak is None:
            return None
        return privacy_refusal(leak, hop=True)


def _merged(provenance: Provenance, urls: Iterable[str]) -> Provenance:
    extra = Provenance(urls)
    provenance.keys |= extra.keys
    provenance.segments |= extra.segments
    provenance.queries |= extra.queries
    return provenance
