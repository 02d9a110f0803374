"""The trials job's reported errors (codes from the protocol schema)."""

from __future__ import annotations

from headroom_runtime.core.errors import ReportedError


class BadInput(ReportedError):
    """The data, target or space is unusable; the message names the file, column or key."""

    code = "bad_input"


class TrainFailed(ReportedError):
    """Training failed for a reason other than memory."""

    code = "train_failed"
