"""What a model needs, read from its files without loading weights: its embedding
dimension (so an ensemble's spec is checked before any work) and its weight bytes
(so a pass can be placed on a device with room)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

POOLING_MODES = (
    "pooling_mode_cls_token",
    "pooling_mode_max_tokens",
    "pooling_mode_mean_tokens",
    "pooling_mode_mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens",
    "pooling_mode_lasttoken",
)
WEIGHT_SUFFIXES = (".safetensors", ".bin")


def _json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def embedding_dim(folder: str) -> int | None:
    """The output dimension of a sentence-transformers folder, following its modules
    (Transformer -> Pooling -> Dense -> Normalize); None when a module is not understood."""
    root = Path(folder)
    try:
        modules = json.loads((root / "modules.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    dim: int | None = None
    for module in modules:
        kind = str(module.get("type", "")).rsplit(".", 1)[-1]
        where = root / str(module.get("path", ""))
        if kind == "Transformer":
            config = _json(where / "config.json") or {}
            hidden = config.get("hidden_size", config.get("d_model"))
            dim = hidden if isinstance(hidden, int) else None
        elif kind == "Pooling":
            config = _json(where / "config.json") or {}
            # sentence-transformers 6 writes embedding_dimension and pooling_mode; 3-5 the flags
            width = config.get("word_embedding_dimension", config.get("embedding_dimension"))
            named = config.get("pooling_mode")
            modes = (
                len(named)
                if isinstance(named, list)
                else 1
                if isinstance(named, str)
                else sum(1 for mode in POOLING_MODES if config.get(mode))
            )
            dim = width * max(modes, 1) if isinstance(width, int) else None
        elif kind == "Dense":
            out = (_json(where / "config.json") or {}).get("out_features")
            dim = out if isinstance(out, int) else None
        elif kind != "Normalize":
            return None
        if dim is None:
            return None
    return dim


def weight_bytes(folder: str) -> int | None:
    """Bytes of the model's weight files (about what its parameters take resident)."""
    files = [p for p in Path(folder).rglob("*") if p.suffix in WEIGHT_SUFFIXES and p.is_file()]
    safetensors = [p for p in files if p.suffix == ".safetensors"]
    chosen = safetensors or files  # a folder with both holds the same weights twice
    return sum(p.stat().st_size for p in chosen) if chosen else None


def resident_bytes(model: Any) -> int:
    """Bytes of a loaded model's parameters and buffers: the device-independent
    measure of what a model keeps resident."""
    tensors = [*model.parameters(), *model.buffers()]
    return int(sum(t.numel() * t.element_size() for t in tensors))
