"""Protocol lines, validated against the schema derived from worker/src/contract/protocol.ts."""

from __future__ import annotations

import json
import sys
import threading
from functools import cache
from importlib import resources
from typing import Any, TextIO

from jsonschema import Draft202012Validator

from headroom_runtime.redact import redact_deep

Message = dict[str, Any]


class ProtocolError(ValueError):
    """A line that is not a valid protocol message."""


@cache
def _validators() -> tuple[Draft202012Validator, Draft202012Validator]:
    text = resources.files("headroom_runtime").joinpath("protocol.schema.json").read_text("utf-8")
    schema = json.loads(text)
    return (
        Draft202012Validator(schema["engineToWorker"]),
        Draft202012Validator(schema["workerToEngine"]),
    )


def _check(validator: Draft202012Validator, message: object, what: str) -> None:
    error = next(iter(validator.iter_errors(message)), None)
    if error is not None:
        kind = message.get("type") if isinstance(message, dict) else None
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise ProtocolError(f"{what} {kind!r} invalid at {where}: {error.message[:200]}")


def parse_command(line: str) -> Message:
    """Parse and validate one Engine -> worker line."""
    try:
        message = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"not JSON: {exc.msg} at column {exc.colno}") from None
    _check(_validators()[0], message, "command")
    assert isinstance(message, dict)
    return message


class EventWriter:
    """Writes worker -> Engine events, one validated JSON line each, thread-safe."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stdout
        self._lock = threading.Lock()

    def send(self, message: Message) -> None:
        message = redact_deep(message)  # the one way out of the worker: nothing secret passes
        _check(_validators()[1], message, "event")
        line = json.dumps(message, separators=(",", ":"), allow_nan=False)
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()
