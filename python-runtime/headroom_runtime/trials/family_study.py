"""One family's Optuna study in a sweep: asked for trials until exactly `trials` are
COMPLETE, each finished trial told (its TrialResult in user_attrs) before the sweep
sends `trial_done`. The NN engines' hooks (sweep.py) and the tree workers' hooks
(tree_family.py) both ask and tell through this, so the two families count alike.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.trial import TrialState

from headroom_runtime.core.protocol import Message
from headroom_runtime.trials import study as study_mod


class FamilyStudy:
    def __init__(
        self,
        run_dir: Path,
        family: str,
        space: dict[str, BaseDistribution],
        trials: int,
        sampler: str,
        seed: int,
        journaled: Collection[int],
    ) -> None:
        self.family, self.space, self.trials, self.seed = family, space, trials, seed
        self.study = study_mod.open_study(run_dir, sampler, seed, family)
        self.reconciled = study_mod.reconcile(self.study, set(journaled), seed, space.keys(), family)
        self.complete = self.reconciled.complete
        self.failed = 0
        self.last_failure: str | None = None
        self.running: dict[int, optuna.Trial] = {}

    def ask(self) -> tuple[optuna.Trial, int] | None:
        """The next trial and its seed; None once enough are complete or running (or too many failed)."""
        if self.complete + len(self.running) >= self.trials or self.failed > self.trials:
            return None
        trial = self.study.ask(fixed_distributions=dict(self.space))
        seed = trial.user_attrs.get("seed")
        if seed is None:
            seed = study_mod.trial_seed(self.seed, trial.number)
            trial.set_user_attr("seed", seed)
        self.running[trial.number] = trial
        return trial, int(seed)

    def params(self, number: int) -> dict[str, Any]:
        return dict(self.running[number].params)

    def tell(self, result: Message) -> None:
        """Records a finished trial (state complete or failed) in the study, before trial_done is sent."""
        trial = self.running.pop(result["number"])
        for key in study_mod.RESULT_ATTRS:
            trial.set_user_attr(key, result[key])
        if result["state"] == "complete":
            self.study.tell(trial, result["value"])
            self.complete += 1
        else:
            trial.set_user_attr("fail_reason", result["message"])
            self.study.tell(trial, state=TrialState.FAIL)
            self.failed += 1
            self.last_failure = result["message"]

    def count_complete(self) -> int:
        return len(self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
