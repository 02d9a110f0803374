"""What a job is to the runtime: the commands it answers, and what it may ask of the runtime.

A job package (``headroom_runtime/embed``, ...) holds its own state and exposes one
``JobEntry``; ``headroom_runtime/jobs.py`` lists the entries. The runtime's loop
sends each command to the job that claims its ``type``: ``queued`` handlers run one
at a time on the main thread, ``immediate`` ones on the reader thread as the line
arrives (settings that must act on work already in hand).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from headroom_runtime.core.protocol import EventWriter, Message

Handler = Callable[[Message], None]


class Context:
    """The runtime as a job sees it: the way out for events, the pause flag, the device in use."""

    def __init__(self, events: EventWriter) -> None:
        self.events = events
        self.running = threading.Event()  # cleared by `pause`, set by `resume`
        self.running.set()
        self.working = threading.Event()  # set while a command is in hand: memory events flow
        # Held while a memory event is taken and sent, and while `working` is cleared: once
        # stop_working() returns no memory event can follow (so `done` stays the last line).
        self.memory_lock = threading.Lock()
        self.device = "cpu"  # the device the memory events describe
        self.capacity: int | None = None  # bytes the runtime may use there (a cap, or the device)

    def send(self, message: Message) -> None:
        self.events.send(message)

    def error(self, code: str, message: str, fatal: bool, document: Any = None) -> None:
        self.send({"type": "error", "code": code, "message": message, "fatal": fatal, "document": document})

    def place(self, device: str, capacity: int | None) -> None:
        """The device (and the bytes on it) the runtime now works on, for the memory events."""
        self.device, self.capacity = device, capacity

    def wait_if_paused(self) -> None:
        """Where a job lets a pause take hold: reports `paused`, then blocks until `resume`."""
        if self.running.is_set():
            return
        self.stop_working()
        self.send({"type": "paused"})
        self.running.wait()
        self.working.set()

    def stop_working(self) -> None:
        """No memory event after this returns, until `working` is set again."""
        with self.memory_lock:
            self.working.clear()


class Job(Protocol):
    """One kind of work, created once per runtime process, holding its own state."""

    @property
    def queued(self) -> Mapping[str, Handler]: ...

    @property
    def immediate(self) -> Mapping[str, Handler]: ...


def _no_facts() -> Message:
    return {}


def _no_doctor(report: Message) -> None:
    return None


@dataclass(frozen=True)
class JobEntry:
    """One registration: how to make the job, and what it adds to `ready` and to the doctor."""

    name: str
    create: Callable[[Context], Job]
    # Fields of the `ready` event this job reports (its libraries' versions).
    ready: Callable[[], Message] = field(default=_no_facts)
    # Fills the job's facts into `headroom doctor`'s report; may raise (the doctor reports it).
    doctor: Callable[[Message], None] = field(default=_no_doctor)
