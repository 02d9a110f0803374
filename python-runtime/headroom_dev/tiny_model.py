"""Tiny sentence-transformers models built locally from a config, for tests and benchmarks.

A BERT config with random weights (seeded) and a WordPiece vocab, saved as a
sentence-transformers folder, loads through the same library path as a real
model. Usage: ``python -m headroom_dev.tiny_model OUT_DIR [--seed N] [--dim D]``
"""

from __future__ import annotations

import argparse
import string
import tempfile
from pathlib import Path

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "was",
    "for",
    "on",
    "that",
    "with",
    "as",
    "by",
    "it",
    "at",
    "from",
    "this",
    "be",
    "are",
    "an",
    "or",
    "which",
    "not",
    "function",
    "return",
    "value",
    "object",
    "file",
    "module",
    "class",
    "data",
    "string",
    "list",
    "type",
    "error",
    "time",
    "name",
    "model",
    "text",
    "token",
    "batch",
    "memory",
    "chunk",
    "embed",
    "run",
    "input",
    "output",
    "default",
    "argument",
]


def vocab() -> list[str]:
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    return SPECIALS + chars + [f"##{c}" for c in chars] + WORDS


def build_tiny_model(
    out: Path, *, seed: int = 0, dim: int = 32, layers: int = 2, max_seq_len: int = 64
) -> Path:
    import warnings

    import torch
    from sentence_transformers import SentenceTransformer

    with warnings.catch_warnings():  # `models` moved in sentence-transformers 6; 3-5 only have this
        warnings.simplefilter("ignore", DeprecationWarning)
        from sentence_transformers import models  # type: ignore[attr-defined]  # lazy attribute
    from transformers import BertConfig, BertModel, BertTokenizerFast  # type: ignore[attr-defined]

    torch.manual_seed(seed)
    with tempfile.TemporaryDirectory() as scratch:
        vocab_file = Path(scratch) / "vocab.txt"
        vocab_file.write_text("\n".join(vocab()) + "\n", encoding="utf-8")
        tokenizer = BertTokenizerFast(vocab_file=str(vocab_file), do_lower_case=True)
        config = BertConfig(
            vocab_size=len(vocab()),
            hidden_size=dim,
            num_hidden_layers=layers,
            num_attention_heads=2,
            intermediate_size=dim * 2,
            max_position_embeddings=max_seq_len,
        )
        base = Path(scratch) / "bert"
        BertModel(config).save_pretrained(base, safe_serialization=True)
        tokenizer.save_pretrained(base)
        transformer = models.Transformer(str(base), max_seq_length=max_seq_len)
        pooling = models.Pooling(dim, "mean")
        SentenceTransformer(modules=[transformer, pooling], device="cpu").save(str(out))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--max-seq-len", type=int, default=64)
    args = parser.parse_args()
    build_tiny_model(args.out, seed=args.seed, dim=args.dim, layers=args.layers, max_seq_len=args.max_seq_len)
    print(args.out)


if __name__ == "__main__":
    main()
