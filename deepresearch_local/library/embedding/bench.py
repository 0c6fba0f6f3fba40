"""Embedding throughput on this machine: ``python -m deepresearch_local.library.embedding.bench
MODEL.gguf [--chunks 64] [--chars 1000] [--threads 1 2]``.

Cuts real text (the files under ``--text``, by default this package's own sources and docs)
into chunks of about ``--chars`` characters and prints chunks/s and tokens/s per thread count,
and chunks per CPU-second (what one idle core would do; wall figures on a busy machine mislead).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from deepresearch_local.library.embedding.llama_embedder import Embedder
from deepresearch_local.library.embedding.models import embedder_for


def sample_chunks(root: Path, count: int, chars: int) -> list[str]:
    """Up to ``count`` chunks of about ``chars`` characters, cut at whitespace, from text files."""
    chunks: list[str] = []
    for path in sorted(root.rglob("*")):
        if path.suffix not in (".py", ".md", ".txt", ".toml") or not path.is_file():
            continue
        text = " ".join(path.read_text("utf-8", errors="replace").split())
        while len(text) >= chars and len(chunks) < count:
            cut = text.rfind(" ", 0, chars) if " " in text[:chars] else chars
            chunks.append(text[:cut])
            text = text[cut:].lstrip()
        if len(chunks) >= count:
            break
    return chunks


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model", help="a GGUF path, a downloaded embedding variant id, or '' for the default")
    parser.add_argument("--text", type=Path, default=Path(__file__).resolve().parents[3])
    parser.add_argument("--chunks", type=int, default=64)
    parser.add_argument("--chars", type=int, default=1000)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch-tokens", type=int, default=None, help="default: the model's max tokens")
    args = parser.parse_args(argv)
    chunks = sample_chunks(args.text, args.chunks, args.chars)
    if not chunks:
        parser.error(f"no text files with {args.chars}+ characters under {args.text}")
    for threads in args.threads:
        emb: Embedder = embedder_for(args.model or None, n_threads=threads, batch_tokens=args.batch_tokens)
        with emb:
            emb.embed(chunks[:2])  # load and warm up
            cpu = time.process_time()
            emb.embed(chunks)
            cpu = time.process_time() - cpu
            s = emb.last_stats
            assert s is not None
            # chunks per CPU-second: what one idle core would do, whatever else the machine runs
            print(
                f"{emb.id}: {threads} thread(s), {s.texts} chunks of ~{args.chars} chars "
                f"({s.tokens / s.texts:.0f} tokens each, {s.truncated} cut): "
                f"{s.texts_per_second:.2f} chunks/s, {s.tokens_per_second:.0f} tokens/s wall; "
                f"{s.texts / cpu:.2f} chunks per CPU-second"
            )


if __name__ == "__main__":
    main()
