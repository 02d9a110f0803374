"""What every engine shares: the folds on the device, the loss, a member's early stopping and the
bookkeeping that turns a trial's members into an outcome and its epochs into progress points."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from headroom_runtime.trials.init import InitialState, initial_state
from headroom_runtime.trials.specs import EpochPoint, Fold, Task, TrainData, TrialOutcome, TrialSpec


@dataclass(frozen=True)
class DeviceFold:
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor


def device_folds(data: TrainData, device: str) -> list[DeviceFold]:
    def put(t: torch.Tensor) -> torch.Tensor:
        return t.to(device=device, dtype=torch.float32).contiguous()

    def one(f: Fold) -> DeviceFold:
        return DeviceFold(put(f.x_train), put(f.y_train), put(f.x_val), put(f.y_val))

    return [one(f) for f in data.folds]


def loss_of(task: Task, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over rows: MSE (regression) or BCE on logits (binary). `pred` is [n]."""
    if task == "binary":
        return F.binary_cross_entropy_with_logits(pred, target)
    return F.mse_loss(pred, target)


@dataclass
class Stopper:
    """One member's early stopping on validation loss; the caller keeps the best epoch's state."""

    epochs: int
    patience: int
    epoch: int = 0
    best_val: float = math.inf
    best_epoch: int = 0
    since_best: int = 0
    done: bool = False

    def record(self, val: float) -> bool:
        """Account one trained epoch; True when it is the best so far (keep its weights)."""
        self.epoch += 1
        improved = self.best_epoch == 0 or val < self.best_val
        if improved:
            self.best_val = val
            self.best_epoch = self.epoch
            self.since_best = 0
        else:
            self.since_best += 1
        if self.epoch >= self.epochs or (self.patience > 0 and self.since_best >= self.patience):
            self.done = True
        return improved


@dataclass
class TrialRun:
    """A trial while it trains: its members' results are filled in fold by fold."""

    spec: TrialSpec
    init: InitialState
    folds: int
    started: float = field(default_factory=time.perf_counter)
    predictions: dict[int, torch.Tensor] = field(default_factory=dict)  # fold -> best val predictions
    weights: dict[int, dict[str, torch.Tensor]] = field(default_factory=dict)
    epochs: dict[int, int] = field(default_factory=dict)
    best_epochs: dict[int, int] = field(default_factory=dict)
    peak: dict[int, int] = field(default_factory=dict)
    peak_measured: bool = False

    @classmethod
    def of(cls, spec: TrialSpec, data: TrainData) -> TrialRun:
        features = int(data.folds[0].x_train.shape[1])
        return cls(spec, initial_state(spec, features), len(data.folds))

    def member_done(
        self, fold: int, stopper: Stopper, weights: dict[str, torch.Tensor], predictions: torch.Tensor
    ) -> None:
        self.weights[fold] = {name: t.detach().to("cpu", copy=True) for name, t in weights.items()}
        self.predictions[fold] = predictions
        self.epochs[fold] = stopper.epoch
        self.best_epochs[fold] = stopper.best_epoch

    def forget(self, fold: int) -> None:
        for part in (self.predictions, self.weights, self.epochs, self.best_epochs):
            part.pop(fold, None)

    @property
    def complete(self) -> bool:
        return len(self.weights) == self.folds

    def outcome(self) -> TrialOutcome:
        order = range(self.folds)
        return TrialOutcome(
            spec=self.spec,
            epochs=max(self.epochs[f] for f in order),
            best_epoch=max(self.best_epochs[f] for f in order),
            val_predictions=[
                self.predictions[f].detach().to("cpu", torch.float64).numpy().copy() for f in order
            ],
            weights=[self.weights[f] for f in order],
            ms=(time.perf_counter() - self.started) * 1000.0,
            peak_bytes=sum(self.peak.values()) if self.peak else None,
            peak_source="measured" if self.peak_measured else "estimate",
        )


def mean_point(number: int, epoch: int, losses: list[tuple[float, float]]) -> EpochPoint:
    return EpochPoint(
        number=number,
        epoch=epoch,
        train=float(np.mean([t for t, _ in losses])),
        val=float(np.mean([v for _, v in losses])),
    )
