"""Which engine trains a sweep: `choose_engine` (what `--engine auto` means) and `engine_train`."""

from __future__ import annotations

from collections.abc import Callable

from headroom_runtime.trials import batched, serial, streams
from headroom_runtime.trials.specs import EngineName, Hooks, TrainConfig, TrainData

Train = Callable[[TrainData, TrainConfig, Hooks], None]


def choose_engine(asked: EngineName | None, device: str) -> tuple[EngineName, str]:
    """The engine for `--engine asked` (None: auto) on `device`, and why, for the run's info.

    auto is the batched engine everywhere: on a GPU at the estimated concurrency; on a CPU at
    concurrency estimate.CPU_CONCURRENCY (estimate.auto_concurrency), where batches of 1 run at 1.02x serial
    and bigger batches lose (trials-measurements.md), while keeping batch invariance.
    """
    if asked is not None:
        # streams on a CPU: streams.train raises BadInput with its message (streams.NEEDS_CUDA)
        return asked, f"--engine {asked}"
    if device.startswith("cuda"):
        return "batched", "auto: batched on a GPU (one batched matmul per layer for all members)"
    return "batched", "auto: batched (on a CPU, batches of one are as fast as serial; bigger ones are slower)"


def engine_train(name: EngineName) -> Train:
    return {"batched": batched.train, "serial": serial.train, "streams": streams.train}[name]
