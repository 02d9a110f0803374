"""Fault injection for tests on machines without a GPU. Documented switches, tests only:

HEADROOM_FAULT_OOM_TOKENS=N   raise the OOM error the GPU raises whenever a batch holds
                              more than N padded tokens
HEADROOM_FAULT_OOM_KIND=K     oom (default) or allocator_assert: the NVML assert that
                              PyTorch raises on its OOM path
HEADROOM_FAULT_KILL_AFTER_RENAME=I  (chunk_file.py) SIGKILL after chunk I's rename
HEADROOM_FAULT_MEMORY_USED=F[,F...]  the VRAM guard (guard.py) reads memory used as these
                              fractions of the total instead of the real figure, one per check
                              (after each batch), the last one repeating: "0.5,0.9,0.97"
HEADROOM_FAULT_LEAK_MB=N      keep N MB more after every chunk (a real, growing RSS on CPU,
                              real allocated memory on a GPU): the leak detector's test case
"""

from __future__ import annotations

import os

import numpy as np
import torch

OOM_TOKENS = "HEADROOM_FAULT_OOM_TOKENS"
MEMORY_USED = "HEADROOM_FAULT_MEMORY_USED"
LEAK_MB = "HEADROOM_FAULT_LEAK_MB"
OOM_KIND = "HEADROOM_FAULT_OOM_KIND"

ASSERT_MESSAGE = (
    "NVML_SUCCESS == DriverAPI::get()->nvmlInit_v2_() INTERNAL ASSERT FAILED at "
    '"/pytorch/c10/cuda/CUDACachingAllocator.cpp":1090 (injected by HEADROOM_FAULT_OOM_TOKENS)'
)


def oom_threshold() -> int | None:
    value = os.environ.get(OOM_TOKENS)
    return int(value) if value else None


def maybe_raise_oom(padded_tokens: int, threshold: int | None) -> None:
    if threshold is None or padded_tokens <= threshold:
        return
    if os.environ.get(OOM_KIND) == "allocator_assert":
        raise RuntimeError(ASSERT_MESSAGE)
    raise torch.cuda.OutOfMemoryError(
        f"CUDA out of memory: a batch of {padded_tokens} padded tokens (injected by {OOM_TOKENS}={threshold})"
    )


class MemorySeries:
    """HEADROOM_FAULT_MEMORY_USED read one value per check; None when the switch is off."""

    def __init__(self, value: str | None) -> None:
        self.values = [float(item) for item in value.split(",")] if value else []
        self.at = 0

    def next(self) -> float | None:
        if not self.values:
            return None
        value = self.values[min(self.at, len(self.values) - 1)]
        self.at += 1
        return value


def memory_series() -> MemorySeries:
    return MemorySeries(os.environ.get(MEMORY_USED))


_leaked: list[object] = []  # what HEADROOM_FAULT_LEAK_MB keeps alive, on purpose


def maybe_leak(device: str) -> None:
    """Keeps HEADROOM_FAULT_LEAK_MB more MB alive (pages written, so they count in RSS)."""
    value = os.environ.get(LEAK_MB)
    if not value:
        return
    size = int(float(value) * 1024 * 1024)
    if device.startswith("cuda"):
        _leaked.append(torch.ones(size, dtype=torch.uint8, device=device))
    else:
        _leaked.append(np.ones(size, dtype=np.uint8))
