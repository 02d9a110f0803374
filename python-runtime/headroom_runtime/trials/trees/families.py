"""The tree families: each library's default search space, its checks, its seeded and
deterministic settings, and whether (and how) it is installed.

Deterministic settings (a trial's value is the same at 1 and 2 threads, alone or beside
others; measured on 20k x 62 rows, bit-identical validation R2):
  xgboost   tree_method "hist", seed            (hist is xgboost's default; costs nothing)
  lightgbm  deterministic, force_row_wise, seed (and its bagging/feature-fraction seeds)
            (force_row_wise skips the col-wise/row-wise timing test; see trees.md for the cost)
  catboost  random_seed                         (deterministic on a CPU at any thread count)
The number of rounds in a space is a ceiling: each fit stops EARLY_STOPPING_ROUNDS after
the best round on the validation part, and predicts with the best round.
"""

from __future__ import annotations

import importlib
import math
import mmap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from headroom_runtime.trials.errors import BadInput
from headroom_runtime.trials.space import parse_distribution

TreeFamily = Literal["xgboost", "lightgbm", "catboost"]
TREE_FAMILIES: tuple[TreeFamily, ...] = ("xgboost", "lightgbm", "catboost")
EARLY_STOPPING_ROUNDS = 50
Space = dict[str, BaseDistribution]
FIX = "pip install {module}, or run `npm run setup`"


def _lr() -> FloatDistribution:
    return FloatDistribution(0.01, 0.3, log=True)


def default_space(family: str) -> Space:
    """The space each family searches unless the space file says otherwise."""
    if family == "xgboost":
        return {
            "max_depth": IntDistribution(3, 10),
            "learning_rate": _lr(),
            "n_estimators": IntDistribution(100, 1000),
            "reg_lambda": FloatDistribution(1e-3, 10.0, log=True),
            "reg_alpha": FloatDistribution(1e-3, 10.0, log=True),
            "subsample": FloatDistribution(0.5, 1.0),
            "colsample_bytree": FloatDistribution(0.5, 1.0),
            "min_child_weight": FloatDistribution(0.1, 20.0, log=True),
        }
    if family == "lightgbm":
        return {
            "num_leaves": IntDistribution(15, 255, log=True),
            "learning_rate": _lr(),
            "n_estimators": IntDistribution(100, 1000),
            "lambda_l2": FloatDistribution(1e-3, 10.0, log=True),
            "bagging_fraction": FloatDistribution(0.5, 1.0),
            "feature_fraction": FloatDistribution(0.5, 1.0),
            "min_child_samples": IntDistribution(5, 100, log=True),
        }
    if family == "catboost":
        return {
            "depth": IntDistribution(4, 10),
            "learning_rate": _lr(),
            "iterations": IntDistribution(100, 1000),
            "l2_leaf_reg": FloatDistribution(1.0, 10.0, log=True),
            "subsample": FloatDistribution(0.5, 1.0),  # Bernoulli bootstrap
        }
    raise BadInput(f"unknown tree family {family!r}; the tree families are {', '.join(TREE_FAMILIES)}")


# What each key's values must be: (whole numbers only?, lowest, lowest allowed?, highest or None,
# highest allowed?, the rule in words)
_Rule = tuple[bool, float, bool, float | None, bool, str]
_FRACTION: _Rule = (False, 0.0, False, 1.0, True, "in (0, 1]")
_NONNEGATIVE: _Rule = (False, 0.0, True, None, False, "at least 0")
_RULES: dict[str, _Rule] = {
    "max_depth": (True, 1, True, 16, True, "a whole number from 1 to 16"),
    "depth": (True, 1, True, 16, True, "a whole number from 1 to 16"),
    "num_leaves": (True, 2, True, 131072, True, "a whole number from 2 to 131072"),
    "n_estimators": (True, 1, True, None, False, "a whole number of at least 1"),
    "iterations": (True, 1, True, None, False, "a whole number of at least 1"),
    "learning_rate": (False, 0.0, False, 1.0, True, "in (0, 1]"),
    "reg_lambda": _NONNEGATIVE,
    "reg_alpha": _NONNEGATIVE,
    "lambda_l2": _NONNEGATIVE,
    "l2_leaf_reg": _NONNEGATIVE,
    "subsample": _FRACTION,
    "colsample_bytree": _FRACTION,
    "bagging_fraction": _FRACTION,
    "feature_fraction": _FRACTION,
    "min_child_weight": _NONNEGATIVE,
    "min_child_samples": (True, 1, True, None, False, "a whole number of at least 1"),
}
assert all(key in _RULES for family in TREE_FAMILIES for key in default_space(family))


def _ok(rule: _Rule, value: Any) -> bool:
    whole, low, low_ok, high, high_ok, _ = rule
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return False
    if whole and float(value) != int(value):
        return False
    if value < low or (value == low and not low_ok):
        return False
    return high is None or value < high or (value == high and high_ok)


def _check(key: str, dist: BaseDistribution, where: str) -> None:
    rule = _RULES[key]
    if rule[0] and isinstance(dist, FloatDistribution):
        raise BadInput(
            f"{where}key {key!r} takes whole numbers: use an IntDistribution, not a FloatDistribution"
        )
    if isinstance(dist, CategoricalDistribution):
        values = list(dist.choices)
    elif isinstance(dist, (FloatDistribution, IntDistribution)):
        values = [dist.low, dist.high]
    else:
        raise BadInput(f"{where}key {key!r}: {type(dist).__name__} is not a numeric distribution")
    for value in values:
        if not _ok(rule, value):
            shown = (
                f"{value:g}"
                if isinstance(value, (int, float)) and not isinstance(value, bool)
                else repr(value)
            )
            raise BadInput(f"{where}key {key!r}: {shown} is out of range ({key} must be {rule[5]})")


def parse_family_space(family: str, given: dict[str, Any] | None, source: str | None) -> Space:
    """The family's space in force: its default with the given keys replaced, each checked."""
    where = f"{source}: {family}: " if source else f"space: {family}: "
    space = default_space(family)
    if given is not None and not isinstance(given, dict):
        raise BadInput(f"{where}the space must be an object of key -> distribution")
    for key, raw in (given or {}).items():
        if key not in space:
            raise BadInput(f"{where}unknown key {key!r}; the known keys are {', '.join(space)}")
        dist = parse_distribution(key, raw, where)
        _check(key, dist, where)
        space[key] = dist
    return space


def rounds_key(family: str) -> str:
    return "iterations" if family == "catboost" else "n_estimators"


# --- libraries ---


@dataclass(frozen=True)
class LibraryStatus:
    """Whether a family's library imports, its version, and whether its build can train on a GPU
    (None: unknown); fix says what to do when it is missing."""

    family: str
    module: str
    version: str | None
    gpu: bool | None
    fix: str | None


def _file_holds(path: Path, needle: bytes) -> bool | None:
    try:
        with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as view:
            return view.find(needle) >= 0
    except (OSError, ValueError):
        return None


def _gpu_build(family: str, module: Any) -> bool | None:
    """Read from the build, never from a device (no CUDA context is made here)."""
    if family == "xgboost":
        try:
            return bool(module.build_info().get("USE_CUDA", False))
        except Exception:
            return None
    if family == "lightgbm":
        # The PyPI wheel (4.x, Linux/Windows) has the OpenCL trainer (device_type "gpu") and not the
        # CUDA one; a build without OpenCL says "GPU Tree Learner was not enabled in this build".
        lib = next(iter((Path(module.__file__).parent / "lib").glob("lib_lightgbm.*")), None)
        holds = None if lib is None else _file_holds(lib, b"GPU Tree Learner was not enabled")
        return None if holds is None else not holds
    # catboost: get_gpu_device_count() counts devices (0 on a GPU build without a GPU); a build
    # with CUDA links its runtime, whose entry points are named in the extension module.
    ext = next(iter(Path(module.__file__).parent.glob("_catboost.*")), None)
    return None if ext is None else _file_holds(ext, b"cudaGetDeviceCount")


def library_status(family: str) -> LibraryStatus:
    if family not in TREE_FAMILIES:
        raise BadInput(f"unknown tree family {family!r}; the tree families are {', '.join(TREE_FAMILIES)}")
    try:
        module = importlib.import_module(family)
        version = str(module.__version__)
    except Exception as exc:  # ImportError, or a broken install raising anything on import
        fix = FIX.format(module=family) + f" ({type(exc).__name__}: {exc})"
        return LibraryStatus(family, family, None, None, fix)
    return LibraryStatus(family, family, version, _gpu_build(family, module), None)


def tree_doctor_facts(report: dict[str, Any]) -> None:
    """report["treeLibraries"]: each family's library, version, GPU build and fix; never raises."""
    rows: list[dict[str, Any]] = []
    for family in TREE_FAMILIES:
        try:
            status = library_status(family)
            rows.append({"family": family, "version": status.version, "gpu": status.gpu, "fix": status.fix})
        except Exception as exc:
            rows.append(
                {"family": family, "version": None, "gpu": None, "fix": f"{type(exc).__name__}: {exc}"}
            )
    report["treeLibraries"] = rows


# --- each library's settings for one fit ---


def library_params(
    family: str,
    params: dict[str, Any],
    task: str,
    seed: int,
    threads: int,
    gpu: bool,
    workers_on_device: int,
) -> dict[str, Any]:
    """The library's own parameters for one trial: the drawn ones, plus seeded, deterministic
    settings, the objective, threads and the device. Rounds and early stopping are the fit's."""
    drawn = {k: v for k, v in params.items() if k != rounds_key(family)}
    seed32 = seed % (2**31 - 1)
    if family == "xgboost":
        out = {
            **drawn,
            "objective": "binary:logistic" if task == "binary" else "reg:squarederror",
            "eval_metric": "logloss" if task == "binary" else "rmse",
            "tree_method": "hist",
            "seed": seed32,
            "nthread": threads,
            "device": "cuda" if gpu else "cpu",
            "verbosity": 0,
        }
        out["max_depth"] = int(out["max_depth"])
        return out
    if family == "lightgbm":
        out = {
            **drawn,
            "objective": "binary" if task == "binary" else "regression",
            "metric": "binary_logloss" if task == "binary" else "l2",
            "bagging_freq": 1,
            "seed": seed32,
            "bagging_seed": seed32,
            "feature_fraction_seed": seed32,
            "data_random_seed": seed32,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": threads,
            "device_type": "gpu" if gpu else "cpu",
            "verbosity": -1,
        }
        out["num_leaves"] = int(out["num_leaves"])
        out["min_child_samples"] = int(out["min_child_samples"])
        if gpu:  # the worker sees one device: the first OpenCL device of the first platform
            out.update({"gpu_platform_id": 0, "gpu_device_id": 0})
        return out
    out = {
        **drawn,
        "loss_function": "Logloss" if task == "binary" else "RMSE",
        "bootstrap_type": "Bernoulli",
        "random_seed": seed32,
        "thread_count": threads,
        "allow_writing_files": False,
        "verbose": False,
        "task_type": "GPU" if gpu else "CPU",
    }
    out["depth"] = int(out["depth"])
    if gpu:  # CatBoost takes 95% of the card by default; a worker takes its share
        out.update({"devices": "0", "gpu_ram_part": gpu_ram_part(workers_on_device)})
    return out


GPU_RAM_MARGIN = 0.9


def gpu_ram_part(workers_on_device: int) -> float:
    return round(GPU_RAM_MARGIN / max(1, workers_on_device), 4)
