"""Errors the runtime reports as ``error`` events.

Each class's ``code`` is one of the contract's error codes, read from the
schema: a class whose code the schema does not list fails at import.
"""

from __future__ import annotations

from typing import Any, ClassVar

from headroom_runtime.core.schema import ERROR_CODES


class ReportedError(Exception):
    """A failure the runtime reports to the Engine (``error`` event) instead of crashing."""

    code: ClassVar[str] = "internal"
    # What the failure is about (a chunk, a row), when the job can say: the event's `document`.
    document: dict[str, Any] | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.code not in ERROR_CODES:
            raise TypeError(
                f"{cls.__name__}.code {cls.code!r} is not an error code of the schema: {ERROR_CODES}"
            )

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ModelNotFound(ReportedError):
    code = "model_not_found"


class BadModel(ReportedError):
    code = "bad_model"


class BadDevice(ReportedError):
    code = "bad_device"


class BadSpec(ReportedError):
    code = "bad_spec"


class RecycleRuntime(ReportedError):
    """Memory that in-process clean-up cannot free: the Engine starts a fresh runtime."""

    code = "recycle"
