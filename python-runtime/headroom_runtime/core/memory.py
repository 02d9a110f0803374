"""Memory figures of the runtime's device, and the out-of-memory errors PyTorch raises.

A figure the device cannot give is None (the protocol's null), never an exception.
"""

from __future__ import annotations

import gc
import os
import resource
from typing import Any

import torch

# PyTorch raises this allocator assert on its OOM path (the chunked-encoding field
# note's crash); it is an OOM, and a sign the process should be recycled.
ALLOCATOR_ASSERT = "INTERNAL ASSERT FAILED"
NVML_MARK = "NVML_SUCCESS"


def oom_kind(error: BaseException) -> str | None:
    """'oom' or 'allocator_assert' when ``error`` is an out-of-memory error, else None."""
    if isinstance(error, torch.cuda.OutOfMemoryError):
        return "oom"
    message = str(error)
    if isinstance(error, RuntimeError):
        if NVML_MARK in message and ALLOCATOR_ASSERT in message:
            return "allocator_assert"
        if "out of memory" in message.lower():
            return "oom"
    return None


def release(device: str) -> None:
    """Free what can be freed after an OOM or a model switch (never per batch: it costs)."""
    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)
        torch.cuda.empty_cache()


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _rss() -> int | None:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def sample(device: str, capacity: int | None = None) -> dict[str, Any]:
    """One `memory` event's figures: allocated, reserved, free, total, peak (bytes)."""
    if device.startswith("cuda"):
        free, total = torch.cuda.mem_get_info(device)
        allocated = int(torch.cuda.memory_allocated(device))
        reserved = int(torch.cuda.memory_reserved(device))
        if capacity is not None:  # a --vram-limit cap: report against the cap
            total = capacity
            free = max(0, capacity - reserved)
        return {
            "allocated": allocated,
            "reserved": reserved,
            "free": int(free),
            "total": int(total),
            "peak": int(torch.cuda.max_memory_allocated(device)),
        }
    rss = _rss()
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return {
        "allocated": rss,
        "reserved": rss,
        "free": _meminfo_available(),
        "total": int(pages),
        "peak": _peak_rss(),
    }


def used(device: str, capacity: int | None = None) -> tuple[int | None, int | None]:
    """Memory used and the total it is measured against, for the VRAM guard.

    CUDA: reserved, not allocated. What the caching allocator holds is what the device
    (and the --vram-limit fraction, which counts reserved bytes) no longer has for
    anyone; allocated leaves out the cache, and an OOM comes when reserved meets the
    limit. Total: the cap when one is set, else the device. CPU: the process's RSS
    against physical memory (what the machine has lost to this process).
    """
    if device.startswith("cuda"):
        reserved = int(torch.cuda.memory_reserved(device))
        total = capacity if capacity is not None else int(torch.cuda.mem_get_info(device)[1])
        return reserved, total
    return _rss(), int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def baseline(device: str, full: bool = True) -> int | None:
    """Memory after clean-up, between units of work: what is still held when nothing should be.

    gc first (cycles holding tensors), then on CUDA memory_allocated: live tensors only,
    so the allocator's cache (reserved) cannot pass for a leak, and no empty_cache is needed
    (it would not change allocated, and the next chunk would pay to reserve its blocks
    again). CPU: RSS after gc. Cost: a full gc.collect walks every object (about 490,000
    with torch and sentence-transformers loaded: 150-650 ms measured, the latter on a
    loaded machine); the young generations alone (``full=False``) take microseconds.
    The caller (embed/job.py GcShare) keeps full collections to a small share of the time.
    """
    gc.collect(2 if full else 1)
    if device.startswith("cuda"):
        return int(torch.cuda.memory_allocated(device))
    return _rss()


def reset_peak(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats(device)


def batch_peak(device: str) -> int | None:
    """Peak bytes since the last reset_peak (GPU); None on CPU, where it cannot be told apart."""
    if device.startswith("cuda"):
        return int(torch.cuda.max_memory_allocated(device))
    return None


def apply_vram_limit(device: str, vram_limit: int | None) -> int | None:
    """Caps this process's share of the GPU (so a 16 GB card can be rehearsed on a bigger
    one, and real OOMs produced in GPU tests); returns the bytes the runtime may use."""
    if not device.startswith("cuda"):
        return None
    total = int(torch.cuda.get_device_properties(device).total_memory)
    if vram_limit is None or vram_limit >= total:
        return total
    torch.cuda.set_per_process_memory_fraction(vram_limit / total, device)
    return vram_limit
