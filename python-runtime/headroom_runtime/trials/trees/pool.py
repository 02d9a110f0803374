"""Runs a tree family's trials in its worker processes: a single-threaded coordinator over
the workers' pipes (selectors).

It starts one worker per slot (tree_worker "started"), hands trials to idle workers and
reads their results. A worker that dies mid-trial is replaced (tree_worker "replaced", the
exit status in detail) and the SAME trial (params and seed) runs again in the fresh one; a
trial that has killed MAX_DEATHS workers is finished as failed. A worker silent (not even its
one-a-second heartbeat) past HEADROOM_HEARTBEAT_TIMEOUT_S (120 s by default) is hung: its
process group (each worker has its own) is SIGKILLed and it is replaced like a dead one
(tree_worker "hung"; the same trial runs again, and a hang counts toward MAX_DEATHS, so a
trial that wedges its library every time fails instead of hanging the sweep). A worker whose memory
baseline grew more than HEADROOM_TREE_RECYCLE_MB over its first is recycled between trials;
each result's baseline goes out as tree_baseline (the Engine fits a leak slope to each worker's).
A GPU out-of-memory halves the workers on that device and runs the trial again there
(tree_oom "fewer_workers"); with one worker left there, the trial runs on a CPU worker
(tree_oom "cpu"). No worker outlives run_family.

hooks.started(trial, slot) is called once per trial, at its first attempt.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from headroom_runtime.core.heartbeat import STARTUP_ALLOWANCE_S, heartbeat_timeout_s
from headroom_runtime.trials.errors import TrainFailed
from headroom_runtime.trials.trees.plan import WorkerSlot, worker_env
from headroom_runtime.trials.trees.worker import PARENT_ENV

RECYCLE_MB = "HEADROOM_TREE_RECYCLE_MB"
DEFAULT_RECYCLE_MB = 1024
FAULT_OOM = "HEADROOM_FAULT_TREE_OOM"
FAULT_HANG = "HEADROOM_FAULT_TREE_HANG"
MAX_DEATHS = 3  # a trial that has killed (or hung) this many workers fails
MAX_LOAD_DEATHS = 3  # a slot whose workers die this many times before ready: the family fails
SHUTDOWN_WAIT_S = 10.0


@dataclass(frozen=True)
class TreeDataSpec:
    """What a worker loads (the `load` line): the same file, split and seed as the NN side."""

    data: str
    target: str
    task: str
    folds: int | None
    val_fraction: float
    seed: int

    def line(self) -> dict[str, Any]:
        return {
            "type": "load",
            "data": self.data,
            "target": self.target,
            "task": self.task,
            "folds": self.folds,
            "valFraction": self.val_fraction,
            "seed": self.seed,
        }


@dataclass(frozen=True)
class TreeTrial:
    number: int
    params: dict[str, Any]
    seed: int


@dataclass(frozen=True)
class TreeOutcome:
    """A finished trial: metrics None when it failed (message says why)."""

    number: int
    seed: int
    params: dict[str, Any]
    metrics: dict[str, float] | None
    rounds: int
    best_round: int
    ms: float
    peak_bytes: int | None
    peak_source: str
    device: str
    message: str | None


class TreeHooks(Protocol):
    def next_trial(self) -> TreeTrial | None: ...  # None: no more to start now

    def started(self, trial: TreeTrial, slot: WorkerSlot) -> None: ...

    def finished(self, outcome: TreeOutcome) -> None: ...

    def send(self, message: dict[str, Any]) -> None: ...  # tree_worker, tree_baseline and tree_oom lines

    def between_trials(self) -> None: ...  # a pause point; may block


@dataclass
class _Attempt:
    trial: TreeTrial
    cpu_only: bool = False
    deaths: int = 0
    last_exit: str = ""


@dataclass
class _Proc:
    slot: WorkerSlot
    popen: subprocess.Popen[bytes]
    buffer: bytes = b""
    ready: bool = False
    busy: _Attempt | None = None
    retiring: bool = False
    first_baseline: int | None = None
    reason: str = "started"  # the tree_worker reason sent once it is ready
    detail: str | None = None
    load_deaths: int = 0
    heard_at: float = 0.0  # time.monotonic() of its last bytes (or of its start)
    heard: bool = False


def _exit_words(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by signal {code * -1} ({signal.Signals(-code).name})"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


class _Pool:
    def __init__(
        self,
        family: str,
        data: TreeDataSpec,
        slots: list[WorkerSlot],
        hooks: TreeHooks,
        base_env: Mapping[str, str],
    ) -> None:
        self.family = family
        self.data = data
        self.hooks = hooks
        self.base_env = base_env
        self.sel = selectors.DefaultSelector()
        self.procs: list[_Proc] = []
        self.retry: deque[_Attempt] = deque()
        self.next_slot = max((s.slot for s in slots), default=-1) + 1
        self.recycle_bytes = int(os.environ.get(RECYCLE_MB) or DEFAULT_RECYCLE_MB) * 2**20
        self.fault_oom = int(os.environ.get(FAULT_OOM) or 0)
        hang = os.environ.get(FAULT_HANG, "").strip()
        self.fault_hang = int(hang) if hang else None
        self.timeout_s = heartbeat_timeout_s(base_env)
        self.tick_s = max(0.05, min(1.0, self.timeout_s / 4))
        self.last_check = time.monotonic()
        self.started_numbers: set[int] = set()
        for slot in slots:
            self._spawn(slot, "started", None)

    # --- processes ---

    def _spawn(self, slot: WorkerSlot, reason: str, detail: str | None, load_deaths: int = 0) -> _Proc:
        env = worker_env(slot, self.base_env)
        env[PARENT_ENV] = str(os.getpid())
        popen = subprocess.Popen(
            [sys.executable, "-m", "headroom_runtime.trials.trees.worker", "--family", self.family],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            start_new_session=True,  # a group of its own, killed whole (PR_SET_PDEATHSIG still holds)
        )
        proc = _Proc(slot, popen, reason=reason, detail=detail, load_deaths=load_deaths)
        proc.heard_at = time.monotonic()
        self.procs.append(proc)
        assert popen.stdout is not None
        os.set_blocking(popen.stdout.fileno(), False)
        self.sel.register(popen.stdout, selectors.EVENT_READ, proc)
        self._write(proc, self.data.line())
        return proc

    def _write(self, proc: _Proc, message: dict[str, Any]) -> bool:
        assert proc.popen.stdin is not None
        try:
            proc.popen.stdin.write((json.dumps(message) + "\n").encode())
            proc.popen.stdin.flush()
            return True
        except (BrokenPipeError, OSError):
            return False  # it died: its stdout's end says so

    def _forget(self, proc: _Proc) -> None:
        assert proc.popen.stdout is not None
        with contextlib.suppress(KeyError, ValueError):
            self.sel.unregister(proc.popen.stdout)
        if proc in self.procs:
            self.procs.remove(proc)

    @staticmethod
    def _kill(proc: _Proc) -> None:
        """SIGKILL to the worker's whole group (what it started too); a stopped process dies of it as well."""
        with contextlib.suppress(OSError):
            os.killpg(proc.popen.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            proc.popen.kill()

    def _stop(self, proc: _Proc) -> None:
        """Shut a worker down (a `shutdown` line, stdin closed, a wait, then a kill)."""
        self._forget(proc)
        self._write(proc, {"type": "shutdown"})
        with contextlib.suppress(OSError):
            assert proc.popen.stdin is not None
            proc.popen.stdin.close()
        try:
            proc.popen.wait(timeout=SHUTDOWN_WAIT_S)
        except subprocess.TimeoutExpired:
            self._kill(proc)
            proc.popen.wait()
        self._close(proc)

    @staticmethod
    def _close(proc: _Proc) -> None:
        for pipe in (proc.popen.stdin, proc.popen.stdout):
            with contextlib.suppress(OSError):
                if pipe is not None:
                    pipe.close()

    def kill_all(self) -> None:
        for proc in list(self.procs):
            self._forget(proc)
            self._kill(proc)
            proc.popen.wait()
            self._close(proc)
        self.sel.close()

    def shutdown_all(self) -> None:
        for proc in list(self.procs):
            self._stop(proc)

    def _tree_worker(self, proc: _Proc, ready: dict[str, Any]) -> None:
        visible = ready.get("visibleDevices")
        self.hooks.send(
            {
                "type": "tree_worker",
                "family": self.family,
                "slot": proc.slot.slot,
                "pid": int(ready["pid"]),
                "device": proc.slot.device,
                "visibleDevices": "" if visible is None else str(visible),
                "threads": int(ready["threads"]),
                "reason": proc.reason,
                "detail": proc.detail,
            }
        )

    # --- scheduling ---

    def _on_device(self, device: str) -> list[_Proc]:
        return [p for p in self.procs if p.slot.device == device and not p.retiring]

    def _idle(self) -> list[_Proc]:
        return [p for p in self.procs if p.ready and p.busy is None and not p.retiring]

    def _dispatch(self) -> bool:
        """Hand work to idle workers (retries first); True when next_trial said no more for now."""
        asked_none = False
        for proc in self._idle():
            attempt = self._retry_for(proc)
            if attempt is None and not asked_none:
                trial = self.hooks.next_trial()
                if trial is None:
                    asked_none = True
                else:
                    attempt = _Attempt(trial)
            if attempt is not None:
                self._hand(proc, attempt)
        return asked_none

    def _retry_for(self, proc: _Proc) -> _Attempt | None:
        """A queued attempt this worker may run (a cpu_only one only on a CPU worker)."""
        for attempt in list(self.retry):
            if not attempt.cpu_only or proc.slot.device == "cpu":
                self.retry.remove(attempt)
                return attempt
        return None

    def _hand(self, proc: _Proc, attempt: _Attempt) -> None:
        gpu = proc.slot.device.startswith("cuda")
        fault = False
        if gpu and self.fault_oom > 0:
            self.fault_oom -= 1
            fault = True
        hang = self.fault_hang is not None and attempt.trial.number == self.fault_hang
        if hang:
            self.fault_hang = None  # once: the rerun finishes
        if attempt.trial.number not in self.started_numbers:
            self.started_numbers.add(attempt.trial.number)
            self.hooks.started(attempt.trial, proc.slot)
        proc.busy = attempt
        self._write(
            proc,
            {
                "type": "train",
                "number": attempt.trial.number,
                "params": attempt.trial.params,
                "seed": attempt.trial.seed,
                "device": proc.slot.device,
                "threads": proc.slot.threads,
                "workersOnDevice": len(self._on_device(proc.slot.device)) if gpu else 1,
                "faultOom": fault,
                "faultHang": hang,
            },
        )

    # --- what workers say ---

    def _read(self, proc: _Proc) -> None:
        assert proc.popen.stdout is not None
        try:
            chunk = os.read(proc.popen.stdout.fileno(), 1 << 16)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._died(proc)
            return
        proc.heard_at, proc.heard = time.monotonic(), True
        proc.buffer += chunk
        while b"\n" in proc.buffer:
            raw, proc.buffer = proc.buffer.split(b"\n", 1)
            if raw.strip():
                self._line(proc, json.loads(raw))
            if proc not in self.procs:
                return

    def _line(self, proc: _Proc, line: dict[str, Any]) -> None:
        kind = line.get("type")
        if kind == "heartbeat":  # its arrival was the news
            return
        if kind == "ready":
            proc.ready = True
            self._tree_worker(proc, line)
            return
        if kind == "load_failed":
            raise TrainFailed(f"{self.family} worker could not load the data: {line.get('message')}")
        attempt = proc.busy
        if attempt is None or int(line.get("number", -1)) != attempt.trial.number:
            raise TrainFailed(
                f"{self.family} worker {proc.popen.pid} answered for no trial it was given: {line}"
            )
        proc.busy = None
        trial = attempt.trial
        if kind == "oom":
            self._oom(proc, attempt, str(line.get("message")))
            return
        if kind == "failed":
            self._finish_failed(trial, str(line.get("message")), proc.slot.device)
        elif kind == "result":
            self.hooks.finished(
                TreeOutcome(
                    number=trial.number,
                    seed=trial.seed,
                    params=trial.params,
                    metrics=line.get("metrics"),
                    rounds=int(line.get("rounds") or 0),
                    best_round=int(line.get("bestRound") or 0),
                    ms=float(line.get("ms") or 0.0),
                    peak_bytes=line.get("peakBytes"),
                    peak_source=str(line.get("peakSource") or "estimate"),
                    device=str(line.get("device") or proc.slot.device),
                    message=line.get("message"),
                )
            )
            baseline = int(line.get("baselineBytes") or 0)
            self.hooks.send(
                {
                    "type": "tree_baseline",
                    "family": self.family,
                    "slot": proc.slot.slot,
                    "pid": proc.popen.pid,
                    "number": trial.number,
                    "bytes": baseline,
                }
            )
            if proc.first_baseline is None:
                proc.first_baseline = baseline
            elif baseline - proc.first_baseline > self.recycle_bytes:
                grown = (baseline - proc.first_baseline) / 2**20
                detail = (
                    f"worker pid {proc.popen.pid}'s memory baseline grew {grown:.0f} MiB over its first "
                    f"(more than {self.recycle_bytes // 2**20} MiB, {RECYCLE_MB})"
                )
                self._stop(proc)
                self._spawn(proc.slot, "recycled", detail)
                return
        else:
            raise TrainFailed(f"{self.family} worker {proc.popen.pid} sent an unknown line: {line}")
        if proc.retiring and proc.busy is None:
            self._stop(proc)

    def _finish_failed(self, trial: TreeTrial, message: str, device: str) -> None:
        self.hooks.finished(
            TreeOutcome(
                trial.number, trial.seed, trial.params, None, 0, 0, 0.0, None, "estimate", device, message
            )
        )

    def _oom(self, proc: _Proc, attempt: _Attempt, message: str) -> None:
        device = proc.slot.device
        on = self._on_device(device)
        trial = attempt.trial
        if device == "cpu":  # the CPU has no card to run out of: a failure
            self._finish_failed(trial, message, device)
            return
        if len(on) > 1:
            keep = max(1, len(on) // 2)
            # Retire idle workers first (highest slots), then busy ones after their trial.
            order = sorted(on, key=lambda p: (p.busy is None and p is not proc, p.slot.slot), reverse=True)
            for victim in order[: len(on) - keep]:
                victim.retiring = True
                if victim.busy is None:
                    self._stop(victim)
            self.hooks.send(
                {
                    "type": "tree_oom",
                    "family": self.family,
                    "number": trial.number,
                    "device": device,
                    "action": "fewer_workers",
                    "workers": keep,
                    "message": message,
                }
            )
            self.retry.appendleft(replace(attempt, cpu_only=False))
            return
        self.hooks.send(
            {
                "type": "tree_oom",
                "family": self.family,
                "number": trial.number,
                "device": device,
                "action": "cpu",
                "workers": len(on),
                "message": message,
            }
        )
        self.retry.appendleft(replace(attempt, cpu_only=True))
        if not any(p.slot.device == "cpu" and not p.retiring for p in self.procs):
            detail = (
                f"a CPU worker for trial {trial.number}: it ran out of memory on {device}, its only worker"
            )
            self._spawn(WorkerSlot(self.next_slot, "cpu", "", proc.slot.threads, False), "oom", detail)
            self.next_slot += 1

    def _check_alive(self) -> None:
        """Kills the group of each worker silent past the limit, and replaces it (reason "hung")."""
        now = time.monotonic()
        # A late check means this loop was held up (a pause, a slow hook): lines may be waiting
        # unread. Judge on the next one, after they have been read.
        late = now - self.last_check > self.tick_s * 3
        self.last_check = now
        if late:
            return
        for proc in list(self.procs):
            limit = self.timeout_s if proc.heard else max(self.timeout_s, STARTUP_ALLOWANCE_S)
            silent = now - proc.heard_at
            if silent > limit:
                self._kill(proc)
                words = f"sent nothing for {silent:.1f} s (the limit is {limit:.1f} s) and was killed as hung"
                self._died(proc, words, "hung")

    def _died(self, proc: _Proc, words: str | None = None, reason: str = "replaced") -> None:
        """A worker gone (its stdout ended) or killed as hung (words say how): replaced, its trial again."""
        self._forget(proc)
        try:
            code = proc.popen.wait(timeout=None if words is None else SHUTDOWN_WAIT_S)
        except subprocess.TimeoutExpired:  # killed, not gone (stuck in the kernel): go on without it
            code = None
        self._close(proc)
        words = words or _exit_words(code)
        if not proc.ready:
            if proc.load_deaths + 1 >= MAX_LOAD_DEATHS:
                raise TrainFailed(
                    f"{self.family} worker died {MAX_LOAD_DEATHS} times before it was ready (last: {words})"
                )
            self._spawn(proc.slot, proc.reason, proc.detail, proc.load_deaths + 1)
            return
        attempt = proc.busy
        if attempt is None:
            if not proc.retiring:
                self._spawn(proc.slot, reason, f"worker pid {proc.popen.pid} {words} between trials")
            return
        attempt.deaths += 1
        attempt.last_exit = words
        if attempt.deaths >= MAX_DEATHS:
            self._finish_failed(
                attempt.trial,
                f"trial {attempt.trial.number} killed {attempt.deaths} {self.family} workers (last: {words})",
                proc.slot.device,
            )
        else:
            self.retry.appendleft(attempt)
        if not proc.retiring:
            detail = f"worker pid {proc.popen.pid} {words} during trial {attempt.trial.number}"
            self._spawn(proc.slot, reason, detail)

    # --- the loop ---

    def run(self) -> None:
        while True:
            self.hooks.between_trials()
            asked_none = self._dispatch()
            # Done: nothing more to start, nothing running, and every worker has said ready (a
            # replacement still starting gets its tree_worker line before it is shut down).
            if asked_none and not self.retry and all(p.ready and p.busy is None for p in self.procs):
                return
            for key, _ in self.sel.select(timeout=self.tick_s):
                proc = key.data
                if proc in self.procs:
                    self._read(proc)
            self._check_alive()


def run_family(
    family: str,
    data: TreeDataSpec,
    slots: list[WorkerSlot],
    hooks: TreeHooks,
    base_env: Mapping[str, str] | None = None,
) -> None:
    """Run trials from hooks.next_trial() on the slots' workers until it returns None and no
    worker is busy; then shut the workers down. An exception (a hook's) propagates after every
    worker is killed."""
    if not slots:
        raise ValueError("run_family needs at least one worker slot")
    pool = _Pool(family, data, slots, hooks, os.environ if base_env is None else base_env)
    try:
        pool.run()
        pool.shutdown_all()
    finally:
        pool.kill_all()
