"""A sweep over several families in-process, with real tree workers: one study per family
in study.db, families in the spec's order, exact counts, resume per family, refusals."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import optuna
import pytest
from conftest import runtime_env
from sweep_helpers import TINY_SPACE, TINY_TREE_SPACES, sweep_spec, write_table

from headroom_runtime.core.job import Context
from headroom_runtime.core.protocol import EventWriter
from headroom_runtime.trials import study as study_mod
from headroom_runtime.trials.errors import BadInput
from headroom_runtime.trials.sweep import Sweep, check

FAMILIES = ["nn", "xgboost", "lightgbm", "catboost"]


SPACES = {"nn": TINY_SPACE, **TINY_TREE_SPACES}


def family_spec(table: Path, **overrides: Any) -> dict[str, Any]:
    """A spec over `families` (all four unless overridden), each family's tiny space."""
    families = overrides.get("families", FAMILIES)
    spec = sweep_spec(table, families=families, trials=3, epochs=3, treeWorkers=2)
    spec["space"] = {family: SPACES[family] for family in families}
    spec.update(overrides)
    return spec


def run_sweep(run_dir: Path, spec: dict[str, Any], journaled: dict[str, set[int]] | None = None) -> list[Any]:
    out = io.StringIO()
    Sweep(Context(EventWriter(out)), spec, run_dir, journaled or {}).run()  # every event validated
    return [json.loads(line) for line in out.getvalue().splitlines()]


def results(events: list[dict[str, Any]]) -> dict[tuple[str, int], dict[str, Any]]:
    return {
        (e["result"]["family"], e["result"]["number"]): e["result"]
        for e in events
        if e["type"] == "trial_done"
    }


def test_four_families_run_in_order_each_in_its_own_study_with_an_exact_count(tmp_path: Path) -> None:
    table = write_table(tmp_path / "t.csv", rows=200)
    events = run_sweep(tmp_path / "run", family_spec(table))
    opened = [e["family"] for e in events if e["type"] == "sweep_opened"]
    done = [e["family"] for e in events if e["type"] == "family_done"]
    assert opened == FAMILIES and done == FAMILIES
    assert events[-1] == {"type": "sweep_done", "complete": 12}
    found = results(events)
    assert sorted(found) == sorted((f, n) for f in FAMILIES for n in range(3))
    for (family, _), result in found.items():
        assert result["state"] == "complete" and result["value"] == result["metrics"]["r2"]
        assert result["engine"] == ("worker" if family != "nn" else "batched") and result["device"] == "cpu"
        if family != "nn":  # 20 rounds at most: early stopping (50 rounds) never cuts one short
            rounds = result["params"]["iterations" if family == "catboost" else "n_estimators"]
            assert result["epochs"] == rounds and 1 <= result["bestEpoch"] <= rounds, (family, result)
        if family == "xgboost":
            # the given keys replace the default's, the others keep the default's ranges
            assert {"n_estimators", "max_depth", "learning_rate"} <= set(result["params"])
            assert 5 <= result["params"]["n_estimators"] <= 20
    # the data is learnable: every tree family's best trial beats predicting the mean (3 epochs are too
    # few for the NN, 20 rounds at most for the trees)
    for family in FAMILIES[1:]:
        assert max(r["value"] for (f, _), r in found.items() if f == family) > 0.1, family
    storage = study_mod.storage_url(tmp_path / "run")
    names = sorted(s.study_name for s in optuna.get_all_study_summaries(storage))
    assert names == sorted(FAMILIES)
    for family in FAMILIES:
        study = optuna.load_study(study_name=family, storage=storage)
        complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        assert len(complete) == 3 and all(t.user_attrs["family"] == family for t in complete)
    workers = [e for e in events if e["type"] == "tree_worker"]
    assert {(e["family"], e["visibleDevices"]) for e in workers} == {(f, "") for f in FAMILIES[1:]}


def test_a_reopened_sweep_recovers_per_family_and_trains_nothing_finished(tmp_path: Path) -> None:
    table = write_table(tmp_path / "t.csv", rows=120)
    spec = family_spec(table, families=["xgboost", "nn"], trials=2)
    first = results(run_sweep(tmp_path / "run", spec))
    # the journal lost xgboost's trial 1 and nn's trial 0 (told in the study, the event never arrived)
    again = run_sweep(tmp_path / "run", spec, journaled={"xgboost": {0}, "nn": {1}})
    recovered = results(again)
    assert sorted(recovered) == [("nn", 0), ("xgboost", 1)]
    assert recovered[("xgboost", 1)] == first[("xgboost", 1)] and recovered[("nn", 0)] == first[("nn", 0)]
    assert not [e for e in again if e["type"] == "trial_started"]
    assert again[-1] == {"type": "sweep_done", "complete": 4}


def test_the_same_seed_gives_a_tree_family_the_same_trials_at_one_and_two_workers(tmp_path: Path) -> None:
    table = write_table(tmp_path / "t.csv", rows=160)
    runs = {}
    for workers in (1, 2):
        spec = family_spec(table, families=["lightgbm"], trials=4, treeWorkers=workers, sampler="random")
        runs[workers] = {
            k: (r["params"], r["value"])
            for k, r in results(run_sweep(tmp_path / f"r{workers}", spec)).items()
        }
    assert runs[1] == runs[2] and len(runs[1]) == 4


def test_a_space_for_a_family_the_sweep_lacks_and_a_bad_tree_key_are_named(tmp_path: Path) -> None:
    table = write_table(tmp_path / "t.csv", rows=80)
    with pytest.raises(BadInput, match=r"family '(lightgbm|catboost)' is not one this sweep searches"):
        check(family_spec(table, families=["nn", "xgboost"], space=SPACES, spaceSource="space.json"))
    bad = {"xgboost": {"max_dept": TINY_TREE_SPACES["xgboost"]["max_depth"]}}
    with pytest.raises(BadInput, match="max_dept"):
        check(family_spec(table, families=["xgboost"], space=bad))


def test_a_family_whose_library_is_missing_is_refused_with_the_fix(tmp_path: Path) -> None:
    """The import really fails: a catboost package that raises ImportError comes first on the path."""
    shim = tmp_path / "shim" / "catboost"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text("raise ImportError('catboost hidden by the test')\n")
    table = write_table(tmp_path / "t.csv", rows=80)
    spec = family_spec(table, families=["nn", "catboost"])
    code = (
        "import json, sys\n"
        "from headroom_runtime.trials.sweep import check\n"
        "from headroom_runtime.trials.errors import BadInput\n"
        "try:\n    check(json.loads(sys.argv[1]))\nexcept BadInput as exc:\n    print(exc)\n"
    )
    env = runtime_env()
    env["PYTHONPATH"] = f"{tmp_path / 'shim'}:{env['PYTHONPATH']}"
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(spec)], env=env, capture_output=True, text=True
    )
    assert "family 'catboost': catboost is not installed" in out.stdout, out.stderr
    assert "npm run setup" in out.stdout


def test_auto_workers_on_a_gpu_grow_to_fit_the_first_trials_peak(tmp_path: Path, monkeypatch: Any) -> None:
    """A fake GPU (the test switch): the first trial alone, then as many workers as its peak fits in
    the GPU's free memory (capped at 4, and at the trials left), each pinned to that GPU."""
    monkeypatch.setenv("HEADROOM_FAKE_GPUS", "0")
    monkeypatch.setenv("HEADROOM_FAKE_GPU_FREE_MB", "100000")
    table = write_table(tmp_path / "t.csv", rows=120)
    events = run_sweep(
        tmp_path / "run", family_spec(table, families=["xgboost"], trials=6, treeWorkers=None, device="auto")
    )
    opened = next(e for e in events if e["type"] == "sweep_opened")
    assert opened["concurrency"] == 1 and "cuda:0" in opened["device"]
    grown = [e for e in events if e["type"] == "concurrency"]
    assert [(e["concurrency"], e["reason"]) for e in grown] == [(4, "measured")] and grown[0]["peak"] > 0
    started = [e for e in events if e["type"] == "tree_worker"]
    assert len(started) == 5 and {e["visibleDevices"] for e in started} == {"0"}
    assert events[-1] == {"type": "sweep_done", "complete": 6}
