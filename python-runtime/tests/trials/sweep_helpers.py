"""Helpers of the trials tests: tiny tables, a sweep spec, a runtime process driven over
its protocol. (Not a conftest: the suite has one module of that name.)"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from conftest import runtime_env

from headroom_runtime.core.schema import PROTOCOL_VERSION

TINY_SPACE = {"hidden": {"name": "CategoricalDistribution", "attributes": {"choices": ["16-8", "8", "12-6"]}}}


def _int(low: int, high: int) -> dict[str, Any]:
    return {"name": "IntDistribution", "attributes": {"low": low, "high": high, "log": False, "step": 1}}


# Tree families kept small (few rounds, shallow) so a CPU test trains them in a second
TINY_TREE_SPACES = {
    "xgboost": {"n_estimators": _int(5, 20), "max_depth": _int(2, 3)},
    "lightgbm": {"n_estimators": _int(5, 20), "num_leaves": _int(4, 8)},
    "catboost": {"iterations": _int(5, 20), "depth": _int(2, 3)},
}


def write_table(path: Path, rows: int = 160, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, 4)), columns=["a", "b", "c", "d"])
    frame["y"] = 2 * frame["a"] - frame["b"] + 0.1 * rng.normal(size=rows)
    frame.to_csv(path, index=False)
    return path


def sweep_spec(data: Path, **overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "data": str(data),
        "target": "y",
        "task": None,
        "trials": 4,
        "concurrency": None,
        "epochs": 4,
        "patience": 0,
        "folds": None,
        "valFraction": 0.25,
        "families": ["nn"],
        "space": {"nn": TINY_SPACE},
        "spaceSource": None,
        "sampler": "random",
        "seed": 0,
        "device": "cpu",
        "engine": None,
        "vramLimit": None,
        "targetMemory": 0.85,
        "treeWorkers": None,
    }
    spec.update(overrides)
    return spec


class RuntimeProcess:
    """A real `python -m headroom_runtime`, its events read line by line on a thread."""

    def __init__(self, hello: bool = True) -> None:
        """hello=False skips the handshake (the runtime answers commands without it): `ready`
        imports every job's libraries (sentence-transformers: seconds), which a sweep never needs."""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "headroom_runtime"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**runtime_env(), "HEADROOM_LOG_LEVEL": "WARNING"},
        )
        self.events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()
        if hello:
            self.send({"type": "hello", "protocol": PROTOCOL_VERSION})

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.events.put(json.loads(line))
        self.events.put(None)

    def send(self, command: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()

    def until(self, stop: Callable[[dict[str, Any]], bool], timeout: float = 180) -> dict[str, Any]:
        """Events up to the first that `stop` accepts (heartbeats and memory figures kept aside)."""
        while True:
            event = self.events.get(timeout=timeout)
            if event is None:
                raise AssertionError(f"the runtime ended; last events: {[e['type'] for e in self.seen[-8:]]}")
            if event["type"] not in ("heartbeat", "memory"):
                self.seen.append(event)
            if stop(event):
                return event

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.seen if e["type"] == kind]

    def in_flight(self) -> list[int]:
        """Trials started and not (yet) reported done, as far as the events read say."""
        done = {e["result"]["number"] for e in self.of("trial_done")}
        return [e["number"] for e in self.of("trial_started") if e["number"] not in done]

    def pause_with_a_trial_in_flight(self) -> list[int]:
        """Pauses the sweep (at an epoch's end) where a trial is still training; returns those trials.
        Paused, the events read are all the runtime has done: a kill timed on an event instead
        landed late on a loaded box (a trial of these tiny sweeps takes ~0.1 s), after the trial
        the test meant to interrupt had been told to the study."""
        while True:
            self.send({"type": "pause"})
            paused = self.until(lambda e: e["type"] in ("paused", "sweep_done", "error"))
            assert paused["type"] == "paused", paused
            running = self.in_flight()
            if running:
                return running
            # paused between two trials: on to the next one, and pause again
            self.send({"type": "resume"})
            started = self.until(lambda e: e["type"] in ("trial_started", "sweep_done", "error"))
            assert started["type"] == "trial_started", started

    def close(self) -> None:
        if self.process.poll() is None:
            self.send({"type": "shutdown"})
            self.until(lambda e: e["type"] == "done")
            self.process.wait(timeout=30)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=30)
