"""The embedding job: models in, chunk files of embeddings out.

``JOB`` is its registration (listed in ``headroom_runtime/jobs.py``). This module
stays light (no torch) so that the doctor and ``python -m
headroom_runtime.embed.fingerprint`` start without loading the job.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from headroom_runtime.core.job import Context, JobEntry
from headroom_runtime.core.protocol import Message

if TYPE_CHECKING:
    from headroom_runtime.embed.job import EmbedJob


def create(context: Context) -> EmbedJob:
    from headroom_runtime.embed.job import EmbedJob

    return EmbedJob(context)


def ready_facts() -> Message:
    # The installed version, read without importing the library (seconds; a sweep's runtime never needs it).
    from importlib.metadata import version

    return {"sentenceTransformers": version("sentence-transformers")}


def doctor_facts(report: Message) -> None:
    report.setdefault("sentenceTransformers", None)
    report.setdefault("defaultModel", None)
    import sentence_transformers

    report["sentenceTransformers"] = sentence_transformers.__version__
    from headroom_runtime.embed.models import DEFAULT_MODEL, bundled_folder

    report["defaultModel"] = f"{DEFAULT_MODEL} at {bundled_folder(DEFAULT_MODEL)}"


JOB = JobEntry("embed", create, ready=ready_facts, doctor=doctor_facts)
