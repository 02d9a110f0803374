"""The trials job: a hyperparameter sweep of small MLPs, driven by Optuna, trained by
one of the engines (batched, serial, streams) of this package.

``JOB`` is its registration (listed in ``headroom_runtime/jobs.py``). This module stays
light (no torch, no Optuna) so that the doctor starts without loading the job.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from headroom_runtime.core.job import Context, JobEntry
from headroom_runtime.core.protocol import Message

if TYPE_CHECKING:
    from headroom_runtime.trials.job import TrialsJob


def create(context: Context) -> TrialsJob:
    from headroom_runtime.trials.job import TrialsJob

    return TrialsJob(context)


def doctor_facts(report: Message) -> None:
    report.setdefault("optuna", None)
    report.setdefault("treeLibraries", None)
    import optuna

    report["optuna"] = optuna.__version__
    from headroom_runtime.trials.trees.families import tree_doctor_facts

    tree_doctor_facts(report)  # each tree library's version, GPU build and fix; never raises


JOB = JobEntry("trials", create, doctor=doctor_facts)
