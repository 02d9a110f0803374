"""The jobs this runtime runs: one registration line per job package."""

from __future__ import annotations

from headroom_runtime import embed, trials
from headroom_runtime.core.job import JobEntry

JOBS: tuple[JobEntry, ...] = (embed.JOB, trials.JOB)
