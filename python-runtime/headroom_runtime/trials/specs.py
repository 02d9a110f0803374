"""What the trials job's parts hand each other: a trial's hyperparameters, the
prepared data, the training settings, and what a finished trial leaves.

The sweep (sweep.py: Optuna, data, metrics) drives an engine (batched.py,
serial.py, streams.py) through `Hooks`; an engine knows nothing of Optuna and
the sweep nothing of how members are stacked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np

if TYPE_CHECKING:  # annotations only: a tree worker imports this module and never needs torch
    import torch

Task = Literal["regression", "binary"]
EngineName = Literal["batched", "serial", "streams"]


@dataclass(frozen=True)
class TrialSpec:
    """One trial: an MLP features -> hidden... -> 1, ReLU and dropout, full-batch Adam (L2 weight decay)."""

    number: int  # Optuna's trial number
    hidden: tuple[int, ...]
    lr: float
    weight_decay: float
    dropout: float
    seed: int  # everything random about the trial (init, dropout masks) comes from this


@dataclass(frozen=True)
class Fold:
    """One train/validation split, features (and a regression target) standardised with the
    training part's mean and std: y in the user's units is y * target_scale + target_mean."""

    x_train: torch.Tensor  # [n, F] float32
    y_train: torch.Tensor  # [n] float32 (binary: 0.0/1.0)
    x_val: torch.Tensor
    y_val: torch.Tensor
    target_mean: float = 0.0
    target_scale: float = 1.0


@dataclass(frozen=True)
class TrainData:
    task: Task
    folds: tuple[Fold, ...]  # one: a held-out part; K: K-fold (a trial trains K members)


@dataclass(frozen=True)
class TrainConfig:
    epochs: int
    patience: int  # epochs without a better validation loss before a member stops; 0: never
    device: str  # "cpu", "cuda:0"
    concurrency: int  # most members trained at once (batched engine; serial trains one)
    # Bytes the members may fill on a CUDA device (device memory x target fraction, less the data and
    # what else is allocated). The batched engine checks the first batch's measured peak against it and
    # lowers `concurrency` when fewer members fit (hooks.concurrency_changed(..., "measured", ...)).
    # None: no check. Unused on a CPU. (added by pyeng)
    room_bytes: int | None = None


@dataclass(frozen=True)
class EpochPoint:
    """A running trial after one epoch: losses are the means over its folds."""

    number: int
    epoch: int  # 1-based
    train: float
    val: float


@dataclass
class TrialOutcome:
    spec: TrialSpec
    epochs: int  # epochs trained (the most over its folds)
    best_epoch: int  # 1-based, the epoch whose weights were kept (K folds: the latest over its folds)
    val_predictions: list[np.ndarray]  # per fold: float64 [n_val] at the best epoch (binary: logits)
    weights: list[dict[str, torch.Tensor]]  # per fold: the kept weights, on the CPU (tests compare them)
    ms: float
    peak_bytes: int | None
    peak_source: Literal["measured", "estimate"]


class Hooks(Protocol):
    """How an engine talks to its sweep. All calls come from the engine's thread."""

    def next_trial(self) -> TrialSpec | None:
        """The next trial to train, or None when there is none (yet): asked whenever slots are free."""
        ...

    def started(self, spec: TrialSpec, members: int) -> None: ...

    def progress(self, point: EpochPoint) -> None:
        """Every epoch of every running trial: the sweep samples what it sends on."""
        ...

    def finished(self, outcome: TrialOutcome) -> None: ...

    def between_epochs(self) -> None:
        """Where a pause takes hold (it may block) and a stop is noticed (it may raise)."""
        ...

    def concurrency_changed(
        self, concurrency: int, reason: Literal["oom", "measured"], peak: int | None, estimate: int | None
    ) -> None: ...

    def oom(self, members: int, concurrency: int, restarted: list[int]) -> None: ...
