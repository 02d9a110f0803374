"""The worker process: JSON lines in on stdin, JSON lines out on stdout, logs on stderr.

It decides nothing about policy: it loads what the Engine names, encodes the
chunks it is handed, writes each chunk file atomically and reports it.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
import time
import traceback
from typing import Any

from headroom_runtime import __version__
from headroom_runtime.chunk_file import write_chunk
from headroom_runtime.errors import WorkerError
from headroom_runtime.parent_watch import watch_parent
from headroom_runtime.protocol import EventWriter, Message, ProtocolError, parse_command

PROTOCOL_VERSION = 1
log = logging.getLogger("headroom_runtime")


class Worker:
    def __init__(self, events: EventWriter) -> None:
        self.events = events
        self.inbox: queue.Queue[Message] = queue.Queue()
        self.running = threading.Event()
        self.running.set()
        self._models: dict[tuple[str, str, int | None], Any] = {}

    # Runs on the reader thread: pause and resume act at once, the rest is queued.
    def read_commands(self, stdin: Any) -> None:
        for line in stdin:
            if not line.strip():
                continue
            try:
                command = parse_command(line)
            except ProtocolError as exc:
                self.events.send(
                    {"type": "error", "code": "bad_message", "message": str(exc), "fatal": False}
                )
                continue
            if command["type"] == "pause":
                self.running.clear()
            elif command["type"] == "resume":
                self.running.set()
                self.events.send({"type": "resumed"})
            else:
                self.inbox.put(command)
        # stdin closed: finish what was asked, then leave. (A dead Engine is caught
        # sooner by the parent watch.)
        log.info("stdin closed")
        self.inbox.put({"type": "shutdown"})

    def serve(self) -> int:
        while True:
            command = self.inbox.get()
            kind = command["type"]
            if kind == "shutdown":
                self.events.send({"type": "done"})
                return 0
            try:
                if kind == "hello":
                    self.hello()
                elif kind == "encode":
                    self.encode(command)
            except WorkerError as exc:
                self.events.send({"type": "error", "code": exc.code, "message": exc.message, "fatal": True})
            except Exception as exc:
                log.error("%s failed:\n%s", kind, traceback.format_exc())
                message = f"{kind} failed: {type(exc).__name__}: {exc}"
                self.events.send({"type": "error", "code": "internal", "message": message, "fatal": True})

    def hello(self) -> None:
        import sentence_transformers
        import torch

        from headroom_runtime.devices import list_gpus

        self.events.send(
            {
                "type": "ready",
                "protocol": PROTOCOL_VERSION,
                "pid": os.getpid(),
                "python": sys.version.split()[0],
                "torch": torch.__version__,
                "sentenceTransformers": sentence_transformers.__version__,
                "cuda": bool(torch.cuda.is_available()),
                "devices": list_gpus(),
            }
        )

    def _model(self, spec: Message) -> Any:
        from headroom_runtime.encoder import load_model

        key = (spec["model"], spec["device"], spec["maxSeqLen"])
        if key not in self._models:
            loaded = load_model(spec["model"], spec["device"], spec["maxSeqLen"])
            self._models[key] = loaded
            self.events.send(
                {
                    "type": "model_loaded",
                    "model": spec["model"],
                    "source": loaded.resolved.source,
                    "device": loaded.device,
                    "dim": loaded.dim,
                    "maxSeqLen": loaded.max_seq_len,
                    "ms": round(loaded.load_ms, 3),
                }
            )
        return self._models[key]

    def encode(self, command: Message) -> None:
        from headroom_runtime.encoder import count_truncated, encode

        spec = command["spec"]
        loaded = self._model(spec)
        for chunk in command["chunks"]:
            if not self.running.is_set():
                self.events.send({"type": "paused"})
                self.running.wait()
            started = time.perf_counter()
            texts: list[str] = chunk["texts"]
            matrix = encode(loaded, texts, spec["batchSize"])
            digest = write_chunk(chunk["path"], matrix, chunk["index"])
            self.events.send(
                {
                    "type": "chunk_done",
                    "pass": spec["modelKey"],
                    "index": chunk["index"],
                    "rows": int(matrix.shape[0]),
                    "dim": int(matrix.shape[1]),
                    "sha256": digest,
                    "truncated": count_truncated(loaded, texts),
                    "ms": round((time.perf_counter() - started) * 1000, 3),
                }
            )


def main() -> int:
    logging.basicConfig(
        stream=sys.stderr,
        level=os.environ.get("HEADROOM_LOG_LEVEL", "INFO"),
        format=f"headroom-worker[{os.getpid()}] %(levelname)s %(message)s",
    )
    parent = os.environ.get("HEADROOM_PARENT_PID")
    watch_parent(int(parent) if parent else None)
    worker = Worker(EventWriter())
    threading.Thread(target=worker.read_commands, args=(sys.stdin,), name="stdin", daemon=True).start()
    log.info("headroom_runtime %s started", __version__)
    return worker.serve()
