"""The sweep's Optuna study: study.db in the run folder (SQLite, WAL, one writer: this
runtime), and its reconciliation with the Engine's journal when a sweep (re)opens.

A trial is told COMPLETE, its TrialResult in user_attrs, before its `trial_done` is
sent. So on reopening, the study may hold COMPLETE trials the journal lacks (sent again,
recovered) and trials a crash left RUNNING (told FAIL with the reason, their params and
seed enqueued again: the next ask() returns those params bit-exactly).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.samplers import BaseSampler, RandomSampler, TPESampler
from optuna.storages import RDBStorage
from optuna.trial import FrozenTrial, TrialState

STUDY_FILE = "study.db"
CONNECT_TIMEOUT_S = 60  # SQLite's busy timeout: a reader (optuna-dashboard) never makes us fail
SEED_FACTOR = 1_000_003
INTERRUPTED = "interrupted: the sweep stopped before this trial finished"
# TrialResult's fields kept as user_attrs (number, params and value are the trial's own)
RESULT_ATTRS = (
    "family",
    "state",
    "seed",
    "metrics",
    "epochs",
    "bestEpoch",
    "ms",
    "peakBytes",
    "peakSource",
    "engine",
    "device",
    "message",
)
# Attributes a study written before families existed lacks: (key, what it was then)
_OLDER_ATTRS = {"family": "nn", "device": None}

optuna.logging.set_verbosity(optuna.logging.WARNING)  # stderr stays for our logs


def trial_seed(run_seed: int, number: int) -> int:
    """A trial's seed: fixed by the run's seed and the number the trial was first asked as."""
    return run_seed * SEED_FACTOR + number


def _wal(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


class NumberedRandomSampler(BaseSampler):
    """Random search whose draw for trial n depends only on (seed, n, parameter): the same
    params for trial n whatever the concurrency, and after a resume in a new process."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, Any]:
        return {}

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, Any]
    ) -> dict[str, Any]:
        return {}

    def sample_independent(
        self, study: optuna.Study, trial: FrozenTrial, param_name: str, param_distribution: Any
    ) -> Any:
        name_key = int.from_bytes(param_name.encode()[:8].ljust(8, b"\0"), "little")
        derived = int(
            np.random.SeedSequence([self.seed, trial.number, name_key, len(param_name)]).generate_state(1)[0]
        )
        return RandomSampler(seed=derived).sample_independent(study, trial, param_name, param_distribution)


def make_sampler(kind: str, seed: int, asked_before: int) -> BaseSampler:
    if kind == "random":
        return NumberedRandomSampler(seed)
    # TPE's random start-up draws would repeat the first session's after a restart: offset the seed
    return TPESampler(seed=seed * SEED_FACTOR + asked_before if asked_before else seed)


def storage_url(run_dir: Path) -> str:
    return f"sqlite:///{run_dir / STUDY_FILE}"


def open_storage(run_dir: Path) -> RDBStorage:
    """The study's storage, in WAL mode (persistent in the file; set again on every connection)."""
    from sqlalchemy import event

    path = run_dir / STUDY_FILE
    with sqlite3.connect(path, timeout=CONNECT_TIMEOUT_S) as first:  # before Optuna creates its tables
        first.execute("PRAGMA journal_mode=WAL")
    storage = RDBStorage(storage_url(run_dir), engine_kwargs={"connect_args": {"timeout": CONNECT_TIMEOUT_S}})
    event.listen(storage.engine, "connect", _wal)
    return storage


def open_study(run_dir: Path, sampler: str, seed: int, family: str = "nn") -> optuna.Study:
    """The family's study (named by the family: "nn", "xgboost", ...) in the run's study.db."""
    storage = open_storage(run_dir)
    asked = 0
    try:
        existing = optuna.load_study(study_name=family, storage=storage)
        asked = len(existing.get_trials(deepcopy=False, states=None))
    except KeyError:
        pass
    return optuna.create_study(
        storage=storage,
        study_name=family,
        direction="maximize",
        load_if_exists=True,
        sampler=make_sampler(sampler, seed, asked),
    )


def result_of(trial: FrozenTrial) -> dict[str, Any]:
    """The TrialResult a told trial keeps in its user_attrs."""
    attrs = trial.user_attrs
    result: dict[str, Any] = {"number": trial.number, "params": dict(trial.params), "value": trial.value}
    for key in RESULT_ATTRS:
        result[key] = attrs[key] if key in attrs or key not in _OLDER_ATTRS else _OLDER_ATTRS[key]
    return result


@dataclass
class Reconciled:
    recovered: list[dict[str, Any]] = field(default_factory=list)  # TrialResults to send again
    failed_stale: list[int] = field(default_factory=list)  # RUNNING -> FAIL, params enqueued again
    complete: int = 0


def reconcile(
    study: optuna.Study,
    journaled: set[int],
    run_seed: int,
    space_keys: Collection[str],
    family: str = "nn",
) -> Reconciled:
    out = Reconciled()
    for trial in study.get_trials(deepcopy=False):
        if trial.state == TrialState.COMPLETE:
            out.complete += 1
            if trial.number not in journaled:
                out.recovered.append({**result_of(trial), "family": family})
        elif trial.state == TrialState.RUNNING:
            seed = int(trial.user_attrs.get("seed", trial_seed(run_seed, trial.number)))
            study._storage.set_trial_user_attr(trial._trial_id, "fail_reason", INTERRUPTED)
            study.tell(trial.number, state=TrialState.FAIL)
            # A kill inside ask() can leave only some params written; an enqueued trial's are whole in
            # fixed_params. One with neither never trained: a fresh ask replaces it (same count at the end).
            params = dict(trial.system_attrs.get("fixed_params") or trial.params)
            if set(space_keys) <= set(params):
                study.enqueue_trial(params, user_attrs={"seed": seed, "requeued_from": trial.number})
            out.failed_stale.append(trial.number)
    return out


def running_count(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))
