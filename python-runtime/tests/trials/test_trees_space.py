"""Tree families' spaces (defaults, overrides, each bad input named), each library's
settings, and a missing library reported with its fix."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from optuna.distributions import FloatDistribution, IntDistribution, distribution_to_json

from headroom_runtime.trials.errors import BadInput
from headroom_runtime.trials.trees.families import (
    TREE_FAMILIES,
    default_space,
    gpu_ram_part,
    library_params,
    library_status,
    parse_family_space,
    rounds_key,
    tree_doctor_facts,
)


def dist(d: Any) -> dict[str, Any]:
    return dict(json.loads(distribution_to_json(d)))


@pytest.mark.parametrize("family", TREE_FAMILIES)
def test_the_defaults_are_valid_and_searchable(family: str) -> None:
    space = default_space(family)
    assert parse_family_space(family, None, None) == space
    # every default passes its own checks when given back as JSON
    assert parse_family_space(family, {k: dist(v) for k, v in space.items()}, "s.json") == space
    assert rounds_key(family) in space and "learning_rate" in space
    assert space["learning_rate"] == FloatDistribution(0.01, 0.3, log=True)


def test_a_given_key_overrides_the_default() -> None:
    given = {"n_estimators": dist(IntDistribution(10, 40)), "max_depth": dist(IntDistribution(2, 3))}
    space = parse_family_space("xgboost", given, "space.json")
    assert space["n_estimators"] == IntDistribution(10, 40)
    assert space["max_depth"] == IntDistribution(2, 3)
    assert space["subsample"] == default_space("xgboost")["subsample"]


@pytest.mark.parametrize(
    ("family", "given", "words"),
    [
        (
            "xgboost",
            {"depth": dist(IntDistribution(2, 4))},
            "unknown key 'depth'; the known keys are max_depth,",
        ),
        (
            "catboost",
            {"max_depth": dist(IntDistribution(2, 4))},
            "unknown key 'max_depth'; the known keys are depth,",
        ),
        ("lightgbm", {"num_leaves": 5}, "key 'num_leaves' must be {\"name\""),
        ("xgboost", {"subsample": dist(FloatDistribution(0.5, 1.5))}, "key 'subsample': 1.5 is out of range"),
        ("catboost", {"depth": dist(IntDistribution(4, 20))}, "key 'depth': 20 is out of range"),
        (
            "lightgbm",
            {"learning_rate": dist(FloatDistribution(0.0, 0.1))},
            "key 'learning_rate': 0 is out of range",
        ),
        ("xgboost", {"max_depth": dist(FloatDistribution(2.0, 5.0))}, "takes whole numbers"),
        (
            "lightgbm",
            {"lambda_l2": dist(FloatDistribution(-1.0, 1.0))},
            "key 'lambda_l2': -1 is out of range",
        ),
        (
            "catboost",
            {"iterations": {"name": "IntDistribution", "attributes": {"low": 5}}},
            "key 'iterations': bad",
        ),
        ("catboost", {"iterations": {"name": "Nope", "attributes": {}}}, "key 'iterations':"),
    ],
)
def test_each_bad_input_names_family_key_and_file(family: str, given: dict[str, Any], words: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_family_space(family, given, "my-space.json")
    assert str(caught.value).startswith(f"my-space.json: {family}: ")
    assert words in str(caught.value)


def test_an_unknown_family_lists_the_tree_families() -> None:
    with pytest.raises(
        BadInput, match="unknown tree family 'sklearn'; the tree families are xgboost, lightgbm, catboost"
    ):
        parse_family_space("sklearn", None, None)


@pytest.mark.parametrize("family", TREE_FAMILIES)
def test_library_settings_are_seeded_and_deterministic(family: str) -> None:
    params = {k: (v.low if hasattr(v, "low") else v) for k, v in default_space(family).items()}
    cpu = library_params(family, params, "binary", 5_000_017, 2, False, 1)
    assert rounds_key(family) not in cpu  # the fit's, with early stopping
    if family == "xgboost":
        assert cpu["tree_method"] == "hist" and cpu["device"] == "cpu" and cpu["nthread"] == 2
        assert library_params(family, params, "regression", 1, 1, True, 2)["device"] == "cuda"
    elif family == "lightgbm":
        assert cpu["deterministic"] and cpu["force_row_wise"] and cpu["seed"] == 5_000_017
        assert cpu["objective"] == "binary" and cpu["device_type"] == "cpu"
    else:
        gpu = library_params(family, params, "regression", 1, 1, True, 2)
        assert cpu["task_type"] == "CPU" and "devices" not in cpu and cpu["loss_function"] == "Logloss"
        assert gpu["task_type"] == "GPU" and gpu["devices"] == "0" and gpu["gpu_ram_part"] == gpu_ram_part(2)
    assert gpu_ram_part(1) == 0.9 and gpu_ram_part(4) == 0.225


def test_installed_libraries_have_a_version_and_no_fix() -> None:
    report: dict[str, Any] = {}
    tree_doctor_facts(report)
    rows = report["treeLibraries"]
    assert [r["family"] for r in rows] == list(TREE_FAMILIES)
    for row in rows:
        assert row["version"] and row["fix"] is None
        assert row["gpu"] in (True, False, None)
    assert library_status("xgboost").gpu is not None  # xgboost says so in build_info()


def test_a_missing_library_is_reported_with_its_fix(tmp_path: Path) -> None:
    broken = tmp_path / "catboost"
    broken.mkdir()
    (broken / "__init__.py").write_text("raise ImportError('no module named catboost (a test)')\n")
    script = (
        "import json, sys; sys.path.insert(0, sys.argv[1])\n"
        "from headroom_runtime.trials.trees.families import library_status, tree_doctor_facts\n"
        "s = library_status('catboost'); r = {}; tree_doctor_facts(r)\n"
        "print(json.dumps({'version': s.version, 'gpu': s.gpu, 'fix': s.fix, 'rows': r['treeLibraries']}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=120, check=True
    )
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["version"] is None and out["gpu"] is None
    assert out["fix"].startswith("pip install catboost, or run `npm run setup`")
    assert "a test" in out["fix"]
    by_family = {r["family"]: r for r in out["rows"]}
    assert by_family["catboost"]["version"] is None and by_family["xgboost"]["version"]
