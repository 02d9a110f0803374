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
