"""study.db: WAL mode, read live from another process, and reconciled after a crash."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import optuna
from conftest import runtime_env
from optuna.trial import TrialState

from headroom_runtime.trials import study as study_mod
from headroom_runtime.trials.space import parse_space

SPACE = parse_space(None, None)


def result_attrs(value: float) -> dict[str, Any]:
    return {
        "state": "complete",
        "seed": 0,
        "metrics": {"r2": value, "mse": 1 - value},
        "epochs": 5,
        "bestEpoch": 4,
        "ms": 12.5,
        "peakBytes": 1024,
        "peakSource": "estimate",
        "engine": "batched",
        "message": None,
    }


def tell_complete(study: optuna.Study, trial: optuna.Trial, value: float) -> None:
    for key, item in {**result_attrs(value), "seed": trial.user_attrs["seed"]}.items():
        trial.set_user_attr(key, item)
    study.tell(trial, value)


def ask(study: optuna.Study, run_seed: int = 3) -> optuna.Trial:
    trial = study.ask(fixed_distributions=dict(SPACE))
    if "seed" not in trial.user_attrs:
        trial.set_user_attr("seed", study_mod.trial_seed(run_seed, trial.number))
    return trial


READER = textwrap.dedent(
    """
    import json, sys, optuna
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    url = sys.argv[1]
    for line in sys.stdin:
        study = optuna.load_study(study_name="nn", storage=url)
        rows = [{"number": t.number, "state": t.state.name, "params": t.params, "value": t.value}
                for t in study.get_trials(deepcopy=False)]
        print(json.dumps(rows), flush=True)
    """
)


def test_the_study_is_in_wal_mode(tmp_path: Path) -> None:
    study_mod.open_study(tmp_path, "tpe", 0)
    with sqlite3.connect(tmp_path / "study.db") as check:
        assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    storage = study_mod.open_storage(tmp_path)
    with storage.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_another_process_sees_every_finished_trial_while_the_sweep_writes(tmp_path: Path) -> None:
    study = study_mod.open_study(tmp_path, "random", 1)
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, study_mod.storage_url(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=runtime_env(),
    )
    assert reader.stdin is not None and reader.stdout is not None
    told: dict[int, tuple[dict[str, Any], float]] = {}
    try:
        open_trial = ask(study)  # stays RUNNING: the sweep is still writing
        for round_ in range(4):
            for i in range(3):
                trial = ask(study)
                value = 0.1 * round_ + 0.01 * i + 1e-17 * trial.number
                tell_complete(study, trial, value)
                told[trial.number] = (trial.params, value)
            reader.stdin.write("read\n")
            reader.stdin.flush()
            rows = json.loads(reader.stdout.readline())
            seen = {r["number"]: r for r in rows if r["state"] == "COMPLETE"}
            assert set(seen) == set(told)
            for number, (params, value) in told.items():
                assert seen[number]["params"] == params and seen[number]["value"] == value
            assert {r["number"]: r["state"] for r in rows}[open_trial.number] == "RUNNING"
    finally:
        reader.stdin.close()
        assert reader.wait(timeout=60) == 0


CRASHING_SWEEP = textwrap.dedent(
    """
    import os, sys, json
    sys.path.insert(0, sys.argv[2])
    from pathlib import Path
    from headroom_runtime.trials import study as study_mod
    from headroom_runtime.trials.space import parse_space
    space = parse_space(None, None)
    study = study_mod.open_study(Path(sys.argv[1]), "random", 3)
    out = []
    for n in range(4):
        trial = study.ask(fixed_distributions=dict(space))
        trial.set_user_attr("seed", study_mod.trial_seed(3, trial.number))
        out.append({"number": trial.number, "params": trial.params})
        if n < 2:
            for key, value in json.loads(sys.argv[3]).items():
                trial.set_user_attr(key, value)
            trial.set_user_attr("seed", study_mod.trial_seed(3, trial.number))
            study.tell(trial, 0.5 + n)
    print(json.dumps(out), flush=True)
    os._exit(0)  # as a SIGKILL would: trials 2 and 3 left RUNNING
    """
)


def test_reconcile_fails_running_trials_requeues_them_bit_exactly_and_recovers_unjournaled(
    tmp_path: Path,
) -> None:
    from conftest import RUNTIME_DIR

    done = subprocess.run(
        [
            sys.executable,
            "-c",
            CRASHING_SWEEP,
            str(tmp_path),
            str(RUNTIME_DIR),
            json.dumps(result_attrs(0.5)),
        ],
        capture_output=True,
        text=True,
        env=runtime_env(),
        check=True,
    )
    asked = json.loads(done.stdout)
    study = study_mod.open_study(tmp_path, "random", 3)
    states = {t.number: t.state for t in study.get_trials()}
    assert states == {
        0: TrialState.COMPLETE,
        1: TrialState.COMPLETE,
        2: TrialState.RUNNING,
        3: TrialState.RUNNING,
    }

    keys = asked[0]["params"].keys()
    reconciled = study_mod.reconcile(study, journaled={0}, run_seed=3, space_keys=keys)
    assert reconciled.complete == 2 and reconciled.failed_stale == [2, 3]
    (recovered,) = reconciled.recovered
    assert (
        recovered["number"] == 1 and recovered["value"] == 1.5 and recovered["params"] == asked[1]["params"]
    )
    assert recovered["seed"] == study_mod.trial_seed(3, 1) and recovered["metrics"] == {"r2": 0.5, "mse": 0.5}
    failed = {t.number: t for t in study.get_trials(states=(TrialState.FAIL,))}
    assert set(failed) == {2, 3} and failed[2].user_attrs["fail_reason"] == study_mod.INTERRUPTED
    assert not study.get_trials(states=(TrialState.RUNNING,))

    for original in (2, 3):  # the next asks are the interrupted trials again, bit-exactly, seeds kept
        again = ask(study)
        assert again.params == asked[original]["params"]
        assert all(repr(again.params[k]) == repr(asked[original]["params"][k]) for k in again.params)
        assert again.user_attrs["seed"] == study_mod.trial_seed(3, original)
        assert again.user_attrs["requeued_from"] == original
        tell_complete(study, again, 0.9)
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) == 4
    # a second reconcile finds nothing to do
    again_reconciled = study_mod.reconcile(study, journaled={0, 1, 4, 5}, run_seed=3, space_keys=keys)
    assert again_reconciled.recovered == [] and again_reconciled.failed_stale == []


def test_a_trial_killed_inside_ask_is_failed_and_not_enqueued_half_drawn(tmp_path: Path) -> None:
    study = study_mod.open_study(tmp_path, "random", 3)
    half = study.ask()
    half.suggest_float("lr", 1e-4, 1e-2, log=True)  # the kill came before the other params were written
    reconciled = study_mod.reconcile(study, journaled=set(), run_seed=3, space_keys=("lr", "dropout"))
    assert reconciled.failed_stale == [half.number]
    assert study.get_trials(states=(TrialState.WAITING,)) == []  # nothing enqueued: a fresh ask replaces it
    fresh = study.ask()
    frozen = study.get_trials(deepcopy=False)[fresh.number]
    assert "fixed_params" not in frozen.system_attrs and "requeued_from" not in frozen.user_attrs


def test_random_sampler_gives_trial_n_the_same_params_in_any_session(tmp_path: Path) -> None:
    for name in "abc":
        (tmp_path / name).mkdir()
    one = study_mod.open_study(tmp_path / "a", "random", 5)
    first = [ask(one).params for _ in range(6)]
    two = study_mod.open_study(tmp_path / "b", "random", 5)
    head = [ask(two).params for _ in range(3)]
    resumed = study_mod.open_study(tmp_path / "b", "random", 5)  # a new sampler, as after a restart
    tail = [ask(resumed).params for _ in range(3)]
    assert head + tail == first
    other_seed = study_mod.open_study(tmp_path / "c", "random", 6)
    assert [ask(other_seed).params for _ in range(6)] != first
