"""File kinds by name, binary sniffing, and decoding text whatever its encoding."""

from __future__ import annotations

import codecs
import re

from deepresearch_local.library.compressed import inner_name


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


MARKDOWN = frozenset({".md", ".markdown", ".mdown", ".mkd"})
HTML = frozenset({".html", ".htm", ".xhtml", ".xht", ".shtml"})
CSV = frozenset({".csv", ".tsv"})
TEXT = frozenset({".txt", ".text", ".rst", ".log", ".org", ".adoc", ".tex", ".bib", ".srt", ".vtt"})
CODE = _words(
    ".py .pyi .ipynb .js .mjs .cjs .ts .tsx .jsx .java .kt .kts .scala .c .h .cc .cpp .cxx .hpp .hh .cs .go "
    ".rs .rb .php .pl .pm .sh .bash .zsh .fish .ps1 .bat .swift .m .mm .r .jl .lua .hs .ml .mli .ex .exs "
    ".erl .clj .dart .sql .css .scss .less .vue .svelte .xml .json .jsonl .yaml .yml .toml .ini .cfg .conf "
    ".properties .gradle .cmake .mk .dockerfile .proto .graphql .tf .nix .el .vim .xsl .xslt .xsd .rng .dtd"
)
# Formats we recognise but do not read: say so instead of sniffing them as text. Names that say
# nothing sure (``.dat`` holds text tables as often as binary records) are sniffed.
UNSUPPORTED = {
    ".doc": "old Word format: save it as .docx or PDF",
    ".ppt": "PowerPoint: export it as PDF",
    ".pptx": "PowerPoint: export it as PDF",
    ".xls": "spreadsheet: export it as CSV",
    ".xlsx": "spreadsheet: export it as CSV",
    ".odt": "OpenDocument text: save it as .docx or PDF",
    ".rtf": "RTF: save it as .docx or PDF",
    ".epub": "e-book: not supported yet",
}
BINARY = _words(
    ".png .jpg .jpeg .gif .bmp .tif .tiff .webp .ico .heic .svgz .mp3 .wav .flac .ogg .m4a .mp4 .mov .avi "
    ".mkv .webm .zip .tgz .bz2 .xz .zst .7z .rar .tar .jar .war .whl .exe .dll .so .dylib .o .a .lib "
    ".bin .db .sqlite .sqlite3 .pyc .class .woff .woff2 .ttf .otf .eot .iso .dmg .pkg .deb .rpm "
    ".gguf .safetensors .pt .pth .onnx .npy .npz .pkl .parquet .feather .h5"
)


def kind_for(name: str) -> str | None:
    """The reader for a file name: "markdown", "html", "pdf", "docx", "csv", "code", "text",
    "binary" / "unsupported" for formats we refuse, or None when only the content can tell. A
    gzip-compressed file is read as what it holds (see ``compressed``): ``guide.html.gz`` is HTML,
    ``NEWS.gz`` is told by its content and ``site.tar.gz`` is an archive."""
    inner = inner_name(name)
    if inner is not None:
        return kind_for(inner) if "." in inner.lstrip(".") else None
    lower = name.lower()
    suffix = "." + lower.rsplit(".", 1)[1] if "." in lower.lstrip(".") else ""
    if suffix in MARKDOWN:
        return "markdown"
    if suffix in HTML:
        return "html"
    if suffix == ".pdf":
        return "pdf"
    if suffix == ".docx":
        return "docx"
    if suffix in CSV:
        return "csv"
    if suffix in CODE:
        return "code"
    if suffix in TEXT:
        return "text"
    if suffix in UNSUPPORTED:
        return "unsupported"
    if suffix in BINARY:
        return "binary"
    return None


def unsupported_reason(name: str) -> str:
    inner = inner_name(name)
    if inner is not None:
        return unsupported_reason(inner).replace(" (", ", gzip-compressed (", 1)
    suffix = "." + name.lower().rsplit(".", 1)[-1]
    return f"unsupported type {suffix} ({UNSUPPORTED.get(suffix, 'binary format')})"


_CONTROL = bytes(range(0, 32)).replace(b"\t", b"").replace(b"\n", b"").replace(b"\r", b"").replace(b"\f", b"")
_CONTROL_TABLE = bytes.maketrans(b"", b"")


def utf16_without_bom(data: bytes) -> str | None:
    """ "utf-16-le" or "utf-16-be" for UTF-16 text that lacks a BOM (mostly Latin text, so one
    byte of nearly every pair is NUL and the other is not), else None."""
    head = data[:8192]
    head = head[: len(head) - len(head) % 2]
    if len(head) < 16:
        return None
    even, odd = head[0::2], head[1::2]
    pairs = len(even)
    for zeros, other, name in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if zeros.count(0) >= 0.9 * pairs and other.count(0) <= 0.01 * pairs:
            return name
    return None


NUL_SHARE = 0.01
"""Binary data is full of NUL bytes; a page or note may hold a stray one (a generated API page that
copied a NUL character from a source comment): at most this share of the start is still text."""
CONTROL_SHARE = 0.05


SAMPLE = 8192
"""Bytes looked at in each place ``looks_binary`` samples."""


def looks_binary(data: bytes) -> bool:
    """True when ``data`` is not text: its start, or in a longer file its middle or its end, holds
    more than a stray NUL byte (unless it is UTF-16, with or without a BOM) or many control
    characters. A binary format may open with text (a DVI file's PostScript specials, an image
    format's header); its body then gives it away."""
    head = data[:SAMPLE]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or utf16_without_bom(head):
        return False
    if _binary_sample(head):
        return True
    if len(data) <= 3 * SAMPLE:
        return False
    middle = len(data) // 2 - SAMPLE // 2
    return _binary_sample(data[middle : middle + SAMPLE]) or _binary_sample(data[-SAMPLE:])


def _binary_sample(head: bytes) -> bool:
    if not head:
        return False
    if head.count(0) > NUL_SHARE * len(head):
        return True
    controls = len(head) - len(head.translate(_CONTROL_TABLE, _CONTROL))
    return controls / len(head) > CONTROL_SHARE


def decode_text(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """(text, encoding used). Tries a BOM, the declared charset, UTF-8, then cp1252, then latin-1
    (which never fails)."""
    for bom, enc in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(enc, errors="replace"), enc
    wide = utf16_without_bom(data)
    if wide:
        return data.decode(wide, errors="replace"), wide
    candidates = [c for c in (declared, "utf-8", "cp1252") if c]
    for enc in candidates:
        try:
            return data.decode(enc), codecs.lookup(enc).name
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("latin-1"), "latin-1"


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.IGNORECASE)


def html_charset(data: bytes) -> str | None:
    """The charset an HTML file declares in its first few kilobytes, if any."""
    match = _META_CHARSET.search(data[:4096])
    return match.group(1).decode("ascii", "replace") if match else None
