"""A finished trial's scores on held-out data, the mean over its folds.

regression: the objective is R2 (sklearn's r2_score), with the MSE beside it;
binary: the objective is ROC AUC, with the log loss of the logits (sigmoid, clipped).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from headroom_runtime.trials.specs import Task

EPS = 1e-7  # probabilities clipped to [EPS, 1 - EPS] for the log loss


def objective_name(task: Task) -> str:
    return "auc" if task == "binary" else "r2"


def fold_metrics(task: Task, y_true: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import mean_squared_error, r2_score, roc_auc_score  # type: ignore[import-untyped]

    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(predicted, dtype=np.float64)
    if task == "binary":
        prob = np.clip(1.0 / (1.0 + np.exp(-p)), EPS, 1.0 - EPS)
        logloss = float(-np.mean(y * np.log(prob) + (1.0 - y) * np.log(1.0 - prob)))
        return {"auc": float(roc_auc_score(y, p)), "logloss": logloss}
    return {"r2": float(r2_score(y, p)), "mse": float(mean_squared_error(y, p))}


def trial_metrics(
    task: Task, y_vals: Sequence[np.ndarray], predictions: Sequence[np.ndarray]
) -> dict[str, float] | None:
    """The mean of each metric over the folds; None when a prediction is not finite (a diverged trial)."""
    if len(y_vals) != len(predictions) or not predictions:
        raise ValueError(f"{len(predictions)} fold predictions for {len(y_vals)} folds")
    per_fold = []
    for y, p in zip(y_vals, predictions, strict=True):
        if not np.all(np.isfinite(p)):
            return None
        per_fold.append(fold_metrics(task, y, p))
    means = {key: float(np.mean([m[key] for m in per_fold])) for key in per_fold[0]}
    return means if all(math.isfinite(v) for v in means.values()) else None
