"""GGUF files shaped like Tongyi-DeepResearch-30B-A3B, without weights, for listing benchmarks.

The header is the real thing's size: the full 151,936-token vocabulary, its token types and as
many merges (what made reading a header slow), and a tensor table declaring every 30B tensor.
The data section is a hole (the file is truncated to its declared size), so five of them take
a few megabytes of disk.
"""

from __future__ import annotations

import os
from pathlib import Path

N_LAYERS = 48
N_EMBD = 2048
N_HEAD, N_HEAD_KV, HEAD_DIM = 32, 4, 128
N_EXPERT, N_EXPERT_USED, EXPERT_FF = 128, 8, 768
N_VOCAB = 151_936


def _tensors() -> list[tuple[str, tuple[int, ...], str]]:
    """(name, shape in GGUF order, type) for every tensor of the 30B model."""
    out: list[tuple[str, tuple[int, ...], str]] = [
        ("token_embd.weight", (N_EMBD, N_VOCAB), "Q4_K"),
        ("output.weight", (N_EMBD, N_VOCAB), "Q6_K"),
        ("output_norm.weight", (N_EMBD,), "F32"),
    ]
    q, kv = N_HEAD * HEAD_DIM, N_HEAD_KV * HEAD_DIM
    for i in range(N_LAYERS):
        b = f"blk.{i}."
        out += [
            (b + "attn_norm.weight", (N_EMBD,), "F32"),
            (b + "attn_q.weight", (N_EMBD, q), "Q4_K"),
            (b + "attn_k.weight", (N_EMBD, kv), "Q4_K"),
            (b + "attn_v.weight", (N_EMBD, kv), "Q6_K"),
            (b + "attn_output.weight", (q, N_EMBD), "Q4_K"),
            (b + "attn_q_norm.weight", (HEAD_DIM,), "F32"),
            (b + "attn_k_norm.weight", (HEAD_DIM,), "F32"),
            (b + "ffn_norm.weight", (N_EMBD,), "F32"),
            (b + "ffn_gate_inp.weight", (N_EMBD, N_EXPERT), "F32"),
            (b + "ffn_gate_exps.weight", (N_EMBD, EXPERT_FF, N_EXPERT), "Q4_K"),
            (b + "ffn_up_exps.weight", (N_EMBD, EXPERT_FF, N_EXPERT), "Q4_K"),
            (b + "ffn_down_exps.weight", (EXPERT_FF, N_EMBD, N_EXPERT), "Q6_K"),
        ]
    return out


def write_fake_30b(path: Path, name: str = "Tongyi-DeepResearch-30B-A3B") -> int:
    """Write a header-only 30B-shaped GGUF at ``path``; returns the declared file size."""
    import gguf
    import numpy as np

    w = gguf.GGUFWriter(str(path), "qwen3moe")
    w.add_name(name)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q4_K_M)
    w.add_block_count(N_LAYERS)
    w.add_context_length(131072)
    w.add_embedding_length(N_EMBD)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_HEAD_KV)
    w.add_key_length(HEAD_DIM)
    w.add_value_length(HEAD_DIM)
    w.add_expert_count(N_EXPERT)
    w.add_expert_used_count(N_EXPERT_USED)
    w.add_expert_feed_forward_length(EXPERT_FF)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list([f"tok{i:06d}" for i in range(N_VOCAB)])
    w.add_token_types([1] * N_VOCAB)
    w.add_token_merges([f"t{i} k{i}" for i in range(N_VOCAB - 549)])
    data_bytes = 0
    for tname, shape, ttype in _tensors():
        qtype = gguf.GGMLQuantizationType[ttype]
        block, type_size = gguf.GGML_QUANT_SIZES[qtype]
        n = 1
        for d in shape:
            n *= d
        nbytes = n // block * type_size
        # GGUF order (innermost first) is the reverse of numpy's.
        w.add_tensor_info(tname, tuple(reversed(shape)), np.dtype(np.float32), nbytes, raw_dtype=qtype)
        data_bytes += nbytes + (-nbytes % 32)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    w.close()
    header = path.stat().st_size
    total = header + (-header % 32) + data_bytes
    os.truncate(path, total)  # a sparse hole where the weights would be
    return total
