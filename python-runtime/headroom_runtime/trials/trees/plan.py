"""Where a tree family's workers run: one slot per worker process, each pinned to one
device (CUDA_VISIBLE_DEVICES set to that GPU's physical index, "" on a CPU), with the
machine's cores split between them.

HEADROOM_FAKE_GPUS="0,1" (a test switch, see trials/faults.py) is a fake device list:
slots are planned and pinned as if those GPUs existed, and train on the CPU.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

FAKE_GPUS = "HEADROOM_FAKE_GPUS"
FAKE_SLOT = "HEADROOM_TREE_FAKE_GPU"  # set in a fake slot's worker: it trains on the CPU
CPU_AUTO_MAX = 4  # CPU auto: at most this many workers
GPU_AUTO_CAP = 4  # GPU auto: at most this many workers per GPU
LIGHTGBM_GPU_MIN_ROWS = 1_000_000


@dataclass(frozen=True)
class WorkerSlot:
    slot: int
    device: str  # "cpu" or "cuda:N" (N: the physical index)
    visible_devices: str  # CUDA_VISIBLE_DEVICES of its worker: "" on a CPU, "N" on GPU N
    threads: int
    fake: bool  # a HEADROOM_FAKE_GPUS slot: pinned as if on that GPU, trains on the CPU


def _parse_indices(text: str) -> list[int] | None:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not all(p.isdigit() for p in parts):
        return None
    return [int(p) for p in parts]


def visible_gpus() -> tuple[list[int], bool]:
    """(physical GPU indices this process may use, fake?), found without a CUDA context here:
    nvidia-smi -L, narrowed by this process's own CUDA_VISIBLE_DEVICES when it is set."""
    fake = os.environ.get(FAKE_GPUS)
    if fake is not None and fake.strip():
        indices = _parse_indices(fake)
        if indices is None:
            raise ValueError(f'{FAKE_GPUS}={fake!r}: give GPU indices like "0,1"')
        return indices, True
    found: list[int] = []
    smi = shutil.which("nvidia-smi")
    if smi is not None:
        try:
            listing = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20, check=False)
            if listing.returncode == 0:
                found = [i for i, line in enumerate(listing.stdout.splitlines()) if line.startswith("GPU ")]
        except (OSError, subprocess.TimeoutExpired):
            found = []
    narrowed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if narrowed is not None:
        allowed = _parse_indices(narrowed)
        if allowed is not None:  # UUIDs and MIG names are left as they are: all of found
            found = [i for i in allowed if i in found]
    return found, False


def auto_gpu_workers(peak_bytes: int, free_bytes: int, target: float = 0.85, cap: int = GPU_AUTO_CAP) -> int:
    """Workers one GPU holds: as many trials of the measured peak as fit in target x its free memory."""
    if peak_bytes <= 0:
        return 1
    return max(1, min(cap, int(free_bytes * target // peak_bytes)))


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}"


def plan_workers(
    family: str,
    device: str,
    tree_workers: int | None,
    rows: int,
    cores: int,
    gpus: list[int],
    fake: bool,
    most: int | None = None,
) -> tuple[list[WorkerSlot], str]:
    """The slots for a family, and why, in words. tree_workers: per GPU, or processes on a CPU;
    None: auto (CPU: min(4, cores); GPU: 1 per GPU to start, grown later by auto_gpu_workers).
    most: the trials left to train (no more workers than that are started)."""
    cores = max(1, cores)
    if tree_workers is not None and tree_workers < 1:
        raise ValueError(f"tree_workers must be at least 1, not {tree_workers}")
    if device == "cpu":
        on: list[int] = []
        why = "asked for the CPU"
    elif device == "auto":
        on = list(gpus)
        why = f"{len(on)} GPU{'s' if len(on) != 1 else ''}{' (fake)' if fake else ''}" if on else "no GPU"
    elif device.startswith("cuda:") and device[5:].isdigit():
        index = int(device[5:])
        if index not in gpus:
            raise ValueError(f"{device}: no such GPU (visible: {', '.join(map(str, gpus)) or 'none'})")
        on = [index]
        why = f"asked for {device}"
    else:
        raise ValueError(f"device {device!r}: use cpu, cuda:N or auto")
    if on and family == "lightgbm" and rows < LIGHTGBM_GPU_MIN_ROWS:
        why += (
            f"; LightGBM stays on CPU workers below {LIGHTGBM_GPU_MIN_ROWS:,} rows ({rows:,} here): "
            "its GPU trainer loses to its CPU one on small data"
        )
        on = []
    if not on:
        n = tree_workers if tree_workers is not None else min(CPU_AUTO_MAX, cores)
        if most is not None and n > most:  # no more workers than trials left to train
            n, why = max(1, most), f"{why}; {_n(max(1, most), 'trial')} left"
        threads = max(1, cores // n)
        slots = [WorkerSlot(i, "cpu", "", threads, False) for i in range(n)]
        how = "asked for" if tree_workers is not None else f"auto: min({CPU_AUTO_MAX}, {cores} cores)"
        return (
            slots,
            f"{why}: {_n(n, 'CPU worker')} ({how}), {_n(threads, 'thread')} each",
        )
    per_gpu = tree_workers if tree_workers is not None else 1
    if most is not None and per_gpu * len(on) > most:
        per_gpu = max(1, most // len(on))
    total = per_gpu * len(on)
    threads = max(1, cores // total)
    slots = [
        WorkerSlot(k * per_gpu + j, f"cuda:{g}", str(g), threads, fake)
        for k, g in enumerate(on)
        for j in range(per_gpu)
    ]
    how = "asked for" if tree_workers is not None else "auto: 1 to start, grown to fit the first trial's peak"
    return (
        slots,
        f"{why}: {_n(per_gpu, 'worker')} per GPU ({how}), {_n(threads, 'thread')} each",
    )


def worker_env(slot: WorkerSlot, base: Mapping[str, str]) -> dict[str, str]:
    """A worker's environment: it sees its one GPU (none on a CPU, which also keeps XGBoost from
    reserving ~400 MiB of a card it does not use) and uses its share of the cores."""
    env = dict(base)
    env["CUDA_VISIBLE_DEVICES"] = slot.visible_devices
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[name] = str(slot.threads)
    env["PYTHONUNBUFFERED"] = "1"
    if slot.fake:
        env[FAKE_SLOT] = "1"
    else:
        env.pop(FAKE_SLOT, None)
    env.pop(FAKE_GPUS, None)  # a worker plans nothing; it trusts its slot
    return env
