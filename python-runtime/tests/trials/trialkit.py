"""Tiny data, trial specs and recording hooks for the engine tests."""

from __future__ import annotations

import collections
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import torch

from headroom_runtime.trials.specs import EpochPoint, Fold, Task, TrainData, TrialOutcome, TrialSpec

WIDTHS = [(32, 16), (16, 8), (24, 12, 8), (16, 16, 8)]


def make_data(
    rows: int = 300, features: int = 12, folds: int = 1, task: Task = "regression", seed: int = 0
) -> TrainData:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, features, generator=g)
    w = torch.randn(features, generator=g)
    signal = (
        torch.tanh(x @ w / features**0.5)
        + 0.3 * torch.sin(3 * x[:, 0])
        + 0.1 * torch.randn(rows, generator=g)
    )
    y = (signal > 0).float() if task == "binary" else signal
    parts: list[Fold] = []
    if folds == 1:
        cut = rows * 4 // 5
        parts.append(Fold(x[:cut], y[:cut], x[cut:], y[cut:]))
    else:
        size = rows // folds
        for f in range(folds):
            val = torch.zeros(rows, dtype=torch.bool)
            val[f * size : (f + 1) * size] = True
            parts.append(Fold(x[~val], y[~val], x[val], y[val]))
    return TrainData(task=task, folds=tuple(parts))


def make_specs(n: int = 20, seed: int = 7, widths: list[tuple[int, ...]] | None = None) -> list[TrialSpec]:
    g = torch.Generator().manual_seed(seed)
    shapes = widths or WIDTHS
    specs = []
    for i in range(n):
        u = torch.rand(3, generator=g).tolist()
        specs.append(
            TrialSpec(
                number=i,
                hidden=shapes[i % len(shapes)],
                lr=10 ** (-3.5 + 1.5 * u[0]),
                weight_decay=0.0 if i % 3 == 0 else 10 ** (-5 + 3 * u[1]),
                dropout=0.0 if i % 4 == 0 else 0.3 * u[2],
                seed=1_000_003 * seed + i,
            )
        )
    return specs


@dataclass
class Recorder:
    """Hooks that hand out a fixed list of specs and record everything the engine says."""

    specs: Iterable[TrialSpec]
    outcomes: dict[int, TrialOutcome] = field(default_factory=dict)
    points: list[EpochPoint] = field(default_factory=list)
    started_calls: list[tuple[int, int]] = field(default_factory=list)
    changes: list[tuple[int, str, int | None, int | None]] = field(default_factory=list)
    ooms: list[tuple[int, int, list[int]]] = field(default_factory=list)
    pauses: int = 0

    def __post_init__(self) -> None:
        self._queue = collections.deque(self.specs)

    def next_trial(self) -> TrialSpec | None:
        return self._queue.popleft() if self._queue else None

    def started(self, spec: TrialSpec, members: int) -> None:
        self.started_calls.append((spec.number, members))

    def progress(self, point: EpochPoint) -> None:
        self.points.append(point)

    def finished(self, outcome: TrialOutcome) -> None:
        assert outcome.spec.number not in self.outcomes, "a trial finished twice"
        self.outcomes[outcome.spec.number] = outcome

    def between_epochs(self) -> None:
        self.pauses += 1

    def concurrency_changed(
        self, concurrency: int, reason: Literal["oom", "measured"], peak: int | None, estimate: int | None
    ) -> None:
        self.changes.append((concurrency, reason, peak, estimate))

    def oom(self, members: int, concurrency: int, restarted: list[int]) -> None:
        self.ooms.append((members, concurrency, restarted))


def same_outcome(a: TrialOutcome, b: TrialOutcome) -> bool:
    """Bitwise: every fold's kept weights and validation predictions, and the epochs."""
    if (a.epochs, a.best_epoch, len(a.weights)) != (b.epochs, b.best_epoch, len(b.weights)):
        return False
    for wa, wb in zip(a.weights, b.weights, strict=True):
        if wa.keys() != wb.keys() or not all(torch.equal(wa[k], wb[k]) for k in wa):
            return False
    return all(
        (pa == pb).all() and pa.dtype == pb.dtype
        for pa, pb in zip(a.val_predictions, b.val_predictions, strict=True)
    )
