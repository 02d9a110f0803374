"""Tree worker health, in real processes: a worker that falls silent (SIGSTOPped mid-trial, or
hanging by HEADROOM_FAULT_TREE_HANG) is found past the heartbeat timeout, its whole process
group killed, a fresh worker started (tree_worker "hung") and its trial run again with the same
params and seed: the sweep's values are an uninterrupted run's, each trial exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from test_trees_pool import Hooks, _params, alive, cpu_slots, data_files, reference, trials

from headroom_runtime.core.heartbeat import heartbeat_timeout_s
from headroom_runtime.trials.trees.plan import WorkerSlot
from headroom_runtime.trials.trees.pool import TreeDataSpec, TreeTrial, run_family

__all__ = ["data_files"]  # the fixture, shared with the pool's tests


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def _pid_of(hooks: Hooks, slot: WorkerSlot) -> int:
    return int([m for m in hooks.workers() if m["slot"] == slot.slot][-1]["pid"])


def test_a_stopped_worker_is_found_killed_with_its_group_and_its_trial_reruns(
    data_files: dict[str, TreeDataSpec], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = data_files["regression"]
    queue = trials("xgboost", 4)
    clean = reference("xgboost", data, queue)
    monkeypatch.setenv("HEADROOM_HEARTBEAT_TIMEOUT_S", "2.5")
    monkeypatch.setenv("HEADROOM_FAULT_TREE_SLOW_MS", "1000")  # asleep in trial 1 when stopped
    hooks = Hooks(queue)
    stopped: list[int] = []
    groups: list[int] = []

    def stop_during(trial: TreeTrial, slot: WorkerSlot) -> None:
        if trial.number != 1 or stopped:
            return
        pid = _pid_of(hooks, slot)
        stopped.append(pid)
        groups.append(os.getpgid(pid))
        threading.Timer(0.3, os.kill, (pid, signal.SIGSTOP)).start()

    hooks.on_started = stop_during
    run_family("xgboost", data, cpu_slots(2, 1), hooks)
    (hung,) = hooks.workers("hung")
    assert stopped and groups == stopped  # its own process group, led by itself
    assert hung["detail"].startswith(f"worker pid {stopped[0]} sent nothing for ")
    assert hung["detail"].endswith("(the limit is 2.5 s) and was killed as hung during trial 1")
    assert hung["pid"] != stopped[0] and hung["slot"] in (0, 1)
    assert not alive(stopped[0]) and _group_gone(groups[0])
    assert hooks.workers("replaced") == []
    assert sorted(o.number for o in hooks.outcomes) == [0, 1, 2, 3]  # exact: none lost, none twice
    assert hooks.values() == clean
    assert [n for n, _ in hooks.started_slots] == [0, 1, 2, 3]  # started once each (hooks.started)
    # one tree_baseline per result: the hung attempt has none
    baselines = [m for m in hooks.sent if m["type"] == "tree_baseline"]
    assert sorted(m["number"] for m in baselines) == [0, 1, 2, 3]
    assert all(m["bytes"] > 0 and m["family"] == "xgboost" for m in baselines)
    assert {m["pid"] for m in baselines} <= {int(m["pid"]) for m in hooks.workers()} - {stopped[0]}
    assert all(not alive(int(m["pid"])) for m in hooks.workers())


def test_fault_tree_hang_hangs_the_trial_once_and_the_rerun_finishes(
    data_files: dict[str, TreeDataSpec], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = data_files["binary"]
    queue = trials("lightgbm", 3)
    clean = reference("lightgbm", data, queue)
    monkeypatch.setenv("HEADROOM_HEARTBEAT_TIMEOUT_S", "2.5")
    monkeypatch.setenv("HEADROOM_FAULT_TREE_HANG", "2")
    hooks = Hooks(queue)
    run_family("lightgbm", data, cpu_slots(1, 1), hooks)
    (hung,) = hooks.workers("hung")
    (started,) = hooks.workers("started")
    assert hung["detail"].startswith(f"worker pid {started['pid']} sent nothing for ")
    assert hung["detail"].endswith("during trial 2")
    assert not alive(int(started["pid"])) and _group_gone(int(started["pid"]))
    assert sorted(o.number for o in hooks.outcomes) == [0, 1, 2]
    assert hooks.values() == clean
    assert all(o.metrics is not None and o.message is None for o in hooks.outcomes)


_POOL_IN_A_CHILD = """
import json, sys
from headroom_runtime.trials.trees.plan import WorkerSlot
from headroom_runtime.trials.trees.pool import TreeDataSpec, TreeTrial, run_family

class Hooks:
    queue = [TreeTrial(0, json.loads(sys.argv[2]), 1)]
    def next_trial(self): return self.queue.pop() if self.queue else None
    def started(self, trial, slot): pass
    def finished(self, outcome): pass
    def between_trials(self): pass
    def send(self, message):
        if message["type"] == "tree_worker": print(message["pid"], flush=True)

run_family("xgboost", TreeDataSpec(*json.loads(sys.argv[1])), [WorkerSlot(0, "cpu", "", 1, False)], Hooks())
"""


def test_a_worker_in_a_group_of_its_own_still_dies_with_the_process_that_started_it(
    data_files: dict[str, TreeDataSpec], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool's process SIGKILLed mid-trial (as the Engine kills a hung runtime's group, which no longer
    holds the workers): the worker ends by itself (PR_SET_PDEATHSIG, the parent poll)."""
    monkeypatch.setenv("HEADROOM_FAULT_TREE_SLOW_MS", "600000")
    spec = data_files["regression"]
    fields = [spec.data, spec.target, spec.task, spec.folds, spec.val_fraction, spec.seed]
    child = subprocess.Popen(
        [sys.executable, "-c", _POOL_IN_A_CHILD, json.dumps(fields), json.dumps(_params("xgboost", 0))],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    worker = int(child.stdout.readline())
    assert os.getpgid(worker) == worker != os.getpgid(child.pid)
    child.kill()
    child.wait()
    deadline = time.monotonic() + 30  # a bound on the wait, not a timing under test
    while alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    outlived = alive(worker)
    if outlived:
        os.killpg(worker, signal.SIGKILL)  # a failing run leaves nothing behind either
    assert not outlived, "a tree worker outlived the process that started it"


def test_heartbeat_timeout_reads_as_the_engine_reads_it() -> None:
    assert heartbeat_timeout_s({}) == 120.0
    assert heartbeat_timeout_s({"HEADROOM_HEARTBEAT_TIMEOUT_S": " 2.5 "}) == 2.5
    assert heartbeat_timeout_s({"HEADROOM_HEARTBEAT_TIMEOUT_S": "0.0001"}) == 0.001
    for bad in ("0", "-1", "abc", "86401", "nan", "inf"):
        with pytest.raises(ValueError, match="HEADROOM_HEARTBEAT_TIMEOUT_S must be a number of seconds"):
            heartbeat_timeout_s({"HEADROOM_HEARTBEAT_TIMEOUT_S": bad})


def test_a_worker_beats_while_it_trains(
    data_files: dict[str, TreeDataSpec], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fit longer than the timeout is no hang: the heartbeat thread talks through it."""
    monkeypatch.setenv("HEADROOM_HEARTBEAT_TIMEOUT_S", "2.5")
    monkeypatch.setenv("HEADROOM_FAULT_TREE_SLOW_MS", "4000")
    started = time.monotonic()
    hooks = Hooks(trials("catboost", 1))
    run_family("catboost", data_files["regression"], cpu_slots(1, 1), hooks)
    assert time.monotonic() - started > 4.0
    assert hooks.workers("hung") == [] and len(hooks.outcomes) == 1
