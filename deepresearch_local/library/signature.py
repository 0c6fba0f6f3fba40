"""A document's fingerprint for finding duplicates: a hash of its words (exact copies) and a
MinHash of its word 3-shingles (near copies: the same text with other markup).

Everything is computed with numpy over the text's UTF-8 bytes, so a page costs about as much as
reading it once more. Words are runs of letters, digits, ``_`` and non-ASCII characters, cut at
ASCII punctuation and at the common Unicode punctuation and spaces (U+00A0-U+00BF,
U+2000-U+207F: curly quotes, dashes, no-break spaces), lower-cased. A word hashes from its
first 16 bytes and its length.

The MinHash is one-permutation hashing: the shingle hashes fall into 64 bins by their top bits
and each bin keeps its smallest, so two documents agree in a bin with a probability equal to the
Jaccard similarity of their shingle sets. Empty bins are filled by rotation from the next full
one. ``bands`` cuts it into LSH bands: only files sharing a band (or a name, or a text hash) are
ever compared.

The sketch is a bottom-k sample of the distinct shingles: the ``SKETCH`` smallest 32-bit shingle
hashes (all of them for a shorter text, however short). It answers what the MinHash cannot: how
much of a short source file's text a rendered page holds (``held``) when the page is far
longer (it pulls in text the source only names) or the source too short for a MinHash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

SHINGLE = 3
BINS = 64
BAND_ROWS = 4
"""16 bands of 4 bins: a pair with Jaccard 0.7 shares a band with probability 0.98, one with 0.9
almost surely. (Two formats of one name are compared whatever their bands.)"""
MIN_WORDS = 30
"""Below this only an exact copy counts as a duplicate (no MinHash is kept)."""

SKETCH = 256
"""Distinct shingle hashes kept in the sketch (1 KiB a file at most)."""
CONTAINED_SAMPLE = 10
"""``held`` needs at least this many of the part's shingles below both sketches' cut."""

_EMPTY = 0xFFFFFFFF
_MIX = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xBF58476D1CE4E5B9)


@dataclass(frozen=True)
class Signature:
    text_hash: str
    """A hash of the lower-cased words in order: equal for copies that differ only in markup,
    punctuation, spacing or case."""
    minhash: bytes
    """``BINS`` little-endian uint32 values (empty for texts under ``MIN_WORDS`` words)."""
    words: int
    shingles: int
    """Word 3-shingles in the text (repeats counted)."""
    sketch: bytes = b""
    """The ``SKETCH`` smallest distinct shingle hashes, ascending little-endian uint32 values."""


class _Tables:
    """numpy lookup tables, built on first use (numpy loads only when the library indexes)."""

    def __init__(self) -> None:
        import numpy as np

        self.word_byte = np.zeros(256, dtype=bool)
        self.word_byte[list(b"0123456789abcdefghijklmnopqrstuvwxyz_")] = True
        self.word_byte[128:] = True
        self.masks = np.array([(1 << (8 * i)) - 1 for i in range(9)], dtype=np.uint64)
        self.mix = [np.uint64(m) for m in _MIX]
        self.bins = np.arange(BINS, dtype=np.uint64)
        self.shift = np.uint64(64 - (BINS.bit_length() - 1))


_TABLES: _Tables | None = None


def _tables() -> _Tables:
    global _TABLES
    if _TABLES is None:
        _TABLES = _Tables()
    return _TABLES


_PUNCTUATION = ((0xC2, 0xA0, 0xBF, 2), (0xE2, 0x80, 0x81, 3))
"""UTF-8 of U+00A0-U+00BF (C2 A0..BF) and U+2000-U+207F (E2 80..81 xx): lead byte, second byte's
range, length. Their bytes are not word bytes."""


def word_hashes(text: str) -> Any:
    """A uint64 hash per word of ``text`` (already lower-cased), in order."""
    import numpy as np

    t = _tables()
    raw = text.encode("utf-8", "surrogatepass")
    data = np.frombuffer(raw, dtype=np.uint8)
    word = t.word_byte[data]
    for lead, low, high, width in _PUNCTUATION:
        at = np.flatnonzero(data[: len(data) - width + 1] == lead)  # few: look at those only
        if len(at):
            second = data[at + 1]
            at = at[(second >= low) & (second <= high)]
            for offset in range(width):
                word[at + offset] = False
    edges = np.flatnonzero(np.diff(word, prepend=False, append=False))
    starts, lengths = edges[0::2], edges[1::2] - edges[0::2]
    padded = np.frombuffer(raw + bytes(16), dtype=np.uint8)
    at = np.ndarray((len(raw) + 8,), dtype="<u8", buffer=padded, strides=(1,))  # 8 bytes at each offset
    head = at[starts] & t.masks[np.minimum(lengths, 8)]
    tail = at[starts + 8] & t.masks[np.clip(lengths - 8, 0, 8)]
    with np.errstate(over="ignore"):
        hashed = head * t.mix[0] ^ tail * t.mix[1] ^ lengths.astype(np.uint64) * t.mix[2]
        hashed ^= hashed >> np.uint64(31)
    return hashed


def signature(lines: Iterable[str]) -> Signature:
    """The fingerprint of a document's extracted lines."""
    import numpy as np

    t = _tables()
    words = word_hashes("\n".join(lines).lower())
    text_hash = hashlib.blake2b(words.tobytes(), digest_size=16).hexdigest()
    if len(words) < SHINGLE:
        return Signature(text_hash, b"", len(words), 0)
    with np.errstate(over="ignore"):
        mixed = words[: 1 - SHINGLE] * t.mix[0]
        for offset in range(1, SHINGLE):
            end = len(words) - SHINGLE + 1 + offset
            mixed = (mixed ^ (mixed >> np.uint64(29))) * t.mix[offset] + words[offset:end]
        mixed = (mixed ^ (mixed >> np.uint64(32))) * t.mix[3]
        mixed ^= mixed >> np.uint64(29)
    sketch = _sketch((mixed & np.uint64(0xFFFFFFFF)).astype("<u4"))
    if len(words) < MIN_WORDS:
        return Signature(text_hash, b"", len(words), len(mixed), sketch)
    smallest = np.full(BINS, np.iinfo(np.uint64).max, dtype=np.uint64)
    np.minimum.at(smallest, (mixed >> t.shift).astype(np.intp), mixed)
    found = (smallest >> t.shift) == t.bins  # a bin no shingle fell in still holds the maximum
    values = np.where(found, smallest & np.uint64(0xFFFFFFFF), np.uint64(_EMPTY)).astype("<u4")
    return Signature(text_hash, _densify(values), len(words), len(mixed), sketch)


def _sketch(hashes: Any) -> bytes:
    """The ``SKETCH`` smallest distinct values, ascending (a partial sort: pages run long)."""
    import numpy as np

    if len(hashes) > 8 * SKETCH:
        smallest = _distinct(np.partition(hashes, 8 * SKETCH)[: 8 * SKETCH])
        if len(smallest) >= SKETCH:  # else the text repeats itself so much that all are needed
            return bytes(smallest[:SKETCH].tobytes())
    return bytes(_distinct(hashes)[:SKETCH].tobytes())


def _distinct(values: Any) -> Any:
    """The distinct values, ascending (``np.unique``, which costs numpy 2 several times more on
    arrays this small)."""
    import numpy as np

    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]


def _densify(values: Any) -> bytes:
    """Fill each empty bin from the next full one (circularly), offset by the distance, so two
    texts with the same shingles fill the same way."""
    empty = values == _EMPTY
    if not empty.any():
        return bytes(values.tobytes())
    filled = values.copy()
    for i in empty.nonzero()[0].tolist():
        step = 1
        while empty[(i + step) % BINS]:
            step += 1
        source = int(values[(i + step) % BINS])
        filled[i] = (source * 0x01000193 + step * 0x9E3779B1) & 0xFFFFFFFE
    return bytes(filled.tobytes())


def similarity(a: bytes, b: bytes) -> float:
    """The estimated Jaccard similarity of two MinHashes (0 when either is missing)."""
    if not a or len(a) != len(b):
        return 0.0
    import numpy as np

    return float(np.count_nonzero(np.frombuffer(a, "<u4") == np.frombuffer(b, "<u4"))) / BINS


def bands(minhash: bytes) -> list[bytes]:
    """The LSH band keys of a MinHash (none when it is empty)."""
    width = BAND_ROWS * 4
    return [bytes([i]) + minhash[i * width : (i + 1) * width] for i in range(len(minhash) // width)]


def held(part: bytes, whole: bytes) -> float | None:
    """The share of the shingles of one text (``part``'s sketch) that another (``whole``'s)
    holds, estimated from the two sketches: exact below the lower of their largest hashes (a
    random sample of the shingles, as hashes fall); None when that sample is too small."""
    import numpy as np

    x, y = np.frombuffer(part, "<u4"), np.frombuffer(whole, "<u4")
    if not len(x) or not len(y):
        return None
    cut = min(int(x[-1]) if len(x) == SKETCH else 1 << 32, int(y[-1]) if len(y) == SKETCH else 1 << 32)
    x, y = x[x <= cut], y[y <= cut]
    if len(x) < CONTAINED_SAMPLE:
        return None
    return float(np.isin(x, y, assume_unique=True).sum()) / len(x)
