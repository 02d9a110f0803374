"""A tree family's turn in a sweep: its workers planned (trees/plan.py), trials asked
of the family's study and handed to the workers (trees/pool.py), each finished trial
told before its `trial_done` is sent, as for the NN family."""

from __future__ import annotations

import os
import shutil
import subprocess

from headroom_runtime.core.job import Context
from headroom_runtime.core.protocol import Message
from headroom_runtime.trials import data as data_mod
from headroom_runtime.trials import metrics
from headroom_runtime.trials.family_study import FamilyStudy
from headroom_runtime.trials.trees.plan import (
    WorkerSlot,
    auto_gpu_workers,
    plan_workers,
    visible_gpus,
)
from headroom_runtime.trials.trees.pool import TreeDataSpec, TreeOutcome, TreeTrial, run_family


class TreeFamilyHooks:
    """The pool's hooks for one family: Optuna's ask and tell, the protocol's lines, pauses."""

    def __init__(self, context: Context, study: FamilyStudy, task: str) -> None:
        self.context, self.study, self.task = context, study, task

    def next_trial(self) -> TreeTrial | None:
        asked = self.study.ask()
        if asked is None:
            return None
        trial, seed = asked
        return TreeTrial(number=trial.number, params=dict(trial.params), seed=seed)

    def started(self, trial: TreeTrial, slot: WorkerSlot) -> None:
        self.context.send(
            {
                "type": "trial_started",
                "family": self.study.family,
                "number": trial.number,
                "params": trial.params,
                "seed": trial.seed,
                "members": 1,
            }
        )

    def finished(self, outcome: TreeOutcome) -> None:
        scores = outcome.metrics
        objective = metrics.objective_name(self.task)  # type: ignore[arg-type]
        ok = scores is not None and outcome.message is None
        result: Message = {
            "family": self.study.family,
            "number": outcome.number,
            "state": "complete" if ok else "failed",
            "params": self.study.params(outcome.number),
            "seed": outcome.seed,
            "value": scores[objective] if ok and scores is not None else None,
            "metrics": scores or {},
            "epochs": int(outcome.rounds),
            "bestEpoch": int(outcome.best_round),
            "ms": round(float(outcome.ms), 3),
            "peakBytes": outcome.peak_bytes,
            "peakSource": outcome.peak_source,
            "engine": "worker",
            "device": outcome.device,
            "message": None if ok else (outcome.message or "the predictions are not finite"),
        }
        self.study.tell(result)
        self.context.send({"type": "trial_done", "result": result, "recovered": False})

    def send(self, message: Message) -> None:
        self.context.send(message)

    def between_trials(self) -> None:
        self.context.wait_if_paused()


FAKE_FREE_MB = (
    "HEADROOM_FAKE_GPU_FREE_MB"  # test switch: each fake GPU's free memory (with HEADROOM_FAKE_GPUS)
)


class FirstTrialOnly:
    """Hooks that let one trial start: auto on a GPU sizes the pool from its measured peak."""

    def __init__(self, hooks: TreeFamilyHooks) -> None:
        self.hooks, self.given, self.peak = hooks, False, 0

    def next_trial(self) -> TreeTrial | None:
        if self.given:
            return None
        self.given = True
        return self.hooks.next_trial()

    def started(self, trial: TreeTrial, slot: WorkerSlot) -> None:
        self.hooks.started(trial, slot)

    def finished(self, outcome: TreeOutcome) -> None:
        self.peak = max(self.peak, outcome.peak_bytes or 0)
        self.hooks.finished(outcome)

    def send(self, message: Message) -> None:
        self.hooks.send(message)

    def between_trials(self) -> None:
        self.hooks.between_trials()


def free_bytes(gpu: int, fake: bool) -> int | None:
    """A GPU's free memory (nvidia-smi; the fake switch's figure for fake GPUs); None when unknown."""
    if fake:
        mb = os.environ.get(FAKE_FREE_MB)
        return int(float(mb) * 2**20) if mb else None
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        out = subprocess.run(
            [smi, f"--id={gpu}", "--query-gpu=memory.free", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
        return int(float(out.stdout.strip().splitlines()[0]) * 2**20)
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
        return None


def run_tree_family(context: Context, spec: Message, table: data_mod.Table, study: FamilyStudy) -> None:
    """Trains the family's trials; --device auto gives its workers every GPU (or the CPU)."""
    family = study.family
    gpus, fake = visible_gpus()
    # never more workers than trials left to train: each worker loads the library and the data
    left = max(1, spec["trials"] - study.complete)
    slots, why = plan_workers(
        family,
        spec["device"],
        spec["treeWorkers"],
        int(table.x.shape[0]),
        os.cpu_count() or 1,
        gpus,
        fake,
        most=left,
    )
    devices = sorted({slot.device for slot in slots})
    context.send(
        {
            "type": "sweep_opened",
            "family": family,
            "complete": study.complete,
            "failedStale": study.reconciled.failed_stale,
            "engine": "worker",
            "engineWhy": why,
            "concurrency": len(slots),
            "memberBytes": 0,
            "roomBytes": None,
            "device": ",".join(devices),
        }
    )
    for result in study.reconciled.recovered:
        context.send({"type": "trial_done", "result": result, "recovered": True})
    if study.complete >= spec["trials"]:
        return
    data = TreeDataSpec(
        data=spec["data"],
        target=spec["target"],
        task=table.task,
        folds=spec["folds"],
        val_fraction=spec["valFraction"],
        seed=spec["seed"],
    )
    hooks = TreeFamilyHooks(context, study, table.task)
    gpus_used = sorted({int(slot.visible_devices) for slot in slots if slot.device != "cpu"})
    if spec["treeWorkers"] is None and gpus_used and study.complete + 1 < spec["trials"]:
        # auto on a GPU: the first trial alone, then as many workers per GPU as its peak fits
        first = FirstTrialOnly(hooks)
        run_family(family, data, slots, first)
        frees = [free_bytes(gpu, fake) for gpu in gpus_used]
        known = [free for free in frees if free is not None]
        per_gpu = min(auto_gpu_workers(first.peak, free) for free in known) if known and first.peak else 1
        if per_gpu > 1:
            slots, why = plan_workers(
                family,
                spec["device"],
                per_gpu,
                int(table.x.shape[0]),
                os.cpu_count() or 1,
                gpus,
                fake,
                most=left - 1,
            )
            context.send(
                {
                    "type": "concurrency",
                    "concurrency": len(slots),
                    "reason": "measured",
                    "peak": first.peak,
                    "estimate": None,
                }
            )
    run_family(family, data, slots, hooks)
