"""Device names: resolve ``auto|cpu|cuda|cuda:N`` against what torch sees."""

from __future__ import annotations

from typing import Any

import torch

from headroom_runtime.core.errors import BadDevice

# Room a pass needs beyond its weights (activations, allocator slack), as a factor.
WORKING_ROOM = 1.5


def pick_device(free_by_gpu: list[int], need: int | None) -> str:
    """The least-loaded GPU (most free bytes) when it has room for ``need``, else the CPU."""
    if not free_by_gpu:
        return "cpu"
    index = max(range(len(free_by_gpu)), key=lambda i: free_by_gpu[i])
    if need is not None and free_by_gpu[index] < need * WORKING_ROOM:
        return "cpu"
    return f"cuda:{index}"


def resolve_device(request: str, need: int | None = None) -> str:
    """``auto`` places a pass on the least-loaded GPU with room for ``need`` bytes, else the CPU."""
    if request == "auto":
        if not torch.cuda.is_available():
            return "cpu"
        free = [int(torch.cuda.mem_get_info(i)[0]) for i in range(torch.cuda.device_count())]
        return pick_device(free, need)
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
