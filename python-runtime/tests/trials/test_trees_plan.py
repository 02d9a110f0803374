"""Where tree workers go: plan_workers, auto_gpu_workers, worker_env, visible_gpus."""

from __future__ import annotations

import pytest

from headroom_runtime.trials.trees.plan import (
    FAKE_SLOT,
    WorkerSlot,
    auto_gpu_workers,
    plan_workers,
    visible_gpus,
    worker_env,
)


def test_cpu_auto_is_at_most_four_workers_with_the_cores_split() -> None:
    slots, why = plan_workers("xgboost", "auto", None, 1000, 16, [], False)
    assert [(s.device, s.visible_devices, s.threads, s.fake) for s in slots] == [("cpu", "", 4, False)] * 4
    assert [s.slot for s in slots] == [0, 1, 2, 3]
    assert why == "no GPU: 4 CPU workers (auto: min(4, 16 cores)), 4 threads each"
    assert plan_workers("xgboost", "cpu", None, 1000, 2, [0], False)[0] == [
        WorkerSlot(0, "cpu", "", 1, False),
        WorkerSlot(1, "cpu", "", 1, False),
    ]
    assert len(plan_workers("xgboost", "cpu", None, 1000, 1, [], False)[0]) == 1
    assert len(plan_workers("xgboost", "cpu", None, 1000, 0, [], False)[0]) == 1  # at least 1


def test_cpu_asked_for_n_workers() -> None:
    slots, why = plan_workers("catboost", "cpu", 3, 1000, 8, [0, 1], False)
    assert [s.threads for s in slots] == [2, 2, 2]
    assert why.startswith("asked for the CPU: 3 CPU workers (asked for), 2 threads each")
    assert [s.threads for s in plan_workers("catboost", "cpu", 5, 1000, 2, [], False)[0]] == [1] * 5


def test_gpu_slots_per_gpu_each_pinned_to_its_physical_index() -> None:
    slots, why = plan_workers("xgboost", "auto", 2, 1000, 16, [0, 3], False)
    assert [(s.slot, s.device, s.visible_devices, s.threads) for s in slots] == [
        (0, "cuda:0", "0", 4),
        (1, "cuda:0", "0", 4),
        (2, "cuda:3", "3", 4),
        (3, "cuda:3", "3", 4),
    ]
    assert why.startswith("2 GPUs: 2 workers per GPU (asked for)")
    auto, auto_why = plan_workers("catboost", "auto", None, 1000, 16, [0, 1], True)
    assert [(s.device, s.fake) for s in auto] == [("cuda:0", True), ("cuda:1", True)]
    assert "(fake)" in auto_why and "1 worker per GPU (auto" in auto_why
    one, _ = plan_workers("xgboost", "cuda:1", None, 1000, 8, [0, 1], False)
    assert [(s.device, s.visible_devices, s.threads) for s in one] == [("cuda:1", "1", 8)]
    with pytest.raises(ValueError, match="cuda:2: no such GPU"):
        plan_workers("xgboost", "cuda:2", None, 1000, 8, [0, 1], False)
    with pytest.raises(ValueError, match="use cpu, cuda:N or auto"):
        plan_workers("xgboost", "gpu", None, 1000, 8, [0], False)


def test_lightgbm_stays_on_the_cpu_below_a_million_rows() -> None:
    slots, why = plan_workers("lightgbm", "auto", 2, 999_999, 8, [0], False)
    assert {s.device for s in slots} == {"cpu"} and len(slots) == 2
    assert "LightGBM stays on CPU workers below 1,000,000 rows (999,999 here)" in why
    assert "loses to its CPU one on small data" in why
    big, _ = plan_workers("lightgbm", "auto", 2, 1_000_000, 8, [0], False)
    assert {s.device for s in big} == {"cuda:0"}


def test_auto_gpu_workers_fits_the_peak_in_the_free_memory() -> None:
    gib = 2**30
    assert auto_gpu_workers(10 * gib, 80 * gib) == 4  # 6.8 fit: capped at 4
    assert auto_gpu_workers(20 * gib, 80 * gib) == 3  # 0.85 * 80 / 20 = 3.4
    assert auto_gpu_workers(40 * gib, 80 * gib) == 1
    assert auto_gpu_workers(90 * gib, 80 * gib) == 1  # at least 1
    assert auto_gpu_workers(0, 80 * gib) == 1
    assert auto_gpu_workers(gib, 10 * gib, target=0.5, cap=8) == 5


def test_worker_env_pins_the_device_and_the_threads() -> None:
    base = {"PATH": "/bin", "CUDA_VISIBLE_DEVICES": "0,1", "HEADROOM_FAKE_GPUS": "0,1", FAKE_SLOT: "1"}
    cpu = worker_env(WorkerSlot(0, "cpu", "", 3, False), base)
    assert cpu["CUDA_VISIBLE_DEVICES"] == "" and cpu["OMP_NUM_THREADS"] == "3" and cpu["PATH"] == "/bin"
    assert FAKE_SLOT not in cpu and "HEADROOM_FAKE_GPUS" not in cpu
    gpu = worker_env(WorkerSlot(1, "cuda:1", "1", 2, False), base)
    assert gpu["CUDA_VISIBLE_DEVICES"] == "1" and gpu["MKL_NUM_THREADS"] == "2"
    fake = worker_env(WorkerSlot(2, "cuda:0", "0", 1, True), {})
    assert fake["CUDA_VISIBLE_DEVICES"] == "0" and fake[FAKE_SLOT] == "1"
    assert base["CUDA_VISIBLE_DEVICES"] == "0,1"  # the base is not changed


def test_visible_gpus_fake_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADROOM_FAKE_GPUS", "0,1")
    assert visible_gpus() == ([0, 1], True)
    monkeypatch.setenv("HEADROOM_FAKE_GPUS", "x")
    with pytest.raises(ValueError, match='give GPU indices like "0,1"'):
        visible_gpus()


def test_visible_gpus_real_is_narrowed_by_cuda_visible_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HEADROOM_FAKE_GPUS", raising=False)
    gpus, fake = visible_gpus()
    assert fake is False and all(isinstance(i, int) for i in gpus)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert visible_gpus() == ([], False)


def test_no_more_workers_are_planned_than_trials_left() -> None:
    cpu, why = plan_workers("xgboost", "cpu", 64, 1000, 2, [], False, most=1)
    assert len(cpu) == 1 and cpu[0].threads == 2 and "1 trial left" in why
    auto, _ = plan_workers("xgboost", "cpu", None, 1000, 16, [], False, most=3)
    assert len(auto) == 3
    gpu, _ = plan_workers("xgboost", "auto", 4, 1000, 16, [0, 1], True, most=5)
    assert len(gpu) == 4 and {s.visible_devices for s in gpu} == {"0", "1"}
    roomy, _ = plan_workers("xgboost", "cpu", 2, 1000, 2, [], False, most=10)
    assert len(roomy) == 2
