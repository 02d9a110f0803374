"""Errors the worker reports as ``error`` events; ``code`` is a WorkerErrorCode of the contract."""

from __future__ import annotations


class WorkerError(Exception):
    code = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ModelNotFound(WorkerError):
    code = "model_not_found"


class BadModel(WorkerError):
    code = "bad_model"


class BadDevice(WorkerError):
    code = "bad_device"


class BadSpec(WorkerError):
    code = "bad_spec"


class DocumentTooLarge(WorkerError):
    """One document alone does not fit in memory and the OOM policy is `fail`."""

    code = "document_too_large"

    def __init__(self, message: str, row: int, tokens: int) -> None:
        super().__init__(message)
        self.row = row
        self.tokens = tokens


class RecycleWorker(WorkerError):
    """Memory that in-process clean-up cannot free: the Engine starts a fresh worker."""

    code = "recycle"
