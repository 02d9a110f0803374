"""The streams engine (CUDA only): the field note's design, kept as a baseline.

`config.concurrency` threads, each with its own torch.cuda.Stream, each training whole trials one
after another with the serial engine's plain modules (serial.run_trial), dropout masks from each
member's own CUDA generator (threads must not share the global RNG). Hooks are called from the
engine's (caller's) thread only: workers post what happened on a queue. Between epochs every
worker waits at a gate the engine's thread holds while it runs hooks.between_epochs(), so a pause
takes hold there and a stop is noticed.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import Literal

import torch

from headroom_runtime.trials.errors import BadInput
from headroom_runtime.trials.members import TrialRun, device_folds
from headroom_runtime.trials.serial import run_trial
from headroom_runtime.trials.specs import EpochPoint, Hooks, TrainConfig, TrainData, TrialOutcome

NEEDS_CUDA = "the streams engine needs a CUDA device (got {device!r}); use --engine batched or serial"


class _Stopped(Exception):
    pass


@dataclass
class _Event:
    kind: Literal["progress", "finished", "failed", "idle"]
    worker: int
    point: EpochPoint | None = None
    outcome: TrialOutcome | None = None
    error: BaseException | None = None


def train(data: TrainData, config: TrainConfig, hooks: Hooks) -> None:
    if not config.device.startswith("cuda") or not torch.cuda.is_available():
        raise BadInput(NEEDS_CUDA.format(device=config.device))
    folds = device_folds(data, config.device)
    torch.cuda.synchronize(config.device)  # the workers' streams read what the default stream copied
    events: queue.Queue[_Event] = queue.Queue()
    gate = threading.Event()
    gate.set()
    stop = threading.Event()
    inboxes: list[queue.Queue[TrialRun | None]] = []

    def worker(index: int, inbox: queue.Queue[TrialRun | None]) -> None:
        stream = torch.cuda.Stream(device=config.device)  # type: ignore[no-untyped-call]

        def between() -> None:
            gate.wait()
            if stop.is_set():
                raise _Stopped

        with torch.cuda.stream(stream):
            while True:
                trial = inbox.get()
                if trial is None:
                    return
                try:
                    run_trial(
                        trial,
                        folds,
                        data,
                        config,
                        lambda p: events.put(_Event("progress", index, point=p)),
                        between,
                        own_generator=True,
                    )
                    stream.synchronize()
                    events.put(_Event("finished", index, outcome=trial.outcome()))
                except _Stopped:
                    return
                except BaseException as error:  # handed to the engine's thread
                    events.put(_Event("failed", index, error=error))
                    return

    threads = []
    for i in range(max(1, config.concurrency)):
        inbox: queue.Queue[TrialRun | None] = queue.Queue()
        inboxes.append(inbox)
        thread = threading.Thread(target=worker, args=(i, inbox), name=f"trials-stream-{i}", daemon=True)
        threads.append(thread)
    for thread in threads:
        thread.start()
    idle = list(range(len(threads)))
    busy = 0
    exhausted = False
    try:
        while True:
            while idle and not exhausted:
                spec = hooks.next_trial()
                if spec is None:
                    exhausted = True
                    break
                trial = TrialRun.of(spec, data)
                hooks.started(spec, trial.folds)
                inboxes[idle.pop(0)].put(trial)
                busy += 1
            if busy == 0:
                break
            event = events.get()
            if event.kind == "progress" and event.point is not None:
                hooks.progress(event.point)
                gate.clear()
                try:
                    hooks.between_epochs()
                finally:
                    gate.set()
            elif event.kind == "finished" and event.outcome is not None:
                busy -= 1
                idle.append(event.worker)
                hooks.finished(event.outcome)
                exhausted = False  # ask again: the sweep may have more now
            elif event.kind == "failed" and event.error is not None:
                raise event.error
    finally:
        stop.set()
        gate.set()
        for inbox in inboxes:
            inbox.put(None)
        for thread in threads:
            thread.join()
