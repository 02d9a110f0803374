"""Device names: resolve ``auto|cpu|cuda|cuda:N`` against what torch sees."""

from __future__ import annotations

from typing import Any

import torch

from headroom_runtime.errors import BadDevice


def resolve_device(request: str) -> str:
    if request == "auto":
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    if request == "cpu":
        return "cpu"
    if not torch.cuda.is_available():
        raise BadDevice(f"device {request!r} asked for, but torch sees no CUDA device on this machine")
    index = 0 if request == "cuda" else int(request.split(":", 1)[1])
    count = torch.cuda.device_count()
    if index >= count:
        raise BadDevice(f"device {request!r} does not exist: torch sees {count} CUDA device(s)")
    return f"cuda:{index}"


def list_gpus() -> list[dict[str, Any]]:
    if not torch.cuda.is_available():
        return []
    return [
        {
            "index": i,
            "name": torch.cuda.get_device_name(i),
            "total": int(torch.cuda.get_device_properties(i).total_memory),
        }
        for i in range(torch.cuda.device_count())
    ]
