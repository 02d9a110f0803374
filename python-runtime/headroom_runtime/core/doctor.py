"""Facts for `headroom doctor`, as one JSON object (never raises).

The runtime's own facts, then each registered job's (``JobEntry.doctor``); the
entry point is ``python -m headroom_runtime.doctor``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from headroom_runtime.core.job import JobEntry


def facts(jobs: Sequence[JobEntry]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "python": sys.version.split()[0],
        "torch": None,
        "cuda": False,
        "devices": [],
        "error": None,
    }
    try:
        import torch

        out["torch"] = torch.__version__
        out["cuda"] = bool(torch.cuda.is_available())
        if out["cuda"]:
            out["devices"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except Exception as exc:  # report, do not fail: the doctor's job is to say what is wrong
        out["error"] = f"{type(exc).__name__}: {exc}"
    for job in jobs:
        try:
            job.doctor(out)  # sets its keys (to None) before it can fail
        except Exception as exc:
            out["error"] = out["error"] or f"{type(exc).__name__}: {exc}"
    return out
