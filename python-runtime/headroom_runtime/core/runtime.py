"""The runtime process: JSON lines in on stdin, JSON lines out on stdout, logs on stderr.

It holds no job's state. It answers the generic commands itself (hello, pause,
resume, shutdown), hands every other command to the job that claims its type,
and keeps the proof of life (heartbeat) and the memory figures flowing.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
import time
import traceback
from collections.abc import Mapping, Sequence
from typing import Any

from headroom_runtime import __version__
from headroom_runtime.core import memory
from headroom_runtime.core.errors import ReportedError
from headroom_runtime.core.heartbeat import HEARTBEAT_EVERY_S
from headroom_runtime.core.job import Context, Handler, JobEntry
from headroom_runtime.core.parent_watch import watch_parent
from headroom_runtime.core.protocol import EventWriter, Message, ProtocolError, parse_command
from headroom_runtime.core.redact import RedactingFilter
from headroom_runtime.core.schema import COMMAND_TYPES, PROTOCOL_VERSION

MEMORY_EVERY_S = 0.25  # the contract promises one a second while working: margin for GIL stalls
# Proof of life, idle or busy, model loads included (HEARTBEAT_EVERY_S, core/heartbeat.py): the
# Engine calls a runtime silent for HEADROOM_HEARTBEAT_TIMEOUT_S (120 s by default) hung, and replaces it.
log = logging.getLogger("headroom_runtime")


def dispatch_table(
    core: Mapping[str, Handler], claims: Sequence[tuple[str, Mapping[str, Handler]]]
) -> dict[str, Handler]:
    """Command type -> handler; refuses a type the schema does not know or two owners of one."""
    table: dict[str, Handler] = {}
    owner: dict[str, str] = {}
    for name, handlers in [("core", core), *claims]:
        for kind, handler in handlers.items():
            if kind not in COMMAND_TYPES:
                raise ValueError(f"{name} claims command {kind!r}, which the protocol schema does not define")
            if kind in table:
                raise ValueError(f"command {kind!r} claimed by both {owner[kind]} and {name}")
            table[kind], owner[kind] = handler, name
    return table


class Runtime:
    def __init__(self, events: EventWriter, jobs: Sequence[JobEntry] = ()) -> None:
        self.context = Context(events)
        self.entries = tuple(jobs)
        self.inbox: queue.Queue[Message] = queue.Queue()
        self.closing = threading.Event()  # ends the heartbeat
        self._heartbeat: threading.Thread | None = None
        made = [(entry.name, entry.create(self.context)) for entry in self.entries]
        self.queued = dispatch_table({"hello": self.hello}, [(name, job.queued) for name, job in made])
        self.immediate = dispatch_table(
            {"pause": self.pause, "resume": self.resume}, [(name, job.immediate) for name, job in made]
        )
        both = set(self.queued) & set(self.immediate)
        if both:
            raise ValueError(f"commands claimed both queued and immediate: {sorted(both)}")

    @property
    def handled(self) -> set[str]:
        """Every command type this runtime answers (shutdown is the loop's own)."""
        return {*self.queued, *self.immediate, "shutdown"}

    # Runs on the reader thread: immediate commands act at once, the rest is queued.
    def read_commands(self, stdin: Any) -> None:
        for line in stdin:
            if not line.strip():
                continue
            try:
                command = parse_command(line)
            except ProtocolError as exc:
                self.context.error("bad_message", str(exc), fatal=False)
                continue
            handler = self.immediate.get(command["type"])
            if handler is not None:
                handler(command)
            else:
                self.inbox.put(command)
        # stdin closed: finish what was asked, then leave. (A dead Engine is caught
        # sooner by the parent watch.)
        log.info("stdin closed")
        self.inbox.put({"type": "shutdown"})

    def pause(self, command: Message) -> None:
        self.context.running.clear()

    def resume(self, command: Message) -> None:
        self.context.running.set()
        self.context.send({"type": "resumed"})

    def report_memory(self) -> None:
        """Runs on its own thread: memory figures while there is work in hand."""
        context = self.context
        while True:
            context.working.wait()
            with context.memory_lock:
                if context.working.is_set():  # the work may have ended while this thread woke
                    try:
                        context.send({"type": "memory", **memory.sample(context.device, context.capacity)})
                    except Exception as exc:  # a figure we cannot read must not stop the work
                        log.warning("memory sample failed: %s", exc)
            time.sleep(MEMORY_EVERY_S)

    def start_heartbeat(self) -> None:
        self._heartbeat = threading.Thread(target=self.heartbeat, name="heartbeat", daemon=True)
        self._heartbeat.start()

    def stop_heartbeat(self) -> None:
        """Before `done`, so that `done` stays the last line."""
        self.closing.set()
        if self._heartbeat is not None:
            self._heartbeat.join(timeout=5)

    def heartbeat(self) -> None:
        """Runs on its own thread from start-up: only a stopped or wedged process falls silent."""
        while not self.closing.is_set():
            try:
                self.context.send({"type": "heartbeat"})
            except Exception as exc:  # a closed pipe: the parent watch ends the process
                log.warning("heartbeat failed: %s", exc)
            self.closing.wait(HEARTBEAT_EVERY_S)

    def serve(self) -> int:
        while True:
            command = self.inbox.get()
            kind = command["type"]
            if kind == "shutdown":
                self.stop_heartbeat()
                self.context.send({"type": "done"})
                return 0
            handler = self.queued.get(kind)
            if handler is None:
                self.context.error("bad_message", f"no job of this runtime answers {kind!r}", fatal=False)
                continue
            self.context.working.set()
            try:
                handler(command)
            except ReportedError as exc:
                self.context.error(exc.code, exc.message, fatal=True, document=exc.document)
            except Exception as exc:
                log.error("%s failed:\n%s", kind, traceback.format_exc())
                self.context.error("internal", f"{kind} failed: {type(exc).__name__}: {exc}", fatal=True)
            finally:
                self.context.stop_working()

    def hello(self, command: Message) -> None:
        import torch

        from headroom_runtime.core.devices import list_gpus

        ready: Message = {
            "type": "ready",
            "protocol": PROTOCOL_VERSION,
            "pid": os.getpid(),
            "python": sys.version.split()[0],
            "torch": torch.__version__,
        }
        for entry in self.entries:
            ready.update(entry.ready())
        ready.update({"cuda": bool(torch.cuda.is_available()), "devices": list_gpus()})
        self.context.send(ready)


def main(jobs: Sequence[JobEntry]) -> int:
    logging.basicConfig(
        stream=sys.stderr,
        level=os.environ.get("HEADROOM_LOG_LEVEL", "INFO"),
        format=f"headroom-runtime[{os.getpid()}] %(levelname)s %(message)s",
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter())
    parent = os.environ.get("HEADROOM_PARENT_PID")
    watch_parent(int(parent) if parent else None)
    runtime = Runtime(EventWriter(), jobs)
    runtime.start_heartbeat()
    threading.Thread(target=runtime.read_commands, args=(sys.stdin,), name="stdin", daemon=True).start()
    threading.Thread(target=runtime.report_memory, name="memory", daemon=True).start()
    log.info(
        "headroom_runtime %s started (jobs: %s)", __version__, ", ".join(e.name for e in runtime.entries)
    )
    return runtime.serve()
