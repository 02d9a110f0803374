"""Fault injection for tests on machines without a GPU. Documented switches, tests only:

HEADROOM_FAULT_OOM_TOKENS=N   raise the OOM error the GPU raises whenever a batch holds
                              more than N padded tokens
HEADROOM_FAULT_OOM_KIND=K     oom (default) or allocator_assert: the NVML assert that
                              PyTorch raises on its OOM path
HEADROOM_FAULT_KILL_AFTER_RENAME=I  (chunk_file.py) SIGKILL after chunk I's rename
"""

from __future__ import annotations

import os

import torch

OOM_TOKENS = "HEADROOM_FAULT_OOM_TOKENS"
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
