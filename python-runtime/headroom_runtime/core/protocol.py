"""Protocol lines, validated against the schema derived from worker/src/contract/protocol.ts."""

from __future__ import annotations

import json
import sys
import threading
from functools import cache
from typing import TYPE_CHECKING, Any, TextIO

from headroom_runtime.core.redact import redact_deep
from headroom_runtime.core.schema import section

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

Message = dict[str, Any]


class ProtocolError(ValueError):
    """A line that is not a valid protocol message."""


@cache
def _validators() -> tuple[Draft202012Validator, Draft202012Validator]:
    from jsonschema import Draft202012Validator  # on first use: the doctor starts without it

    return Draft202012Validator(section("command")), Draft202012Validator(section("event"))


def _check(validator: Draft202012Validator, message: object, what: str) -> None:
    error = next(iter(validator.iter_errors(message)), None)
    if error is not None:
        kind = message.get("type") if isinstance(message, dict) else None
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise ProtocolError(f"{what} {kind!r} invalid at {where}: {error.message[:200]}")


def parse_command(line: str) -> Message:
    """Parse and validate one Engine -> runtime line (a command)."""
    try:
        message = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"not JSON: {exc.msg} at column {exc.colno}") from None
    _check(_validators()[0], message, "command")
    assert isinstance(message, dict)
    return message


class EventWriter:
    """Writes runtime -> Engine events, one validated JSON line each, thread-safe."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stdout
        self._lock = threading.Lock()

    def send(self, message: Message) -> None:
        message = redact_deep(message)  # the one way out of the runtime: nothing secret passes
        _check(_validators()[1], message, "event")
        line = json.dumps(message, separators=(",", ":"), allow_nan=False)
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()
