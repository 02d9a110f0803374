"""Fault injection for tests on machines without a GPU. Documented switch, tests only:

HEADROOM_FAULT_OOM_MEMBERS=N   the batched engine raises the GPU's OOM error
                               (torch.OutOfMemoryError, alias torch.cuda.OutOfMemoryError)
                               whenever one epoch step holds more than N members
"""

from __future__ import annotations

import os

import torch

OOM_MEMBERS = "HEADROOM_FAULT_OOM_MEMBERS"


def oom_threshold() -> int | None:
    value = os.environ.get(OOM_MEMBERS)
    return int(value) if value else None


def maybe_raise_oom(members: int, threshold: int | None) -> None:
    if threshold is None or members <= threshold:
        return
    raise torch.OutOfMemoryError(
        f"CUDA out of memory: a step of {members} members (injected by {OOM_MEMBERS}={threshold})"
    )
