"""One sweep: the data and spaces checked, then each family in the spec's order: its
study opened and reconciled, then an NN engine (the `Hooks` of specs.py, here) or the
family's tree workers (tree_family.py) train trials asked of Optuna until exactly
`spec.trials` are COMPLETE in that family's study.

Families run one after the other: each gets the whole machine (all cores, or the
GPUs), so its time per trial is its own and no family slows another's trials.

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
from optuna.distributions import CategoricalDistribution

from headroom_runtime.core.job import Context
from headroom_runtime.core.memory import apply_vram_limit
from headroom_runtime.core.protocol import Message
from headroom_runtime.trials import data as data_mod
from headroom_runtime.trials import metrics
from headroom_runtime.trials.engines import choose_engine, engine_train
from headroom_runtime.trials.errors import BadInput, TrainFailed
from headroom_runtime.trials.family_spaces import Spaces, parse_spaces, require_libraries, spaces_json
from headroom_runtime.trials.family_study import FamilyStudy
from headroom_runtime.trials.space import hidden_layers, trial_spec
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
    spaces: Spaces
    source: str  # the data file's name, for messages


def check(spec: Message) -> Checked:
    """The data, target, families and spaces, loaded and checked; the split too (too few rows is an error)."""
    from headroom_runtime.core.devices import resolve_device

    families = list(spec["families"])
    if spec["engine"] == "streams" and "nn" in families:
        from headroom_runtime.trials.streams import NEEDS_CUDA

        device = resolve_device(spec["device"])
        if not device.startswith("cuda"):
            raise BadInput(NEEDS_CUDA.format(device=device))
    if families != ["nn"]:
        require_libraries(families, resolve_device(spec["device"]))
    table = data_mod.load(spec["data"], spec["target"], spec["task"])
    source = Path(spec["data"]).name
    data_mod.split_indices(table, spec["folds"], spec["valFraction"], spec["seed"], source)
    return Checked(table, parse_spaces(families, spec["space"], spec["spaceSource"]), source)


def checked_event(checked: Checked) -> Message:
    return {
        "type": "trials_checked",
        "rows": int(checked.table.x.shape[0]),
        "features": int(checked.table.x.shape[1]),
        "task": checked.table.task,
        "metric": metrics.objective_name(checked.table.task),
        "spaces": spaces_json(checked.spaces),
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
    """Runs the families in turn; the NN family's engine hooks are this object's."""

    def __init__(
        self, context: Context, spec: Message, run_dir: Path, journaled: dict[str, set[int]]
    ) -> None:
        self.context, self.spec, self.run_dir, self.journaled = context, spec, run_dir, journaled
        self.progress_sampler = ProgressSampler(context.send)
        self.engine: EngineName = "batched"
        self.device = "cpu"
        self.nn: FamilyStudy
        self.data: TrainData
        self.y_vals: list[np.ndarray]  # each fold's validation targets, on the CPU (for the metrics)

    # --- the sweep ---

    def run(self) -> None:
        from headroom_runtime.core.devices import resolve_device

        spec = self.spec
        checked = check(spec)
        self.device = resolve_device(spec["device"])
        self.run_dir.mkdir(parents=True, exist_ok=True)
        complete = 0
        for family in spec["families"]:
            started = time.monotonic()
            study = FamilyStudy(
                self.run_dir,
                family,
                checked.spaces[family],
                spec["trials"],
                spec["sampler"],
                spec["seed"],
                self.journaled.get(family, set()),
            )
            if family == "nn":
                self._run_nn(checked, study)
            else:
                from headroom_runtime.trials.tree_family import run_tree_family

                run_tree_family(self.context, spec, checked.table, study)
            done = study.count_complete()
            if done < spec["trials"]:
                raise TrainFailed(
                    f"the {family} family ended with {done} of {spec['trials']} trials complete; "
                    f"{study.failed} failed (last: {study.last_failure})"
                )
            ms = (time.monotonic() - started) * 1000
            self.context.send({"type": "family_done", "family": family, "complete": done, "ms": round(ms, 3)})
            complete += done
        self.context.send({"type": "sweep_done", "complete": complete})

    def _run_nn(self, checked: Checked, study: FamilyStudy) -> None:
        import torch

        spec, device = self.spec, self.device
        self.nn = study
        capacity = apply_vram_limit(device, spec["vramLimit"])
        self.context.place(device, capacity)
        self.data = data_mod.prepare(
            checked.table, spec["folds"], spec["valFraction"], spec["seed"], device, checked.source
        )
        self.y_vals = [in_target_units(fold, fold.y_val.cpu().numpy()) for fold in self.data.folds]
        engine, why = choose_engine(spec["engine"], device)
        self.engine = engine
        concurrency, member, room, sized = self._concurrency(engine, device, capacity)
        self.context.send(
            {
                "type": "sweep_opened",
                "family": "nn",
                "complete": study.complete,
                "failedStale": study.reconciled.failed_stale,
                "engine": engine,
                "engineWhy": f"{why}; {concurrency} at once: {sized}",
                "concurrency": concurrency,
                "memberBytes": member,
                "roomBytes": room,
                "device": device,
            }
        )
        for result in study.reconciled.recovered:  # told COMPLETE, but the journal lacks them
            self.context.send({"type": "trial_done", "result": result, "recovered": True})
        if study.complete < spec["trials"]:
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

    def _concurrency(
        self, engine: EngineName, device: str, capacity: int | None
    ) -> tuple[int, int, int | None, str]:
        """Members at once, bytes per member (widest shape), the room sized for, and why that many."""
        from headroom_runtime.trials.estimate import auto_concurrency, concurrency_for, member_bytes

        fold = self.data.folds[0]
        rows, features = int(fold.x_train.shape[0]), int(fold.x_train.shape[1])
        hidden = self.nn.space["hidden"]
        choices = hidden.choices if isinstance(hidden, CategoricalDistribution) else ()
        member = max(member_bytes(hidden_layers(str(c)), rows, features) for c in choices)
        room: int | None = None
        if capacity is not None:
            import torch

            in_use = int(torch.cuda.memory_allocated(device))
            room = max(0, int(capacity * self.spec["targetMemory"]) - in_use)
        wanted = max(1, (self.spec["trials"] - self.nn.complete) * len(self.data.folds))
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

    # --- Hooks (the NN family's engine) ---

    def next_trial(self) -> TrialSpec | None:
        asked = self.nn.ask()
        if asked is None:
            return None
        trial, seed = asked
        return trial_spec(trial.number, trial.params, seed)

    def started(self, spec: TrialSpec, members: int) -> None:
        self.context.send(
            {
                "type": "trial_started",
                "family": "nn",
                "number": spec.number,
                "params": self.nn.params(spec.number),
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
        self.progress_sampler.trial_finished(number)
        folds = zip(self.data.folds, outcome.val_predictions, strict=True)
        predictions = [in_target_units(fold, p) for fold, p in folds]
        scores = metrics.trial_metrics(self.data.task, self.y_vals, predictions)
        objective = metrics.objective_name(self.data.task)
        result: Message = {
            "family": "nn",
            "number": number,
            "state": "complete" if scores is not None else "failed",
            "params": self.nn.params(number),
            "seed": outcome.spec.seed,
            "value": scores[objective] if scores is not None else None,
            "metrics": scores or {},
            "epochs": int(outcome.epochs),
            "bestEpoch": int(outcome.best_epoch),
            "ms": round(float(outcome.ms), 3),
            "peakBytes": outcome.peak_bytes,
            "peakSource": outcome.peak_source,
            "engine": self.engine,
            "device": self.device,
            "message": None
            if scores is not None
            else "the predictions are not finite (the training diverged)",
        }
        self.nn.tell(result)
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
