"""One sweep: the data and space checked, the study opened and reconciled, then an
engine trains trials that this module asks of Optuna (the `Hooks` of specs.py) until
exactly `spec.trials` are COMPLETE in the study.

Order of a finished trial: metrics, user_attrs and `tell` in the study, THEN
`trial_done` (the journal may lag the study after a crash, never lead it). Loss
curves are sampled: at most one `trial_progress` per PROGRESS_EVERY_S, each holding at
most MAX_POINTS points (one per trial and epoch, thinned when many trials run), so the
stream stays bounded whatever the concurrency.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState

from headroom_runtime.core.job import Context
from headroom_runtime.core.memory import apply_vram_limit
from headroom_runtime.core.protocol import Message
from headroom_runtime.trials import data as data_mod
from headroom_runtime.trials import metrics
from headroom_runtime.trials import study as study_mod
from headroom_runtime.trials.engines import choose_engine, engine_train
from headroom_runtime.trials.errors import BadInput, TrainFailed
from headroom_runtime.trials.space import Space, hidden_layers, parse_space, space_json, trial_spec
from headroom_runtime.trials.specs import (
    EngineName,
    EpochPoint,
    Fold,
    TrainConfig,
    TrainData,
    TrialOutcome,
    TrialSpec,
)

PROGRESS_EVERY_S = 0.1
MAX_POINTS = 200


@dataclass(frozen=True)
class Checked:
    """What trials_check and sweep both start from."""

    table: data_mod.Table
    space: Space
    source: str  # the data file's name, for messages


def check(spec: Message) -> Checked:
    """The data, target and space, loaded and checked; the split too (too few rows is an error)."""
    if spec["engine"] == "streams":
        from headroom_runtime.core.devices import resolve_device
        from headroom_runtime.trials.streams import NEEDS_CUDA

        device = resolve_device(spec["device"])
        if not device.startswith("cuda"):
            raise BadInput(NEEDS_CUDA.format(device=device))
    table = data_mod.load(spec["data"], spec["target"], spec["task"])
    source = Path(spec["data"]).name
    data_mod.split_indices(table, spec["folds"], spec["valFraction"], spec["seed"], source)
    return Checked(table, parse_space(spec["space"], spec["spaceSource"]), source)


def checked_event(checked: Checked) -> Message:
    return {
        "type": "trials_checked",
        "rows": int(checked.table.x.shape[0]),
        "features": int(checked.table.x.shape[1]),
        "task": checked.table.task,
        "metric": metrics.objective_name(checked.table.task),
        "space": space_json(checked.space),
    }


class ProgressSampler:
    """Buffers every epoch point; sends them in bounded, rate-limited batches."""

    def __init__(self, send: Callable[[Message], None], clock: Callable[[], float] = time.monotonic) -> None:
        self.send, self.clock = send, clock
        self.pending: dict[int, list[EpochPoint]] = {}
        self.last = -math.inf

    def add(self, point: EpochPoint) -> None:
        if math.isfinite(point.train) and math.isfinite(point.val):
            self.pending.setdefault(point.number, []).append(point)
        self.flush()

    def flush(self, force: bool = False) -> None:
        if not self.pending or (not force and self.clock() - self.last < PROGRESS_EVERY_S):
            return
        self.last = self.clock()
        per_trial = max(1, MAX_POINTS // len(self.pending))
        points: list[Message] = []
        for number, series in self.pending.items():
            if len(series) > per_trial:  # evenly spaced, the latest kept
                step = len(series) / per_trial
                series = [series[min(len(series) - 1, int((i + 1) * step) - 1)] for i in range(per_trial)]
            points.extend(
                {"number": number, "epoch": p.epoch, "train": p.train, "val": p.val} for p in series
            )
        self.pending.clear()
        # (more than MAX_POINTS only while more than MAX_POINTS trials run: one point each)
        self.send({"type": "trial_progress", "points": points})

    def trial_finished(self, number: int) -> None:
        """Sends what a finished trial has pending, so its curve ends before its trial_done."""
        if number in self.pending:
            self.flush(force=True)

    def restarted(self, numbers: list[int]) -> None:
        """After an OOM the trials' epochs count from 1 again: their unsent points are void."""
        for number in numbers:
            self.pending.pop(number, None)


def in_target_units(fold: Fold, values: np.ndarray) -> np.ndarray:
    """A fold's targets or predictions in the target's own units (a regression target trains standardised)."""
    return np.asarray(values, dtype=np.float64) * fold.target_scale + fold.target_mean


class Sweep:
    """The hooks an engine calls; one per `sweep` command."""

    def __init__(self, context: Context, spec: Message, run_dir: Path, journaled: set[int]) -> None:
        self.context, self.spec, self.run_dir, self.journaled = context, spec, run_dir, journaled
        self.progress_sampler = ProgressSampler(context.send)
        self.running: dict[int, optuna.Trial] = {}
        self.complete = 0
        self.failed = 0
        self.last_failure: str | None = None
        self.engine: EngineName = "batched"
        self.study: optuna.Study
        self.space: Space
        self.data: TrainData
        self.y_vals: list[np.ndarray]  # each fold's validation targets, on the CPU (for the metrics)

    # --- the sweep ---

    def run(self) -> None:
        import torch

        from headroom_runtime.core.devices import resolve_device

        spec = self.spec
        checked = check(spec)
        self.space = checked.space
        device = resolve_device(spec["device"])
        capacity = apply_vram_limit(device, spec["vramLimit"])
        self.context.place(device, capacity)
        self.data = data_mod.prepare(
            checked.table, spec["folds"], spec["valFraction"], spec["seed"], device, checked.source
        )
        self.y_vals = [in_target_units(fold, fold.y_val.cpu().numpy()) for fold in self.data.folds]
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.study = study_mod.open_study(self.run_dir, spec["sampler"], spec["seed"])
        reconciled = study_mod.reconcile(self.study, self.journaled, spec["seed"], self.space.keys())
        self.complete = reconciled.complete
        engine, why = choose_engine(spec["engine"], device)
        self.engine = engine
        concurrency, member, room, sized = self._concurrency(engine, device, capacity)
        why = f"{why}; {concurrency} at once: {sized}"
        self.context.send(
            {
                "type": "sweep_opened",
                "complete": self.complete,
                "failedStale": reconciled.failed_stale,
                "engine": engine,
                "engineWhy": why,
                "concurrency": concurrency,
                "memberBytes": member,
                "roomBytes": room,
                "device": device,
            }
        )
        for result in reconciled.recovered:  # told COMPLETE, but the journal lacks them
            self.context.send({"type": "trial_done", "result": result, "recovered": True})
        if self.complete < spec["trials"]:
            config = TrainConfig(
                epochs=spec["epochs"],
                patience=spec["patience"],
                device=device,
                concurrency=concurrency,
                room_bytes=room,
            )
            if device.startswith("cuda"):
                torch.cuda.reset_peak_memory_stats(device)
            engine_train(engine)(self.data, config, self)
        self.progress_sampler.flush(force=True)
        complete = len(self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
        if complete < spec["trials"]:
            raise TrainFailed(
                f"the sweep ended with {complete} of {spec['trials']} trials complete; "
                f"{self.failed} failed (last: {self.last_failure})"
            )
        self.context.send({"type": "sweep_done", "complete": complete})

    def _concurrency(
        self, engine: EngineName, device: str, capacity: int | None
    ) -> tuple[int, int, int | None, str]:
        """Members at once, bytes per member (widest shape), the room sized for, and why that many."""
        from headroom_runtime.trials.estimate import auto_concurrency, concurrency_for, member_bytes

        fold = self.data.folds[0]
        rows, features = int(fold.x_train.shape[0]), int(fold.x_train.shape[1])
        hidden = self.space["hidden"]
        choices = hidden.choices if isinstance(hidden, CategoricalDistribution) else ()
        member = max(member_bytes(hidden_layers(str(c)), rows, features) for c in choices)
        room: int | None = None
        if capacity is not None:
            import torch

            in_use = int(torch.cuda.memory_allocated(device))
            room = max(0, int(capacity * self.spec["targetMemory"]) - in_use)
        wanted = max(1, (self.spec["trials"] - self.complete) * len(self.data.folds))
        asked = self.spec["concurrency"]
        if engine == "serial":
            return 1, member, room, "the serial engine trains one at a time"
        if asked is not None:  # --vram-limit caps what was asked for
            if room is not None and self.spec["vramLimit"] is not None:
                capped = concurrency_for(room, member, asked)
                if capped < asked:
                    return capped, member, room, f"{asked} asked for, capped by --vram-limit"
            return asked, member, room, "as asked"
        concurrency = auto_concurrency(device, room, member, wanted)
        if room is None:
            return concurrency, member, room, "auto on a CPU"
        mib = 2**20
        sized = f"auto: {member / mib:.1f} MiB per member in {room / mib:.0f} MiB of room"
        return concurrency, member, room, sized

    # --- Hooks ---

    def next_trial(self) -> TrialSpec | None:
        if self.complete + len(self.running) >= self.spec["trials"] or self.failed > self.spec["trials"]:
            return None
        trial = self.study.ask(fixed_distributions=dict(self.space))
        seed = trial.user_attrs.get("seed")
        if seed is None:
            seed = study_mod.trial_seed(self.spec["seed"], trial.number)
            trial.set_user_attr("seed", seed)
        self.running[trial.number] = trial
        return trial_spec(trial.number, trial.params, int(seed))

    def started(self, spec: TrialSpec, members: int) -> None:
        self.context.send(
            {
                "type": "trial_started",
                "number": spec.number,
                "params": self.running[spec.number].params,
                "seed": spec.seed,
                "members": members,
            }
        )

    def progress(self, point: EpochPoint) -> None:
        self.progress_sampler.add(point)

    def between_epochs(self) -> None:
        self.progress_sampler.flush()
        self.context.wait_if_paused()

    def finished(self, outcome: TrialOutcome) -> None:
        number = outcome.spec.number
        trial = self.running.pop(number)
        self.progress_sampler.trial_finished(number)
        folds = zip(self.data.folds, outcome.val_predictions, strict=True)
        predictions = [in_target_units(fold, p) for fold, p in folds]
        scores = metrics.trial_metrics(self.data.task, self.y_vals, predictions)
        state: Literal["complete", "failed"] = "complete" if scores is not None else "failed"
        objective = metrics.objective_name(self.data.task)
        result: Message = {
            "number": number,
            "state": state,
            "params": dict(trial.params),
            "seed": outcome.spec.seed,
            "value": scores[objective] if scores is not None else None,
            "metrics": scores or {},
            "epochs": int(outcome.epochs),
            "bestEpoch": int(outcome.best_epoch),
            "ms": round(float(outcome.ms), 3),
            "peakBytes": outcome.peak_bytes,
            "peakSource": outcome.peak_source,
            "engine": self.engine,
            "message": None
            if scores is not None
            else "the predictions are not finite (the training diverged)",
        }
        for key in study_mod.RESULT_ATTRS:
            trial.set_user_attr(key, result[key])
        if scores is not None:
            self.study.tell(trial, result["value"])
            self.complete += 1
        else:
            trial.set_user_attr("fail_reason", result["message"])
            self.study.tell(trial, state=TrialState.FAIL)
            self.failed += 1
            self.last_failure = result["message"]
        self.context.send({"type": "trial_done", "result": result, "recovered": False})

    def concurrency_changed(
        self, concurrency: int, reason: Literal["oom", "measured"], peak: int | None, estimate: int | None
    ) -> None:
        self.context.send(
            {
                "type": "concurrency",
                "concurrency": concurrency,
                "reason": reason,
                "peak": peak,
                "estimate": estimate,
            }
        )

    def oom(self, members: int, concurrency: int, restarted: list[int]) -> None:
        self.progress_sampler.restarted(restarted)
        self.context.send(
            {"type": "trials_oom", "members": members, "concurrency": concurrency, "restarted": restarted}
        )
