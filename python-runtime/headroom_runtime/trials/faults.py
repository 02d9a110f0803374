"""Fault injection for tests on machines without a GPU. Documented switch, tests only:

HEADROOM_FAULT_OOM_MEMBERS=N   the batched engine raises the GPU's OOM error
                               (torch.OutOfMemoryError, alias torch.cuda.OutOfMemoryError)
                               whenever one epoch step holds more than N members

Tree workers (trials/trees/):
HEADROOM_FAKE_GPUS=0,1         a fake GPU list: tree workers are planned and pinned as if these
                               GPUs existed (CUDA_VISIBLE_DEVICES "0", "1"), and train on the CPU
HEADROOM_FAULT_TREE_OOM=N      the pool sends the first N trial attempts on GPU slots (real or
                               fake) with faultOom: the worker raises its library's own OOM
                               error, which goes through the real classifier
HEADROOM_FAULT_TREE_SLOW_MS=M  a worker sleeps M ms before each fit (so a test can kill it mid-trial)
HEADROOM_FAULT_TREE_LEAK_MB=N  a worker keeps N MB per trial (a leaking worker; with a low
                               HEADROOM_TREE_RECYCLE_MB, default 1024, it is recycled)
HEADROOM_FAULT_TREE_HANG=N     trial N's first attempt hangs its worker: the pool sends it with
                               faultHang, and the worker stops its heartbeat and blocks for good;
                               past HEADROOM_HEARTBEAT_TIMEOUT_S the pool kills the worker's group,
                               replaces it (tree_worker "hung") and the rerun finishes (once only)
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
