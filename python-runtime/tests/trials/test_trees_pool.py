"""Tree workers in real processes, with the real libraries, on tiny data: the same values
alone or beside others, a worker killed mid-trial, each worker's environment, OOM,
a leaking worker recycled, and no process left behind."""

from __future__ import annotations

import io
import json
import os
import signal
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from headroom_runtime.trials.trees.families import TREE_FAMILIES
from headroom_runtime.trials.trees.plan import WorkerSlot, plan_workers, visible_gpus
from headroom_runtime.trials.trees.pool import TreeDataSpec, TreeOutcome, TreeTrial, run_family
from headroom_runtime.trials.trees.worker import Worker, injected_oom, is_oom

ROWS, FEATURES = 300, 8


def _params(family: str, i: int) -> dict[str, Any]:
    lr = [0.1, 0.2, 0.05, 0.15][i % 4]
    if family == "xgboost":
        return {
            "max_depth": 3 + i % 3,
            "learning_rate": lr,
            "n_estimators": 30,
            "reg_lambda": 1.0,
            "reg_alpha": 0.01,
            "subsample": 0.8,
            "colsample_bytree": 0.7,
            "min_child_weight": 1.0,
        }
    if family == "lightgbm":
        return {
            "num_leaves": 7 + i,
            "learning_rate": lr,
            "n_estimators": 30,
            "lambda_l2": 0.1,
            "bagging_fraction": 0.8,
            "feature_fraction": 0.7,
            "min_child_samples": 5,
        }
    return {"depth": 3 + i % 3, "learning_rate": lr, "iterations": 30, "l2_leaf_reg": 3.0, "subsample": 0.8}


def trials(family: str, n: int) -> list[TreeTrial]:
    return [TreeTrial(i, _params(family, i), 1_000_003 * 7 + i) for i in range(n)]


@pytest.fixture(scope="module")
def data_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TreeDataSpec]:
    folder: Path = tmp_path_factory.mktemp("trees")
    g = np.random.default_rng(0)
    x = g.normal(size=(ROWS, FEATURES))
    y = np.tanh(x @ g.normal(size=FEATURES) / 2) + 0.3 * np.sin(3 * x[:, 0]) + 0.1 * g.normal(size=ROWS)
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", y * 40 + 100)  # a target in its own units
    np.save(folder / "yb.npy", (y > 0).astype(np.float64))
    return {
        "regression": TreeDataSpec(str(folder / "x.npy"), str(folder / "y.npy"), "regression", None, 0.2, 11),
        "binary": TreeDataSpec(str(folder / "x.npy"), str(folder / "yb.npy"), "binary", 3, 0.2, 11),
    }


class Hooks:
    def __init__(self, queue: list[TreeTrial]) -> None:
        self.queue = list(queue)
        self.outcomes: list[TreeOutcome] = []
        self.sent: list[dict[str, Any]] = []
        self.started_slots: list[tuple[int, int]] = []
        self.on_started: Any = None

    def next_trial(self) -> TreeTrial | None:
        return self.queue.pop(0) if self.queue else None

    def started(self, trial: TreeTrial, slot: WorkerSlot) -> None:
        self.started_slots.append((trial.number, slot.slot))
        if self.on_started is not None:
            self.on_started(trial, slot)

    def finished(self, outcome: TreeOutcome) -> None:
        self.outcomes.append(outcome)

    def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    def between_trials(self) -> None: ...

    def workers(self, reason: str | None = None) -> list[dict[str, Any]]:
        return [m for m in self.sent if m["type"] == "tree_worker" and reason in (None, m["reason"])]

    def values(self) -> dict[int, dict[str, float] | None]:
        return {o.number: o.metrics for o in self.outcomes}


def cpu_slots(n: int, threads: int) -> list[WorkerSlot]:
    return [WorkerSlot(i, "cpu", "", threads, False) for i in range(n)]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def reference(family: str, data: TreeDataSpec, queue: list[TreeTrial], threads: int = 2) -> dict[int, Any]:
    """Each trial trained here, in this one process, one after another: the values to match."""
    out = io.StringIO()
    worker = Worker(family, out)
    worker.load(data.line())
    for trial in queue:
        worker.train(
            {
                "number": trial.number,
                "params": trial.params,
                "seed": trial.seed,
                "device": "cpu",
                "threads": threads,
                "workersOnDevice": 1,
                "faultOom": False,
            }
        )
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines[0]["type"] == "ready" and all(line["type"] == "result" for line in lines[1:])
    return {line["number"]: line["metrics"] for line in lines[1:]}


def run(family: str, data: TreeDataSpec, slots: list[WorkerSlot], queue: list[TreeTrial]) -> Hooks:
    hooks = Hooks(queue)
    run_family(family, data, slots, hooks)
    assert all(not alive(int(m["pid"])) for m in hooks.workers()), "a worker outlived run_family"
    return hooks


@pytest.mark.parametrize("task", ["regression", "binary"])
@pytest.mark.parametrize("family", TREE_FAMILIES)
def test_same_values_serial_and_in_two_workers(
    family: str, task: str, data_files: dict[str, TreeDataSpec]
) -> None:
    """Serial: one process (this one), 2 threads; parallel: 2 worker processes, 1 thread each."""
    queue = trials(family, 4)
    serial = reference(family, data_files[task], queue, threads=2)
    parallel = run(family, data_files[task], cpu_slots(2, 1), queue)
    assert len(parallel.outcomes) == 4
    assert parallel.values() == serial
    assert all(o.metrics is not None and o.message is None for o in parallel.outcomes)
    objective = "auc" if task == "binary" else "r2"
    assert all(
        set(o.metrics or {}) == {objective, "logloss" if task == "binary" else "mse"}
        for o in parallel.outcomes
    )
    assert {m["threads"] for m in parallel.workers()} == {1}
    assert {m["slot"] for m in parallel.workers()} == {0, 1}
    # Which worker trains which trial is scheduling: on a loaded box worker 0 may finish all
    # four before worker 1 is ready, so "both trained" is not asserted (values are the point).
    assert {s for _, s in parallel.started_slots} <= {0, 1}
    assert all(o.rounds >= o.best_round >= 1 for o in parallel.outcomes)


def test_a_worker_killed_mid_trial_is_replaced_and_the_trial_reruns(
    data_files: dict[str, TreeDataSpec], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = data_files["regression"]
    queue = trials("xgboost", 4)
    clean = reference("xgboost", data, queue)
    monkeypatch.setenv("HEADROOM_FAULT_TREE_SLOW_MS", "1500")
    hooks = Hooks(queue)
    killed: list[int] = []

    def kill_during(trial: TreeTrial, slot: WorkerSlot) -> None:
        if trial.number != 1 or killed:
            return
        pid = int([m for m in hooks.workers() if m["slot"] == slot.slot][-1]["pid"])
        killed.append(pid)
        threading.Timer(0.5, os.kill, (pid, signal.SIGKILL)).start()  # it is asleep in the fit

    hooks.on_started = kill_during
    run_family("xgboost", data, cpu_slots(2, 1), hooks)
    replaced = hooks.workers("replaced")
    assert len(replaced) == 1 and killed
    assert f"worker pid {killed[0]} killed by signal 9 (SIGKILL) during trial 1" == replaced[0]["detail"]
    assert replaced[0]["pid"] != killed[0]
    assert sorted(o.number for o in hooks.outcomes) == [0, 1, 2, 3]  # exact: none lost, none twice
    assert hooks.values() == clean
    assert [n for n, _ in hooks.started_slots] == [0, 1, 2, 3]
    assert all(not alive(int(m["pid"])) for m in hooks.workers())


def test_a_cpu_worker_sees_no_gpu(
    data_files: dict[str, TreeDataSpec], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")  # the parent's own setting must not leak in
    slots, _ = plan_workers("xgboost", "cpu", 1, ROWS, 2, [0], False)
    hooks = run("xgboost", data_files["regression"], slots, trials("xgboost", 1))
    (started,) = hooks.workers("started")
    assert started["visibleDevices"] == "" and started["device"] == "cpu"
    assert hooks.outcomes[0].device == "cpu"


def test_fake_gpus_each_worker_sees_exactly_one_device(
    data_files: dict[str, TreeDataSpec], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADROOM_FAKE_GPUS", "0,1")
    gpus, fake = visible_gpus()
    assert (gpus, fake) == ([0, 1], True)
    slots, why = plan_workers("catboost", "auto", 2, ROWS, 4, gpus, fake)
    assert [(s.device, s.visible_devices) for s in slots] == [
        ("cuda:0", "0"),
        ("cuda:0", "0"),
        ("cuda:1", "1"),
        ("cuda:1", "1"),
    ]
    assert "2 workers per GPU" in why
    hooks = run("catboost", data_files["regression"], slots, trials("catboost", 4))
    started = hooks.workers("started")
    assert sorted((m["slot"], m["device"], m["visibleDevices"]) for m in started) == [
        (0, "cuda:0", "0"),
        (1, "cuda:0", "0"),
        (2, "cuda:1", "1"),
        (3, "cuda:1", "1"),
    ]
    assert len(hooks.outcomes) == 4 and all(o.metrics is not None for o in hooks.outcomes)
    assert {o.device for o in hooks.outcomes} <= {"cuda:0", "cuda:1"}


def test_oom_fewer_workers_then_the_cpu(
    data_files: dict[str, TreeDataSpec], monkeypatch: pytest.MonkeyPatch
) -> None:
    family = "xgboost"
    data = data_files["regression"]
    queue = trials(family, 1)
    clean = reference(family, data, queue)
    monkeypatch.setenv("HEADROOM_FAULT_TREE_OOM", "2")
    slots = [WorkerSlot(0, "cuda:0", "0", 1, True), WorkerSlot(1, "cuda:0", "0", 1, True)]
    hooks = run(family, data, slots, queue)
    ooms = [m for m in hooks.sent if m["type"] == "tree_oom"]
    assert [(m["action"], m["workers"], m["device"], m["number"]) for m in ooms] == [
        ("fewer_workers", 1, "cuda:0", 0),
        ("cpu", 1, "cuda:0", 0),
    ]
    assert all("out of memory" in m["message"] or "Allocation Failure" in m["message"] for m in ooms)
    (outcome,) = hooks.outcomes
    assert outcome.device == "cpu" and outcome.metrics == clean[0]
    (cpu_worker,) = hooks.workers("oom")
    assert cpu_worker["device"] == "cpu" and cpu_worker["visibleDevices"] == ""


def test_a_leaking_worker_is_recycled_between_trials(
    data_files: dict[str, TreeDataSpec], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = data_files["regression"]
    queue = trials("lightgbm", 4)
    clean = reference("lightgbm", data, queue)
    monkeypatch.setenv("HEADROOM_FAULT_TREE_LEAK_MB", "40")
    monkeypatch.setenv("HEADROOM_TREE_RECYCLE_MB", "50")
    hooks = run("lightgbm", data, cpu_slots(1, 1), queue)
    recycled = hooks.workers("recycled")
    assert len(recycled) == 1  # after trial 2: 80 MiB over the first baseline; then a fresh one
    assert "HEADROOM_TREE_RECYCLE_MB" in recycled[0]["detail"]
    assert hooks.values() == clean


def test_a_hook_error_propagates_and_no_worker_is_left(data_files: dict[str, TreeDataSpec]) -> None:
    class Boom(Exception): ...

    class Failing(Hooks):
        def finished(self, outcome: TreeOutcome) -> None:
            raise Boom("the study is gone")

    hooks = Failing(trials("xgboost", 3))
    with pytest.raises(Boom):
        run_family("xgboost", data_files["regression"], cpu_slots(1, 1), hooks)
    assert hooks.workers() and all(not alive(int(m["pid"])) for m in hooks.workers())


def test_a_failing_trial_is_finished_as_failed(data_files: dict[str, TreeDataSpec]) -> None:
    bad = TreeTrial(0, {**_params("catboost", 0), "depth": 40}, 3)  # CatBoost allows depth <= 16
    hooks = run("catboost", data_files["regression"], cpu_slots(1, 1), [bad, *trials("catboost", 2)[1:]])
    assert [o.number for o in hooks.outcomes] == [0, 1]
    assert hooks.outcomes[0].metrics is None and "depth" in (hooks.outcomes[0].message or "").lower()
    assert hooks.outcomes[1].metrics is not None


@pytest.mark.parametrize("family", TREE_FAMILIES)
def test_each_librarys_oom_words_are_classified(family: str) -> None:
    assert is_oom(family, f"{type(injected_oom(family)).__name__}: {injected_oom(family)}")
    assert not is_oom(family, "ValueError: depth must be at most 16")


def test_a_trial_that_kills_three_workers_fails(
    data_files: dict[str, TreeDataSpec], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADROOM_FAULT_TREE_SLOW_MS", "2000")
    hooks = Hooks(trials("xgboost", 1))
    killed: list[int] = []

    def kill_soon(pid: int) -> None:
        killed.append(pid)
        threading.Timer(0.5, os.kill, (pid, signal.SIGKILL)).start()  # asleep in the fit

    hooks.on_started = lambda trial, slot: kill_soon(int(hooks.workers()[-1]["pid"]))
    send = hooks.send

    def send_and_kill(message: dict[str, Any]) -> None:
        send(message)
        if message["type"] == "tree_worker" and message["reason"] == "replaced" and len(killed) < 3:
            kill_soon(int(message["pid"]))  # the rerun is handed to it as soon as it is ready

    hooks.send = send_and_kill  # type: ignore[method-assign]
    run_family("xgboost", data_files["regression"], cpu_slots(1, 1), hooks)
    (outcome,) = hooks.outcomes
    assert outcome.metrics is None
    assert outcome.message == "trial 0 killed 3 xgboost workers (last: killed by signal 9 (SIGKILL))"
    assert len(killed) == 3 and len(hooks.workers("replaced")) == 3  # a fresh one after the third
    assert all(not alive(int(m["pid"])) for m in hooks.workers())


@pytest.mark.parametrize("family", ["xgboost", "lightgbm", "catboost"])
def test_rounds_trained_count_the_rounds_early_stopping_ran_past_the_best(family: str) -> None:
    """On noise the best round comes early and early stopping trains 50 more: the rounds reported
    are the rounds trained, not the best (LightGBM's booster is cut back to its best)."""
    from headroom_runtime.trials.trees.families import EARLY_STOPPING_ROUNDS, default_space, library_params
    from headroom_runtime.trials.trees.worker import fit_fold

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(300, 5)), rng.normal(size=300)
    params = {key: dist.to_external_repr(dist.low) for key, dist in default_space(family).items()}  # type: ignore[attr-defined]
    params["learning_rate"] = 0.3
    lib = library_params(family, params, "regression", 1, 1, False, 1)
    _, done, best = fit_fold(family, lib, 1000, 1, x[:200], y[:200], x[200:], y[200:])
    assert best < 200 and done == best + EARLY_STOPPING_ROUNDS, (done, best)
