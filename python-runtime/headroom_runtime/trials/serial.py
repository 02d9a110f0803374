"""The serial engine: one trial at a time, plain nn.Sequential(nn.Linear, nn.ReLU, nn.Dropout, ...,
nn.Linear) and torch.optim.Adam(lr, weight_decay): the baseline the batched engine is checked
against. Same initial values (init.py); dropout masks from torch's global RNG set to the member's
state right after init (saved and restored around each fold's step, so a trial's folds can train
epoch by epoch side by side); same early stopping, same hooks. `streams.py` runs the same members
on CUDA streams, with each member's own generator instead of the global RNG.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from headroom_runtime.trials.estimate import member_bytes
from headroom_runtime.trials.init import InitialState, dropout_generator
from headroom_runtime.trials.members import DeviceFold, Stopper, TrialRun, device_folds, loss_of, mean_point
from headroom_runtime.trials.specs import EpochPoint, Hooks, Task, TrainConfig, TrainData, TrialSpec


class GeneratorDropout(nn.Module):
    """nn.Dropout's arithmetic (bernoulli_(1-p), / (1-p), multiply) with masks from one generator."""

    def __init__(self, p: float, generator: torch.Generator) -> None:
        super().__init__()
        self.p = p
        self.generator = generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        noise = torch.empty_like(x).bernoulli_(1 - self.p, generator=self.generator)
        return x * noise.div_(1 - self.p)


def build_model(
    spec: TrialSpec, init: InitialState, device: str, generator: torch.Generator | None = None
) -> nn.Sequential:
    layers: list[nn.Module] = []
    last = len(init.weights) - 1
    for i, (w, b) in enumerate(zip(init.weights, init.biases, strict=True)):
        linear = nn.Linear(w.shape[1], w.shape[0], device=device)
        with torch.no_grad():
            linear.weight.copy_(w)
            linear.bias.copy_(b)
        layers.append(linear)
        if i < last:
            layers.append(nn.ReLU())
            layers.append(
                nn.Dropout(spec.dropout) if generator is None else GeneratorDropout(spec.dropout, generator)
            )
    return nn.Sequential(*layers)


@dataclass(eq=False)
class SerialMember:
    """One fold of one trial as a plain module and optimizer."""

    fold: int
    data: DeviceFold
    model: nn.Sequential
    optimizer: torch.optim.Adam
    stopper: Stopper
    rng_state: torch.Tensor | None  # the global RNG's state for this member (serial engine)
    best: dict[str, torch.Tensor] | None = None
    best_pred: torch.Tensor | None = None
    losses: tuple[float, float] = (0.0, 0.0)

    @classmethod
    def of(
        cls, trial: TrialRun, fold: int, data: DeviceFold, config: TrainConfig, own_generator: bool
    ) -> SerialMember:
        spec = trial.spec
        generator = dropout_generator(trial.init, config.device) if own_generator else None
        model = build_model(spec, trial.init, config.device, generator)
        optimizer = torch.optim.Adam(model.parameters(), lr=spec.lr, weight_decay=spec.weight_decay)
        rng_state = None
        if not own_generator:
            if config.device.startswith("cuda"):
                # CUDA masks cannot continue the CPU stream; seed the device RNG from it instead.
                rng_state = dropout_generator(trial.init, config.device).get_state()
            else:
                rng_state = trial.init.dropout_state.clone()
        return cls(fold, data, model, optimizer, Stopper(config.epochs, config.patience), rng_state)

    def _swap_rng(self, device: str) -> Callable[[], None]:
        if self.rng_state is None:
            return lambda: None
        cuda = device.startswith("cuda")
        saved = torch.cuda.get_rng_state(device) if cuda else torch.get_rng_state()
        if cuda:
            torch.cuda.set_rng_state(self.rng_state, device)
        else:
            torch.set_rng_state(self.rng_state)

        def back() -> None:
            if cuda:
                self.rng_state = torch.cuda.get_rng_state(device)
                torch.cuda.set_rng_state(saved, device)
            else:
                self.rng_state = torch.get_rng_state()
                torch.set_rng_state(saved)

        return back

    def epoch(self, task: Task, device: str) -> None:
        """One full-batch step, then validation and early stopping."""
        self.model.train()
        back = self._swap_rng(device)
        try:
            pred = self.model(self.data.x_train).squeeze(1)
            loss = loss_of(task, pred, self.data.y_train)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            self.optimizer.step()
        finally:
            back()
        self.model.eval()
        with torch.no_grad():
            val_pred = self.model(self.data.x_val).squeeze(1)
            val = loss_of(task, val_pred, self.data.y_val)
        train_loss, val_loss = float(loss.item()), float(val.item())
        self.losses = (train_loss, val_loss)
        if self.stopper.record(val_loss):
            self.best = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            self.best_pred = val_pred.detach().clone()


def run_trial(
    trial: TrialRun,
    folds: list[DeviceFold],
    data: TrainData,
    config: TrainConfig,
    progress: Callable[[EpochPoint], None],
    between_epochs: Callable[[], None],
    own_generator: bool = False,
) -> None:
    """Train one trial's folds epoch by epoch, side by side, until each has stopped."""
    cuda = config.device.startswith("cuda")
    features = int(data.folds[0].x_train.shape[1])
    measure = cuda and not own_generator  # streams: other threads share the allocator's counters
    if measure:
        torch.cuda.reset_peak_memory_stats(config.device)
    base = torch.cuda.memory_allocated(config.device) if measure else 0
    members = [SerialMember.of(trial, f, folds[f], config, own_generator) for f in range(trial.folds)]
    first = True
    while True:
        live = [m for m in members if not m.stopper.done]
        if not live:
            break
        if not first:
            between_epochs()
        first = False
        for m in live:
            m.epoch(data.task, config.device)
        progress(mean_point(trial.spec.number, max(m.stopper.epoch for m in live), [m.losses for m in live]))
    for m in members:
        assert m.best is not None and m.best_pred is not None
        trial.member_done(m.fold, m.stopper, m.best, m.best_pred)
        rows = int(m.data.x_train.shape[0])
        trial.peak[m.fold] = member_bytes(trial.spec.hidden, rows, features)
    if measure:
        peak = torch.cuda.max_memory_allocated(config.device) - base
        trial.peak = {0: int(peak)}
        trial.peak_measured = True


def train(data: TrainData, config: TrainConfig, hooks: Hooks) -> None:
    """Train every trial hooks.next_trial() hands out, one at a time."""
    folds = device_folds(data, config.device)
    first = True
    while True:
        spec = hooks.next_trial()
        if spec is None:
            return
        if not first:
            hooks.between_epochs()
        first = False
        trial = TrialRun.of(spec, data)
        trial.started = time.perf_counter()
        hooks.started(spec, trial.folds)
        run_trial(trial, folds, data, config, hooks.progress, hooks.between_epochs)
        hooks.finished(trial.outcome())
