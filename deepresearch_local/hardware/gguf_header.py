"""A minimal GGUF header reader: the key/value pairs and the tensor table, nothing else.

``gguf.GGUFReader`` builds a field object for every array item, so a model's tokenizer (151,936
tokens and as many merges for Qwen) costs seconds per file. This reader walks the header with
``struct.unpack_from`` over a memory map: arrays it is not asked for are skipped (their length is
kept), small numeric arrays (per-layer values) are read, and tensor sizes come from the GGML type
table. The tensor data itself is never touched.

Format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md (little-endian; version 2 and 3).
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAGIC = b"GGUF"
SMALL_ARRAY = 4096
"""Numeric arrays up to this many items are read (per-layer head counts and the like)."""

# Value types: code -> (struct format, size) for the fixed-size ones.
_SCALARS: dict[int, tuple[str, int]] = {
    0: ("B", 1),  # uint8
    1: ("b", 1),  # int8
    2: ("H", 2),  # uint16
    3: ("h", 2),  # int16
    4: ("I", 4),  # uint32
    5: ("i", 4),  # int32
    6: ("f", 4),  # float32
    7: ("?", 1),  # bool
    10: ("Q", 8),  # uint64
    11: ("q", 8),  # int64
    12: ("d", 8),  # float64
}
_STRING, _ARRAY = 8, 9

# GGML tensor types: code -> (name, elements per block, bytes per block). From ggml.h / gguf-py.
GGML_TYPES: dict[int, tuple[str, int, int]] = {
    0: ("F32", 1, 4),
    1: ("F16", 1, 2),
    2: ("Q4_0", 32, 18),
    3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22),
    7: ("Q5_1", 32, 24),
    8: ("Q8_0", 32, 34),
    9: ("Q8_1", 32, 36),
    10: ("Q2_K", 256, 84),
    11: ("Q3_K", 256, 110),
    12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176),
    14: ("Q6_K", 256, 210),
    15: ("Q8_K", 256, 292),
    16: ("IQ2_XXS", 256, 66),
    17: ("IQ2_XS", 256, 74),
    18: ("IQ3_XXS", 256, 98),
    19: ("IQ1_S", 256, 50),
    20: ("IQ4_NL", 32, 18),
    21: ("IQ3_S", 256, 110),
    22: ("IQ2_S", 256, 82),
    23: ("IQ4_XS", 256, 136),
    24: ("I8", 1, 1),
    25: ("I16", 1, 2),
    26: ("I32", 1, 4),
    27: ("I64", 1, 8),
    28: ("F64", 1, 8),
    29: ("IQ1_M", 256, 56),
    30: ("BF16", 1, 2),
    34: ("TQ1_0", 256, 54),
    35: ("TQ2_0", 256, 66),
    39: ("MXFP4", 32, 17),
}


FILE_TYPES: dict[int, str] = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
    11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
    17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS",
    23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M",
    30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0", 37: "TQ2_0", 38: "MXFP4_MOE",
}  # fmt: skip
"""``general.file_type`` → the build's name (llama.cpp's ``llama_ftype``, without ``MOSTLY_``)."""


def file_type_name(file_type: object) -> str | None:
    """``"Q4_K_M"`` for ``general.file_type`` 15; None when absent or unknown."""
    try:
        return FILE_TYPES.get(int(file_type))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


class GGUFFormatError(ValueError):
    """The file is not a GGUF this reader understands."""


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    type_name: str
    n_bytes: int


@dataclass
class GGUFHeader:
    version: int
    fields: dict[str, Any] = field(default_factory=dict)
    """Scalars and strings as Python values; small numeric arrays as lists."""
    array_lengths: dict[str, int] = field(default_factory=dict)
    """Every array's item count, including the ones that were skipped."""
    tensors: list[TensorInfo] = field(default_factory=list)


class _Cursor:
    def __init__(self, buf: mmap.mmap | bytes) -> None:
        self.buf = buf
        self.pos = 0

    def unpack(self, fmt: str, size: int) -> Any:
        if self.pos + size > len(self.buf):
            raise GGUFFormatError("the header runs past the end of the file (truncated?)")
        (value,) = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += size
        return value

    def string(self) -> str:
        n = self.unpack("Q", 8)
        end = self.pos + n
        if end > len(self.buf):
            raise GGUFFormatError("a string runs past the end of the file (truncated?)")
        raw = bytes(self.buf[self.pos : end])
        self.pos = end
        return raw.decode("utf-8", errors="replace")

    def skip_strings(self, count: int) -> None:
        """Step over ``count`` strings: only their lengths are read."""
        unpack, buf, pos = struct.unpack_from, self.buf, self.pos
        limit = len(buf)
        for _ in range(count):
            (n,) = unpack("<Q", buf, pos)
            pos += 8 + n
            if pos > limit:
                raise GGUFFormatError("a string array runs past the end of the file (truncated?)")
        self.pos = pos

    def value(self, vtype: int, key: str, wanted: Callable[[str], bool], header: GGUFHeader) -> Any:
        if vtype in _SCALARS:
            return self.unpack(*_SCALARS[vtype])
        if vtype == _STRING:
            return self.string()
        if vtype != _ARRAY:
            raise GGUFFormatError(f"unknown value type {vtype} for {key}")
        item_type = self.unpack("I", 4)
        count = self.unpack("Q", 8)
        header.array_lengths[key] = count
        if item_type in _SCALARS:
            fmt, size = _SCALARS[item_type]
            if count <= SMALL_ARRAY or wanted(key):
                if self.pos + size * count > len(self.buf):
                    raise GGUFFormatError(f"the array {key} runs past the end of the file")
                items = list(struct.unpack_from(f"<{count}{fmt}", self.buf, self.pos))
                self.pos += size * count
                return items
            self.pos += size * count
            return None
        if item_type == _STRING:
            if wanted(key):
                return [self.string() for _ in range(count)]
            self.skip_strings(count)
            return None
        if wanted(key):
            return [self.value(item_type, key, wanted, header) for _ in range(count)]
        for _ in range(count):  # nested arrays: rare, walk them without keeping anything
            self.value(item_type, key, lambda _key: False, header)
        return None


def read_header(path: str | Path, wanted: Callable[[str], bool] | None = None) -> GGUFHeader:
    """Parse the header of the GGUF at ``path``. ``wanted(key)`` says which large arrays to read."""
    want = wanted or (lambda _key: False)
    with open(path, "rb") as f:
        try:
            buf: mmap.mmap | bytes = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # an empty file cannot be mapped
            buf = b""
        try:
            return _parse(_Cursor(buf), want)
        except struct.error as exc:
            raise GGUFFormatError(f"the header runs past the end of the file (truncated?): {exc}") from exc
        finally:
            if isinstance(buf, mmap.mmap):
                buf.close()


def _parse(cur: _Cursor, wanted: Callable[[str], bool]) -> GGUFHeader:
    if bytes(cur.buf[:4]) != MAGIC:
        raise GGUFFormatError("it does not start with the GGUF magic bytes")
    cur.pos = 4
    version = cur.unpack("I", 4)
    if version not in (2, 3):
        raise GGUFFormatError(f"GGUF version {version} is not supported (big-endian or too old?)")
    n_tensors = cur.unpack("Q", 8)
    n_kv = cur.unpack("Q", 8)
    header = GGUFHeader(version)
    for _ in range(n_kv):
        key = cur.string()
        vtype = cur.unpack("I", 4)
        value = cur.value(vtype, key, wanted, header)
        if value is not None:
            header.fields[key] = value
    for _ in range(n_tensors):
        name = cur.string()
        n_dims = cur.unpack("I", 4)
        if n_dims > 8:
            raise GGUFFormatError(f"tensor {name} has {n_dims} dimensions")
        dims = tuple(int(cur.unpack("Q", 8)) for _ in range(n_dims))
        ttype = cur.unpack("I", 4)
        cur.unpack("Q", 8)  # offset into the data section
        header.tensors.append(TensorInfo(name, dims, *_tensor_size(name, dims, ttype)))
    return header


def _tensor_size(name: str, dims: tuple[int, ...], ttype: int) -> tuple[str, int]:
    known = GGML_TYPES.get(ttype) or _newer_type(ttype)
    if known is None:
        raise GGUFFormatError(f"tensor {name} has an unknown type {ttype}")
    type_name, block, block_bytes = known
    elements = 1
    for d in dims:
        elements *= d
    return type_name, elements // block * block_bytes


def _newer_type(ttype: int) -> tuple[str, int, int] | None:
    """A tensor type newer than the table above, from the installed gguf package."""
    try:
        import gguf

        qtype = gguf.GGMLQuantizationType(ttype)
        block, size = gguf.GGML_QUANT_SIZES[qtype]
    except (ImportError, ValueError, KeyError):
        return None
    return qtype.name, int(block), int(size)
