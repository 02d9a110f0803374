"""Encoding through the real sentence-transformers library."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch

from headroom_runtime.core.devices import resolve_device
from headroom_runtime.core.errors import BadModel, BadSpec
from headroom_runtime.core.memory import apply_vram_limit
from headroom_runtime.embed.model_info import resident_bytes, weight_bytes
from headroom_runtime.embed.models import ResolvedModel, resolve_model


@dataclass
class LoadedModel:
    resolved: ResolvedModel
    device: str
    model: Any  # SentenceTransformer
    dim: int
    max_seq_len: int
    load_ms: float
    device_name: str  # the GPU's name, or "cpu"
    dtype: str
    capacity: int | None  # bytes this runtime may use on its GPU (the cap if set); None on CPU
    resident: int  # bytes of parameters and buffers


def load_model(
    name: str, device_request: str, max_seq_len: int | None, vram_limit: int | None = None
) -> LoadedModel:
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    # The tokenizer warns for every over-long document; we count them instead.
    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    started = time.perf_counter()
    resolved = resolve_model(name)
    device = resolve_device(device_request, weight_bytes(resolved.path))
    capacity = apply_vram_limit(device, vram_limit)
    try:
        model = SentenceTransformer(
            resolved.path, device=device, trust_remote_code=False, local_files_only=True
        )
    except Exception as exc:
        raise BadModel(f"model {name!r} could not be loaded from {resolved.path}: {exc}") from exc
    if max_seq_len is not None:
        limit = _position_limit(model)
        if limit is not None and max_seq_len > limit:
            raise BadSpec(f"--max-seq-len {max_seq_len} exceeds model {name!r}'s limit of {limit}")
        model.max_seq_length = max_seq_len
    # sentence-transformers 6 renamed the getter; 3-5 only have the old name.
    getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    dim = getter()
    length = model.max_seq_length
    if dim is None or length is None:
        raise BadModel(f"model {name!r} does not report its embedding dimension and max length")
    return LoadedModel(
        resolved=resolved,
        device=device,
        model=model,
        dim=int(dim),
        max_seq_len=int(length),
        load_ms=(time.perf_counter() - started) * 1000,
        device_name=torch.cuda.get_device_name(device) if device.startswith("cuda") else "cpu",
        dtype=str(next(model.parameters()).dtype).removeprefix("torch."),
        capacity=capacity,
        resident=resident_bytes(model),
    )


def _position_limit(model: Any) -> int | None:
    config = getattr(getattr(model[0], "auto_model", None), "config", None)
    limit = getattr(config, "max_position_embeddings", None)
    return int(limit) if isinstance(limit, int) else None


def token_lengths(loaded: LoadedModel, texts: list[str]) -> tuple[list[int], int]:
    """Each document's padded length in tokens (special tokens included, capped at the
    max length) and how many documents exceed the max length and are truncated."""
    ids = loaded.model.tokenizer(texts, add_special_tokens=True, truncation=False)["input_ids"]
    limit = loaded.max_seq_len
    return [min(len(row), limit) for row in ids], sum(1 for row in ids if len(row) > limit)
