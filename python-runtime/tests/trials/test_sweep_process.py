"""The trials job in a real runtime process: check, inspect, sweep, and a SIGKILL mid-sweep
followed by a resume in a new process."""

from __future__ import annotations

from pathlib import Path

import optuna
from optuna.trial import TrialState
from sweep_helpers import RuntimeProcess, sweep_spec, write_table

from headroom_runtime.trials.study import storage_url


def is_type(kind: str):  # type: ignore[no-untyped-def]
    return lambda e: e["type"] in (kind, "error")


def test_check_inspect_and_a_sweep_of_exactly_n_trials(tmp_path: Path) -> None:
    table = write_table(tmp_path / "table.csv")
    runtime = RuntimeProcess()
    try:
        runtime.send({"type": "trials_check", "spec": sweep_spec(table)})
        checked = runtime.until(is_type("trials_checked"))
        assert checked["type"] == "trials_checked", checked
        assert (checked["rows"], checked["features"], checked["task"], checked["metric"]) == (
            160,
            4,
            "regression",
            "r2",
        )
        assert checked["spaces"]["nn"]["hidden"]["attributes"]["choices"] == ["16-8", "8", "12-6"]
        assert checked["spaces"]["nn"]["lr"]["name"] == "FloatDistribution"

        runtime.send({"type": "trials_check", "spec": sweep_spec(table, target="nope")})
        error = runtime.until(is_type("trials_checked"))
        assert error["type"] == "error" and error["code"] == "bad_input" and "'nope'" in error["message"]
        runtime.send({"type": "inspect_data", "path": str(table)})
        inspected = runtime.until(is_type("data_inspected"))
        assert inspected["rows"] == 160 and [c["name"] for c in inspected["columns"]] == [
            "a",
            "b",
            "c",
            "d",
            "y",
        ]

        refused = tmp_path / "refused"
        runtime.send(
            {"type": "sweep", "spec": sweep_spec(table, folds=200), "runDir": str(refused), "journaled": []}
        )
        error = runtime.until(is_type("sweep_done"))
        assert error["code"] == "bad_input" and "too few for 200 folds" in error["message"]
        assert not refused.exists()  # bad input costs nothing: no run folder

        run_dir = tmp_path / "run"
        runtime.send(
            {"type": "sweep", "spec": sweep_spec(table, trials=5), "runDir": str(run_dir), "journaled": []}
        )
        done = runtime.until(is_type("sweep_done"))
        assert done == {"type": "sweep_done", "complete": 5}
        opened = runtime.of("sweep_opened")[0]
        assert opened["complete"] == 0 and opened["engine"] == "batched" and opened["concurrency"] >= 1
        results = [e["result"] for e in runtime.of("trial_done")]
        assert sorted(r["number"] for r in results) == [0, 1, 2, 3, 4]
        assert all(
            r["state"] == "complete" and not e["recovered"]
            for r, e in zip(results, runtime.of("trial_done"), strict=True)
        )
        assert sorted(e["number"] for e in runtime.of("trial_started")) == [0, 1, 2, 3, 4]
        points = [(p["number"], p["epoch"]) for e in runtime.of("trial_progress") for p in e["points"]]
        assert len(points) == len(set(points)) and all(1 <= epoch <= 4 for _, epoch in points)
    finally:
        runtime.close()
    study = optuna.load_study(study_name="nn", storage=storage_url(run_dir))
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert len(complete) == 5 and len(study.trials) == 5
    by_number = {r["number"]: r for r in results}
    for trial in complete:
        assert (
            trial.value == by_number[trial.number]["value"]
            and trial.params == by_number[trial.number]["params"]
        )
        assert trial.user_attrs["metrics"] == by_number[trial.number]["metrics"]


def test_sigkill_mid_sweep_then_resume_trains_no_reported_trial_twice(tmp_path: Path) -> None:
    table = write_table(tmp_path / "table.csv")
    run_dir = tmp_path / "run"
    spec = sweep_spec(table, trials=5, epochs=6)  # a pause lands well before the end
    first = RuntimeProcess(hello=False)
    try:
        first.send({"type": "sweep", "spec": spec, "runDir": str(run_dir), "journaled": []})
        # killed while a trial trains (asked, so RUNNING in the study), two or more reported:
        # paused there first, so that what it reported is all it did before the kill
        trigger = first.until(
            lambda e: (
                e["type"] == "error" or (e["type"] == "trial_started" and len(first.of("trial_done")) >= 2)
            )
        )
        assert trigger["type"] == "trial_started", trigger
        running = first.pause_with_a_trial_in_flight()
    finally:
        first.kill()
    reported = [e["result"]["number"] for e in first.of("trial_done")]
    assert len(reported) >= 2 and running
    # the journal lost the last record (the study was told before the event went out)
    journaled = reported[:-1]

    second = RuntimeProcess(hello=False)
    try:
        second.send(
            {
                "type": "sweep",
                "spec": spec,
                "runDir": str(run_dir),
                "journaled": [{"family": "nn", "number": n} for n in journaled],
            }
        )
        done = second.until(is_type("sweep_done"))
        assert done == {"type": "sweep_done", "complete": 5}, done
    finally:
        second.close()
    opened = second.of("sweep_opened")[0]
    assert opened["complete"] == len(reported) and sorted(opened["failedStale"]) == sorted(running)
    recovered = [e["result"]["number"] for e in second.of("trial_done") if e["recovered"]]
    trained = [e["result"]["number"] for e in second.of("trial_done") if not e["recovered"]]
    assert recovered == [reported[-1]]
    started_again = [e["number"] for e in second.of("trial_started")]
    assert not set(started_again) & set(reported)  # no reported trial trained twice
    assert len(journaled) + len(recovered) + len(trained) == 5
    assert len(set(journaled) | set(recovered) | set(trained)) == 5

    study = optuna.load_study(study_name="nn", storage=storage_url(run_dir))
    assert not study.get_trials(states=(TrialState.RUNNING,))
    complete = {t.number for t in study.get_trials(states=(TrialState.COMPLETE,))}
    assert complete == set(journaled) | set(recovered) | set(trained)
    failed = {t.number: t for t in study.get_trials(states=(TrialState.FAIL,))}
    assert set(failed) == set(running)
    requeued = {t.user_attrs["requeued_from"]: t for t in study.trials if "requeued_from" in t.user_attrs}
    for number in running:  # each interrupted trial trained again with its params and seed
        assert requeued[number].params == failed[number].params
        assert requeued[number].user_attrs["seed"] == failed[number].user_attrs["seed"]
        assert requeued[number].state == TrialState.COMPLETE
