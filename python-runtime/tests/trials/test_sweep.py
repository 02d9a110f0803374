"""The sweep's hooks in-process with the real batched engine and a real study: the random
sampler's params by trial number whatever the concurrency, folds, sampled progress."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from sweep_helpers import sweep_spec, write_table

from headroom_runtime.core.job import Context
from headroom_runtime.core.protocol import EventWriter
from headroom_runtime.trials.specs import EpochPoint
from headroom_runtime.trials.sweep import MAX_POINTS, ProgressSampler, Sweep


def run_sweep(run_dir: Path, spec: dict[str, Any], journaled: set[int] | None = None) -> list[dict[str, Any]]:
    out = io.StringIO()
    Sweep(Context(EventWriter(out)), spec, run_dir, {"nn": journaled or set()}).run()  # every event validated
    return [json.loads(line) for line in out.getvalue().splitlines()]


def done_results(events: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {e["result"]["number"]: e["result"] for e in events if e["type"] == "trial_done"}


def test_random_sampler_gives_trial_n_the_same_params_whatever_the_concurrency(tmp_path: Path) -> None:
    table = write_table(tmp_path / "t.csv", rows=80)
    by_concurrency = {}
    for concurrency in (1, 3):
        spec = sweep_spec(table, trials=5, epochs=2, concurrency=concurrency, sampler="random", seed=11)
        events = run_sweep(tmp_path / f"run{concurrency}", spec)
        assert events[-1] == {"type": "sweep_done", "complete": 5}
        opened = next(e for e in events if e["type"] == "sweep_opened")
        assert opened["concurrency"] == concurrency
        by_concurrency[concurrency] = {n: (r["params"], r["seed"]) for n, r in done_results(events).items()}
    assert by_concurrency[1] == by_concurrency[3] and sorted(by_concurrency[1]) == [0, 1, 2, 3, 4]
    assert by_concurrency[1][2][1] == 11 * 1_000_003 + 2


def test_folds_train_as_members_and_binary_is_scored_by_auc(tmp_path: Path) -> None:
    import pandas as pd

    table = write_table(tmp_path / "t.csv", rows=90)
    frame = pd.read_csv(table)
    frame["y"] = (frame["a"] > 0).astype(int)
    frame.to_csv(table, index=False)
    spec = sweep_spec(table, trials=2, epochs=3, folds=3, concurrency=3)
    events = run_sweep(tmp_path / "run", spec)
    started = [e for e in events if e["type"] == "trial_started"]
    assert [e["members"] for e in started] == [3, 3]
    for result in done_results(events).values():
        assert set(result["metrics"]) == {"auc", "logloss"} and result["value"] == result["metrics"]["auc"]
        assert 0 <= result["value"] <= 1 and result["metrics"]["logloss"] > 0


def test_a_finished_sweep_reopened_trains_nothing_and_recovers_the_unjournaled(tmp_path: Path) -> None:
    table = write_table(tmp_path / "t.csv", rows=80)
    spec = sweep_spec(table, trials=3, epochs=2)
    first = done_results(run_sweep(tmp_path / "run", spec))
    again = run_sweep(tmp_path / "run", spec, journaled={0, 2})
    assert [e["type"] for e in again] == ["sweep_opened", "trial_done", "family_done", "sweep_done"]
    assert again[1] == {"type": "trial_done", "result": first[1], "recovered": True}


def test_progress_is_sampled_at_most_max_points_per_event_and_rate_limited() -> None:
    sent: list[dict[str, Any]] = []
    now = [0.0]
    sampler = ProgressSampler(sent.append, clock=lambda: now[0])
    sampler.add(EpochPoint(0, 1, 1.0, 1.0))
    assert len(sent) == 1  # the first goes out at once
    for epoch in range(2, 50):
        for number in range(40):
            sampler.add(EpochPoint(number, epoch, 1.0, float("nan") if number == 5 else 2.0))
    assert len(sent) == 1  # no time has passed: buffered
    now[0] = 0.5
    sampler.flush()
    assert len(sent) == 2
    points = sent[1]["points"]
    assert len(points) <= MAX_POINTS
    per_trial: dict[int, list[int]] = {}
    for point in points:
        per_trial.setdefault(point["number"], []).append(point["epoch"])
    assert 5 not in per_trial  # a non-finite loss is not sent (JSON has no NaN)
    assert all(epochs[-1] == 49 and len(epochs) == len(set(epochs)) for epochs in per_trial.values())
    sampler.flush(force=True)
    assert len(sent) == 2  # nothing pending: nothing sent


def test_a_diverged_trial_is_failed_in_the_study_and_another_is_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An engine that reports trial 1 with non-finite predictions (stand-in for a divergence)."""
    import numpy as np
    import optuna
    from optuna.trial import TrialState

    from headroom_runtime.trials import sweep as sweep_mod
    from headroom_runtime.trials.specs import TrialOutcome
    from headroom_runtime.trials.study import storage_url

    def train(data: Any, config: Any, hooks: Any) -> None:
        while (spec := hooks.next_trial()) is not None:
            hooks.started(spec, 1)
            hooks.between_epochs()
            n_val = int(data.folds[0].y_val.shape[0])
            predictions = np.full(n_val, np.nan) if spec.number == 1 else np.linspace(0, 1, n_val)
            hooks.finished(TrialOutcome(spec, 1, 1, [predictions], [{}], 1.0, None, "estimate"))

    monkeypatch.setattr(sweep_mod, "engine_train", lambda name: train)
    table = write_table(tmp_path / "t.csv", rows=60)
    events = run_sweep(tmp_path / "run", sweep_spec(table, trials=3))
    results = done_results(events)
    assert (
        results[1]["state"] == "failed"
        and results[1]["value"] is None
        and "not finite" in results[1]["message"]
    )
    assert sorted(n for n, r in results.items() if r["state"] == "complete") == [0, 2, 3]
    assert events[-1] == {"type": "sweep_done", "complete": 3}
    study = optuna.load_study(study_name="nn", storage=storage_url(tmp_path / "run"))
    assert [t.state for t in study.trials] == [
        TrialState.COMPLETE,
        TrialState.FAIL,
        TrialState.COMPLETE,
        TrialState.COMPLETE,
    ]


def test_streams_on_a_cpu_is_bad_input_before_any_run_folder(tmp_path: Path) -> None:
    import torch

    from headroom_runtime.trials.errors import BadInput

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device: streams is allowed")
    table = write_table(tmp_path / "t.csv", rows=40)
    with pytest.raises(BadInput, match="streams engine needs a CUDA device"):
        run_sweep(tmp_path / "run", sweep_spec(table, engine="streams"))
    assert not (tmp_path / "run").exists()


def test_an_injected_oom_halves_the_concurrency_and_the_sweep_still_ends_with_n(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADROOM_FAULT_OOM_MEMBERS", "2")
    table = write_table(tmp_path / "t.csv", rows=60)
    events = run_sweep(tmp_path / "run", sweep_spec(table, trials=5, epochs=3, concurrency=4))
    ooms = [e for e in events if e["type"] == "trials_oom"]
    assert ooms and ooms[0]["members"] == 4 and ooms[0]["concurrency"] == 2
    assert {
        "type": "concurrency",
        "concurrency": 2,
        "reason": "oom",
        "peak": None,
        "estimate": None,
    } in events
    assert events[-1] == {"type": "sweep_done", "complete": 5}
    assert sorted(done_results(events)) == [0, 1, 2, 3, 4]
