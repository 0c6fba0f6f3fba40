"""A tiny random dense Qwen3 model folder in Hugging Face layout, for the MLX engine tests.

The folder holds ``config.json``, ``model.safetensors`` (random float32 weights), a byte-level
BPE ``tokenizer.json`` trained here with ``tokenizers``, and a ``tokenizer_config.json`` whose
chat template is the project's built-in ChatML/tools template. Nothing is downloaded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
ADDED = ["<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>", "<think>", "</think>"]

_CORPUS = [
    "You are a deep research assistant. Answer the user's question with sources.",
    "The quick brown fox jumps over the lazy dog while the cat sleeps in the sun.",
    "Search the web, visit pages, read documents and write a concise report.",
    '{"name": "search", "arguments": {"query": ["history of the printing press"]}}',
    "# Tools\n\nYou may call one or more functions to assist with the user query.",
    "Paris is the capital of France. Berlin is the capital of Germany. 0123456789",
    "user assistant system tool function parameters properties required type string",
]


@dataclass(frozen=True)
class TinyDense:
    path: Path
    n_layers: int
    n_kv_heads: int
    head_dim: int
    n_vocab: int
    n_ctx_train: int


def _tokenizer(dest: Path) -> int:
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS * 4, trainer=trainer)
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in ADDED])
    tok.save(str(dest / "tokenizer.json"))
    template = (Path(__file__).parents[2] / "deepresearch_local/engines/chatml_tools.jinja").read_text()
    (dest / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "PreTrainedTokenizerFast",
                "eos_token": "<|im_end|>",
                "pad_token": "<|endoftext|>",
                "bos_token": None,
                "add_bos_token": False,
                "chat_template": template,
                "model_max_length": 4096,
            }
        )
    )
    return int(tok.get_vocab_size())


def _printable(dest: Path) -> set[int]:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(dest / "tokenizer.json"))
    special = {tok.token_to_id(t) for t in SPECIAL + ADDED}
    out = set()
    for i in range(tok.get_vocab_size()):
        text = tok.decode([i])
        if i not in special and text and text.isascii() and text.isprintable():
            out.add(i)
    return out


def write_tiny_dense(dest: Path, seed: int = 0) -> TinyDense:
    """Write the model folder into ``dest`` (created) and describe it."""
    import mlx.core as mx
    from mlx.utils import tree_flatten
    from mlx_lm.models import qwen3

    dest.mkdir(parents=True, exist_ok=True)
    n_tokens = _tokenizer(dest)
    printable = _printable(dest)
    vocab = ((n_tokens + 63) // 64) * 64
    eos = json.loads((dest / "tokenizer.json").read_text())["added_tokens"][2]
    config = {
        "model_type": "qwen3",
        "architectures": ["Qwen3ForCausalLM"],
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "intermediate_size": 128,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 16,
        "rms_norm_eps": 1e-6,
        "vocab_size": vocab,
        "max_position_embeddings": 4096,
        "rope_theta": 1_000_000.0,
        "tie_word_embeddings": False,
        "eos_token_id": eos["id"],
        "torch_dtype": "float32",
    }
    (dest / "config.json").write_text(json.dumps(config, indent=2))
    mx.random.seed(seed)
    model = qwen3.Model(qwen3.ModelArgs.from_dict(config))  # type: ignore[no-untyped-call]
    # Larger output weights give peaked logits, so greedy decoding has no near-ties; rows of
    # special tokens and of tokens that are not printable ASCII are zeroed, so the model
    # writes readable text and never ends on its own (tests pick their own stops).
    head = mx.random.normal(model.lm_head.weight.shape) * 0.5
    keep = mx.array([1.0 if i in printable else 0.0 for i in range(vocab)])[:, None]
    model.lm_head.weight = head * keep
    weights = dict(tree_flatten(model.parameters()))
    mx.save_safetensors(str(dest / "model.safetensors"), weights, metadata={"format": "mlx"})
    return TinyDense(dest, 2, 2, 16, vocab, 4096)
