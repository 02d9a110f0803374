"""Proof of life, shared by the runtime and the tree workers: a line each second from a
thread of its own, idle or busy, so that only a stopped or wedged process falls silent.

Whoever reads a process's lines calls it hung once it has been silent past
HEADROOM_HEARTBEAT_TIMEOUT_S (120 s by default): the Engine for the runtime
(worker/src/supervisor/runtimeProcess.ts), the tree pool for its workers
(trials/trees/pool.py). heartbeat_timeout_s() reads it with the Engine's bounds.
This module imports nothing heavy: a tree worker must not pay for torch.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Mapping

HEARTBEAT_EVERY_S = 1.0
HEARTBEAT_TIMEOUT_ENV = "HEADROOM_HEARTBEAT_TIMEOUT_S"
DEFAULT_HEARTBEAT_TIMEOUT_S = 120.0
MAX_HEARTBEAT_TIMEOUT_S = 86_400.0
# Before its first line a process imports its libraries and says nothing: at least this long.
STARTUP_ALLOWANCE_S = 120.0


def heartbeat_timeout_s(env: Mapping[str, str] | None = None) -> float:
    """The silence that makes a process hung, in seconds: as heartbeatTimeoutMs() in
    runtimeProcess.ts reads it (above 0, at most 86400, rounded to the millisecond, 1 ms at least)."""
    raw = (os.environ if env is None else env).get(HEARTBEAT_TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_HEARTBEAT_TIMEOUT_S
    try:
        seconds = float(raw)
    except ValueError:
        seconds = float("nan")
    if not (0 < seconds <= MAX_HEARTBEAT_TIMEOUT_S):  # nan and inf fail too
        raise ValueError(
            f"{HEARTBEAT_TIMEOUT_ENV} must be a number of seconds above 0 (at most 86400), not {raw!r}"
        )
    return max(1, round(seconds * 1000)) / 1000


def start_heartbeat(
    send: Callable[[], None], stop: threading.Event, every: float = HEARTBEAT_EVERY_S
) -> threading.Thread:
    """Calls send() now and then every `every` seconds until stop is set (a failing send is
    ignored: a closed pipe means the parent is gone, and the parent watch ends the process)."""

    def loop() -> None:
        while not stop.is_set():
            with contextlib.suppress(Exception):
                send()
            stop.wait(every)

    thread = threading.Thread(target=loop, name="heartbeat", daemon=True)
    thread.start()
    return thread
