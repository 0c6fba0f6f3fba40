"""Reading one file into what the index stores, apart from any decision about the library.

``extract`` is the part of indexing that depends only on the file's bytes: read them (bounded),
hash them, sniff binary data, spot generated artefacts, run the format's reader, take the text's
duplicate signature and cut the chunks. It touches no database and no shared state, so folders
can be read by several processes at once (``parallel``) while one process decides and stores.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, replace
from pathlib import Path, PurePath

from deepresearch_local.library.artefacts import artefact_reason
from deepresearch_local.library.chunking import chunk_document
from deepresearch_local.library.compressed import unpack
from deepresearch_local.library.detect import looks_binary
from deepresearch_local.library.errors import ReaderSkip
from deepresearch_local.library.model import Chunk, Document, Status
from deepresearch_local.library.readers import decode_plain, read_document
from deepresearch_local.library.signature import Signature, signature
from deepresearch_local.units import mib

EMPTY_TEXT = "no text (only spaces and blank lines)"


def read_bytes(path: Path, limit: int) -> bytes:
    """The file's bytes (at most ``limit`` + 1). Refuses anything but a regular file and never
    blocks on a FIFO or follows a link swapped in after the walk."""
    flags = (
        os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    )
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise OSError(0, "not a regular file")
        return handle.read(limit + 1)


@dataclass(frozen=True)
class Job:
    """One file to read, with what reading it depends on."""

    path: Path
    kind: str
    """The walk's kind ("sniff": decide from the content)."""
    limit: int
    """The most bytes this kind may have."""
    forced: bool = False
    """An include rule names the file: never dropped as a generated artefact."""
    known_sha256: str | None = None
    """The hash recorded last time: equal content is not extracted again."""
    chunk: bool = False
    """Cut the chunks here (a worker process) rather than leave it to the caller, who cuts only
    when the file is not a copy of one already kept."""
    size: int = 0
    """The file's size when it was listed (how much reading it ahead may hold in memory)."""
    likely_copy: bool = False
    """The folder holds a file of this name in a format kept before this one (a page beside
    its ``_sources/*.txt``): this one is probably a copy, so its text is neither cut nor sent
    back by a worker, and a plain text file is read only for its signature (see
    ``Extracted.withheld``)."""


@dataclass(frozen=True)
class Extracted:
    """What reading a file gave. ``status`` is where it ends unless the caller finds it a copy of
    another file: None when its content is what was recorded, "indexed" when it has text."""

    status: Status | None
    reason: str = ""
    kind: str = ""
    sha256: str | None = None
    title: str = ""
    note: str = ""
    sig: Signature | None = None
    document: Document | None = None
    """The extracted text, when the chunks were not cut yet."""
    chunks: tuple[Chunk, ...] | None = None
    chunk_error: str = ""
    """Why cutting failed (the file fails unless it is a copy of a kept one)."""
    withheld: bool = False
    """The text of a likely copy was left out: the caller reads the file again in the rare case
    it is kept after all."""


def error_text(exc: Exception) -> str:
    """A reader's failure as the coverage report shows it."""
    return (str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}")[:300]


def cut(document: Document) -> tuple[tuple[Chunk, ...] | None, str]:
    """(the document's chunks, "") or (None, why cutting failed)."""
    try:
        return tuple(chunk_document(document)), ""
    except Exception as exc:  # a damaged file must never stop the run
        return None, error_text(exc)


def _likely_copy(data: bytes, name: str, digest: str) -> Extracted:
    """A text file that is probably a copy: its signature from the text as a whole (the same as
    from its lines), and the text withheld (``Extracted.withheld``)."""
    try:
        text, note = decode_plain(data)
    except ReaderSkip as exc:
        return Extracted("skipped", str(exc), "text", digest)
    if not text.strip():
        return Extracted("skipped", EMPTY_TEXT, "text", digest)
    title = PurePath(name).name
    return Extracted("indexed", note, "text", digest, title, note, signature([text]), withheld=True)


def extract(job: Job) -> Extracted:
    """Read and extract one file; every failure ends as a status with its reason."""
    try:
        data = read_bytes(job.path, job.limit)
    except OSError as exc:
        return Extracted("failed", f"cannot read the file ({exc.strerror or exc})")
    if len(data) > job.limit:  # it grew since it was listed
        return Extracted("skipped", f"too large (over {mib(job.limit)}, the limit for this type)")
    digest = hashlib.sha256(data).hexdigest()
    if job.known_sha256 == digest:
        return Extracted(None, sha256=digest)
    kind = job.kind
    unpacked = unpack(job.path.name, data, job.limit)
    if unpacked.problem:
        return Extracted("skipped" if unpacked.too_large else "failed", unpacked.problem, kind, digest)
    name, data = unpacked.name, unpacked.data
    if kind == "sniff" and looks_binary(data):
        return Extracted("skipped", "binary content (unknown file type)", kind, digest)
    generated = "" if job.forced else artefact_reason(data, kind)
    kind = "text" if kind == "sniff" else kind
    if generated:
        return Extracted("skipped", generated, kind, digest)
    if job.likely_copy and kind == "text":
        return _likely_copy(data, name, digest)
    try:
        document = read_document(kind, data, name)
    except ReaderSkip as exc:
        return Extracted("skipped", str(exc), kind, digest)
    except Exception as exc:  # a damaged file must never stop the run
        return Extracted("failed", error_text(exc), kind, digest)
    if not any(line.text.strip() for line in document.lines):  # it would give no chunks
        return Extracted("skipped", EMPTY_TEXT, kind, digest)
    sig = signature(line.text for line in document.lines)
    found = Extracted("indexed", document.note, kind, digest, document.title, document.note, sig, document)
    if not job.chunk:
        return found
    chunks, error = cut(document)
    return replace(found, document=None, chunks=chunks, chunk_error=error)
