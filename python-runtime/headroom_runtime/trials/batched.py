"""The batched engine: many members (trial x fold) trained as one model with stacked weights.

Members are bucketed by (exact hidden shape, fold): zero-padding different widths to the widest is
not bitwise neutral (facts, trials-measurements.md), bucketing is. In a bucket of K members:

- the fold's x is shared (expand, no copy); each hidden layer is torch.baddbmm(bias [K,1,out],
  x [K,N,in], W [K,out,in].transpose(1, 2)) then ReLU then dropout with each member's own mask, drawn from the
  member's own generator (a member with p=0 draws nothing);
- the 1-wide output layer is one torch.addmm per member (a 1-wide bmm at K=1 takes another
  kernel than at K>=2);
- each member's loss (mean over its rows) is summed for one backward; a batched Adam with
  per-member lr, weight decay and step count (adam.py) updates the stack.

So a member's weights and predictions are bitwise the same whatever its batch-mates and their
number (CPU, fixed thread count), and on a CPU bitwise equal to the serial engine's as well.

All buckets step one epoch in lockstep. After every epoch each member is evaluated on its fold's
validation part (no dropout) for early stopping; a finished member leaves its bucket (compacted
out: running finished members along costs 1.15x) and its slots are refilled from
hooks.next_trial(). A trial's F fold members are admitted together, when F slots are free.

Memory: on CUDA the first epoch's measured peak is compared with the estimate (estimate.py);
when fewer members fit config.room_bytes, concurrency is lowered. An OOM (real, or injected by
HEADROOM_FAULT_OOM_MEMBERS) halves the concurrency and restarts every unfinished member from its
initial state with the same seed, so results do not change.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Any

import torch

from headroom_runtime.trials import faults
from headroom_runtime.trials.adam import MomentState, adam_step
from headroom_runtime.trials.estimate import member_bytes
from headroom_runtime.trials.init import dropout_generator, linear_names
from headroom_runtime.trials.members import DeviceFold, Stopper, TrialRun, device_folds, loss_of, mean_point
from headroom_runtime.trials.specs import Hooks, Task, TrainConfig, TrainData


class _StackedLinear(torch.autograd.Function):
    """baddbmm(bias, x, W^T) for W [K,out,in], with the gradients computed the way autograd does
    for nn.Linear's addmm (mm_mat2_backward: grad^T @ x for a transposed weight), so each member's
    gradients are bitwise those of its own nn.Linear."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        return torch.baddbmm(bias, x, weight.transpose(1, 2))

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor, torch.Tensor]:
        x, weight = ctx.saved_tensors
        grad_x = torch.bmm(grad, weight) if ctx.needs_input_grad[0] else None
        grad_w = torch.bmm(grad.transpose(1, 2), x)
        return grad_x, grad_w, grad.sum(1, keepdim=True)


@dataclass(eq=False)
class _Member:
    trial: TrialRun
    fold: int
    estimate: int
    stopper: Stopper
    generator: torch.Generator | None = None
    best: list[torch.Tensor] | None = None  # the best epoch's parameters, bucket layout
    best_pred: torch.Tensor | None = None
    losses: tuple[float, float] = (0.0, 0.0)
    peak: int = 0


def _new_member(trial: TrialRun, fold: int, estimate: int, config: TrainConfig) -> _Member:
    member = _Member(trial, fold, estimate, Stopper(config.epochs, config.patience))
    if trial.spec.dropout > 0:
        member.generator = dropout_generator(trial.init, config.device)
    return member


@dataclass(eq=False)
class _Bucket:
    hidden: tuple[int, ...]
    fold: int
    members: list[_Member] = field(default_factory=list)
    # [W0, b0, W1, b1, ..., W_out, b_out]: every W in nn.Linear's layout [K,out,in] (baddbmm takes
    # its transpose: the same BLAS call as nn.Linear's addmm, measured bitwise equal; a contiguous
    # [K,in,out] is not, for some widths); hidden b [K,1,out]; b_out [K,1]
    params: list[torch.Tensor] = field(default_factory=list)
    moments: list[MomentState] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)

    def initial_rows(self, member: _Member, device: str) -> list[torch.Tensor]:
        init = member.trial.init
        rows: list[torch.Tensor] = []
        for i, (w, b) in enumerate(zip(init.weights, init.biases, strict=True)):
            rows += [w.clone(), b.view(1, -1) if i < len(self.hidden) else b.clone()]
        return [r.to(device) for r in rows]

    @torch.no_grad()
    def rebuild(self, keep: list[_Member], join: list[_Member], device: str) -> None:
        index = {id(m): i for i, m in enumerate(self.members)}
        kept = [index[id(m)] for m in keep]
        fresh = [self.initial_rows(m, device) for m in join]
        params: list[torch.Tensor] = []
        moments: list[MomentState] = []
        for j in range(2 * (len(self.hidden) + 1)):
            parts = [self.params[j][kept]] if kept else []
            avg = [self.moments[j].exp_avg[kept]] if kept else []
            sq = [self.moments[j].exp_avg_sq[kept]] if kept else []
            if fresh:
                new = torch.stack([rows[j] for rows in fresh])
                parts.append(new)
                avg.append(torch.zeros_like(new))
                sq.append(torch.zeros_like(new))
            params.append(torch.cat(parts).contiguous().requires_grad_())
            moments.append(MomentState(torch.cat(avg).contiguous(), torch.cat(sq).contiguous()))
        self.steps = [self.steps[i] for i in kept] + [0] * len(join)
        self.members = keep + join
        self.params, self.moments = params, moments

    def _forward(self, x: torch.Tensor, train: bool) -> list[torch.Tensor]:
        k = len(self.members)
        n = x.shape[0]
        h = x.unsqueeze(0).expand(k, n, x.shape[1])
        depth = len(self.hidden)
        dropout = train and any(m.generator is not None for m in self.members)
        for i in range(depth):
            w, b = self.params[2 * i], self.params[2 * i + 1]
            h = torch.relu(_StackedLinear.apply(h, w, b) if train else torch.baddbmm(b, h, w.transpose(1, 2)))
            if dropout:
                h = h * self._noise(n, self.hidden[i], h)
        w_out, b_out = self.params[2 * depth], self.params[2 * depth + 1]
        return [
            torch.addmm(b, hk, w.t()).squeeze(1)
            for hk, w, b in zip(h.unbind(0), w_out.unbind(0), b_out.unbind(0), strict=True)
        ]

    def _noise(self, rows: int, width: int, like: torch.Tensor) -> torch.Tensor:
        """Each member's dropout mask, as nn.Dropout draws it (bernoulli_(1-p), then / (1-p))."""
        masks = []
        for m in self.members:
            if m.generator is None:
                masks.append(torch.ones(rows, width, dtype=like.dtype, device=like.device))
            else:
                p = m.trial.spec.dropout
                noise = torch.empty(rows, width, dtype=like.dtype, device=like.device)
                noise.bernoulli_(1 - p, generator=m.generator)
                masks.append(noise.div_(1 - p))
        return masks[0].unsqueeze(0) if len(masks) == 1 else torch.stack(masks)  # K=1: no copy

    def step(self, fold: DeviceFold, task: Task) -> tuple[list[float], list[float], list[torch.Tensor]]:
        """One epoch: a full-batch Adam step, then validation. Train and val losses per member."""
        preds = self._forward(fold.x_train, train=True)
        losses = torch.stack([loss_of(task, p, fold.y_train) for p in preds])
        losses.sum().backward()  # type: ignore[no-untyped-call]
        self.steps = [s + 1 for s in self.steps]
        specs = [m.trial.spec for m in self.members]
        adam_step(
            self.params, self.moments, self.steps, [s.lr for s in specs], [s.weight_decay for s in specs]
        )
        for p in self.params:
            p.grad = None
        with torch.no_grad():
            val_preds = self._forward(fold.x_val, train=False)
            val = torch.stack([loss_of(task, p, fold.y_val) for p in val_preds])
        return losses.detach().tolist(), val.tolist(), val_preds

    @torch.no_grad()
    def member_params(self, row: int) -> list[torch.Tensor]:
        return [p[row].detach().clone() for p in self.params]

    def as_state_dict(self, params: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        """A member's parameters in nn.Sequential's names and nn.Linear's layout."""
        out: dict[str, torch.Tensor] = {}
        for i, name in enumerate(linear_names(self.hidden)):
            out[f"{name}.weight"] = params[2 * i].contiguous()
            out[f"{name}.bias"] = params[2 * i + 1].reshape(-1).contiguous()
        return out


class _Engine:
    def __init__(self, data: TrainData, config: TrainConfig, hooks: Hooks) -> None:
        self.data, self.config, self.hooks = data, config, hooks
        self.cuda = config.device.startswith("cuda")
        self.folds = device_folds(data, config.device)
        self.features = int(data.folds[0].x_train.shape[1])
        self.concurrency = max(1, config.concurrency)
        self.buckets: dict[tuple[tuple[int, ...], int], _Bucket] = {}
        self.pending: collections.deque[_Member] = collections.deque()
        self.trials: list[TrialRun] = []  # admitted, not yet finished
        self.oom_threshold = faults.oom_threshold()
        self.base = torch.cuda.memory_allocated(config.device) if self.cuda else 0
        self.probed = False

    @property
    def running(self) -> list[_Member]:
        return [m for b in self.buckets.values() for m in b.members]

    def _ask(self) -> bool:
        spec = self.hooks.next_trial()
        if spec is None:
            return False
        trial = TrialRun.of(spec, self.data)
        self.trials.append(trial)
        for f in range(trial.folds):
            rows = int(self.folds[f].x_train.shape[0])
            self.pending.append(
                _new_member(trial, f, member_bytes(spec.hidden, rows, self.features), self.config)
            )
        self.hooks.started(spec, trial.folds)
        return True

    def _fill(self, leaving: set[int]) -> None:
        """Compact out `leaving` (member ids), admit pending members and new trials into free slots."""
        joins: dict[tuple[tuple[int, ...], int], list[_Member]] = collections.defaultdict(list)
        count = len(self.running) - len(leaving)
        folds = len(self.data.folds)
        while True:
            free = self.concurrency - count
            if free <= 0:
                break
            if self.pending:
                m = self.pending.popleft()
                joins[(m.trial.spec.hidden, m.fold)].append(m)
                count += 1
                continue
            if (free >= folds or count == 0) and self._ask():
                continue
            break
        keys = set(joins) | {k for k, b in self.buckets.items() if any(id(m) in leaving for m in b.members)}
        for key in keys:
            bucket = self.buckets.get(key) or _Bucket(key[0], key[1])
            keep = [m for m in bucket.members if id(m) not in leaving]
            if not keep and not joins[key]:
                self.buckets.pop(key, None)
                continue
            bucket.rebuild(keep, joins[key], self.config.device)
            self.buckets[key] = bucket

    def run(self) -> None:
        self._fill(set())
        while self.buckets:
            try:
                self._epoch()
            except torch.OutOfMemoryError as error:
                self._oom(error)
                self._fill(set())
                continue
            leaving = self._account()
            self.hooks.between_epochs()
            self._fill(leaving)

    def _epoch(self) -> None:
        running = self.running
        faults.maybe_raise_oom(len(running), self.oom_threshold)
        if self.cuda:
            torch.cuda.reset_peak_memory_stats(self.config.device)
        for bucket in self.buckets.values():
            train, val, preds = bucket.step(self.folds[bucket.fold], self.data.task)
            for row, m in enumerate(bucket.members):
                m.losses = (train[row], val[row])
                if m.stopper.record(val[row]):
                    m.best = bucket.member_params(row)
                    m.best_pred = preds[row].detach().clone()
        if self.cuda:
            self._measure(running)
        else:
            for m in running:
                m.peak = m.estimate

    def _measure(self, running: list[_Member]) -> None:
        peak = torch.cuda.max_memory_allocated(self.config.device) - self.base
        estimate = sum(m.estimate for m in running)
        for m in running:
            m.peak = max(m.peak, peak * m.estimate // max(1, estimate))
            m.trial.peak_measured = True
        if self.probed or self.config.room_bytes is None or not running:
            return
        self.probed = True
        per_member = peak / len(running)
        fits = max(1, int(self.config.room_bytes // max(1.0, per_member)))
        if fits < self.concurrency:
            self.concurrency = fits
            self.hooks.concurrency_changed(fits, "measured", int(peak), int(estimate))

    def _account(self) -> set[int]:
        """Progress per trial, finished members out, finished trials reported. Leaving member ids."""
        leaving: set[int] = set()
        by_trial: dict[int, list[_Member]] = collections.defaultdict(list)
        for bucket in self.buckets.values():
            for m in bucket.members:
                by_trial[id(m.trial)].append(m)
                if m.stopper.done:
                    leaving.add(id(m))
                    assert m.best is not None and m.best_pred is not None
                    m.trial.member_done(m.fold, m.stopper, bucket.as_state_dict(m.best), m.best_pred)
                    m.trial.peak[m.fold] = m.peak
        for trial in list(self.trials):
            members = by_trial.get(id(trial))
            if members:
                epoch = max(m.stopper.epoch for m in members)
                self.hooks.progress(mean_point(trial.spec.number, epoch, [m.losses for m in members]))
            if trial.complete:
                self.trials.remove(trial)
                self.hooks.finished(trial.outcome())
        return leaving

    def _oom(self, error: torch.OutOfMemoryError) -> None:
        running = self.running
        new = min(self.concurrency, len(running)) // 2
        if new < 1:
            raise error
        restarted: list[_Member] = []
        numbers: list[int] = []
        for trial in self.trials:
            members = [m for m in running if m.trial is trial]
            if not members:
                continue
            numbers.append(trial.spec.number)
            for m in members:
                trial.forget(m.fold)
                trial.peak.pop(m.fold, None)
                restarted.append(_new_member(trial, m.fold, m.estimate, self.config))
        self.buckets.clear()
        if self.cuda:
            torch.cuda.empty_cache()
        self.pending = collections.deque(restarted + list(self.pending))
        self.concurrency = new
        self.hooks.oom(len(running), new, numbers)
        self.hooks.concurrency_changed(new, "oom", None, None)


def train(data: TrainData, config: TrainConfig, hooks: Hooks) -> None:
    """Train every trial hooks.next_trial() hands out; returns when none is running and none is left."""
    _Engine(data, config, hooks).run()
