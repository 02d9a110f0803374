"""The worker process: JSON lines in on stdin, JSON lines out on stdout, logs on stderr.

It decides nothing about policy: it loads what the Engine names, encodes the
chunks it is handed with the batching the Engine sets, writes each chunk file
atomically and reports it, with its memory, batches and OOMs along the way.
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

from headroom_runtime import __version__, memory
from headroom_runtime.batching import BudgetController
from headroom_runtime.chunk_encoder import BatchSettings, OomPolicy, encode_chunk, probe_budget
from headroom_runtime.chunk_file import write_chunk
from headroom_runtime.encoder import LoadedModel
from headroom_runtime.errors import DocumentTooLarge, WorkerError
from headroom_runtime.parent_watch import watch_parent
from headroom_runtime.protocol import EventWriter, Message, ProtocolError, parse_command

PROTOCOL_VERSION = 1
MEMORY_EVERY_S = 0.25  # the contract promises one a second while working: margin for GIL stalls
log = logging.getLogger("headroom_runtime")


class Worker:
    def __init__(self, events: EventWriter) -> None:
        self.events = events
        self.inbox: queue.Queue[Message] = queue.Queue()
        self.running = threading.Event()
        self.running.set()
        self.working = threading.Event()
        self.oom_policy: OomPolicy | None = None  # set_policy overrides the encode command's
        self._models: dict[tuple[str, str, int | None, int | None], LoadedModel] = {}
        self._controllers: dict[str, BudgetController] = {}
        self._device = "cpu"
        self._capacity: int | None = None

    # Runs on the reader thread: pause, resume and set_policy act at once, the rest is queued.
    def read_commands(self, stdin: Any) -> None:
        for line in stdin:
            if not line.strip():
                continue
            try:
                command = parse_command(line)
            except ProtocolError as exc:
                self.error("bad_message", str(exc), fatal=False)
                continue
            if command["type"] == "pause":
                self.running.clear()
            elif command["type"] == "resume":
                self.running.set()
                self.events.send({"type": "resumed"})
            elif command["type"] == "set_policy":
                self.oom_policy = command["oomPolicy"]
                self.events.send({"type": "policy_set", "oomPolicy": command["oomPolicy"]})
            else:
                self.inbox.put(command)
        # stdin closed: finish what was asked, then leave. (A dead Engine is caught
        # sooner by the parent watch.)
        log.info("stdin closed")
        self.inbox.put({"type": "shutdown"})

    def report_memory(self) -> None:
        """Runs on its own thread: memory figures while there is work in hand."""
        while True:
            self.working.wait()
            try:
                self.events.send({"type": "memory", **memory.sample(self._device, self._capacity)})
            except Exception as exc:  # a figure we cannot read must not stop the work
                log.warning("memory sample failed: %s", exc)
            time.sleep(MEMORY_EVERY_S)

    def error(self, code: str, message: str, fatal: bool, document: Any = None) -> None:
        self.events.send(
            {"type": "error", "code": code, "message": message, "fatal": fatal, "document": document}
        )

    def serve(self) -> int:
        while True:
            command = self.inbox.get()
            kind = command["type"]
            if kind == "shutdown":
                self.events.send({"type": "done"})
                return 0
            self.working.set()
            try:
                if kind == "hello":
                    self.hello()
                elif kind == "load":
                    self._model(command["spec"])
                elif kind == "encode":
                    self.encode(command)
            except DocumentTooLarge as exc:
                document = {"chunk": command["chunks"][0]["index"], "row": exc.row, "tokens": exc.tokens}
                self.error(exc.code, exc.message, fatal=True, document=document)
            except WorkerError as exc:
                self.error(exc.code, exc.message, fatal=True)
            except Exception as exc:
                log.error("%s failed:\n%s", kind, traceback.format_exc())
                self.error("internal", f"{kind} failed: {type(exc).__name__}: {exc}", fatal=True)
            finally:
                self.working.clear()

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

    def _model(self, spec: Message) -> LoadedModel:
        from headroom_runtime.encoder import load_model

        key = (spec["model"], spec["device"], spec["maxSeqLen"], spec["vramLimit"])
        if key not in self._models:
            loaded = load_model(spec["model"], spec["device"], spec["maxSeqLen"], spec["vramLimit"])
            self._models[key] = loaded
            self._device, self._capacity = loaded.device, loaded.capacity
            free = memory.sample(loaded.device, loaded.capacity)["free"]
            self.events.send(
                {
                    "type": "model_loaded",
                    "model": spec["model"],
                    "source": loaded.resolved.source,
                    "device": loaded.device,
                    "deviceName": loaded.device_name,
                    "dtype": loaded.dtype,
                    "dim": loaded.dim,
                    "maxSeqLen": loaded.max_seq_len,
                    "capacity": loaded.capacity,
                    "free": free,
                    "ms": round(loaded.load_ms, 3),
                }
            )
        return self._models[key]

    def _cpu_model(self, spec: Message) -> LoadedModel:
        return self._model({**spec, "device": "cpu", "vramLimit": None})

    def _controller(
        self, spec: Message, batching: Message, loaded: LoadedModel, texts: list[str]
    ) -> BudgetController:
        key = spec["modelKey"]
        if key in self._controllers:
            return self._controllers[key]
        max_budget = batching["maxBatch"] * loaded.max_seq_len
        started = time.perf_counter()
        if batching["mode"] == "fixed":
            budget, probe = batching["batchSize"] * loaded.max_seq_len, None
        elif batching["maxBatchTokens"] is not None:
            budget = max_budget = batching["maxBatchTokens"]
            probe = {"method": "pinned", "tokens": 0, "peak": None}
        elif batching["initialBudget"] is not None:
            budget, probe = min(max_budget, batching["initialBudget"]), None
        else:
            budget, probe = probe_budget(loaded, texts, batching["targetMemory"], loaded.capacity, max_budget)
        if probe is not None:
            ms = round((time.perf_counter() - started) * 1000, 3)
            self.events.send({"type": "probe", **probe, "budget": budget, "ms": ms})
        controller = BudgetController(
            budget=budget,
            max_budget=max_budget,
            target_fraction=batching["targetMemory"],
            capacity=loaded.capacity,
        )
        self._controllers[key] = controller
        return controller

    def encode(self, command: Message) -> None:
        spec, batching = command["spec"], command["batching"]
        loaded = self._model(spec)
        fixed = batching["mode"] == "fixed"
        settings = BatchSettings(
            min_docs=batching["batchSize"] if fixed else batching["minBatch"],
            max_docs=batching["batchSize"] if fixed else batching["maxBatch"],
            oom_policy=self.oom_policy or batching["oomPolicy"],
        )
        for chunk in command["chunks"]:
            if not self.running.is_set():
                self.events.send({"type": "paused"})
                self.working.clear()
                self.running.wait()
                self.working.set()
            started = time.perf_counter()
            texts: list[str] = chunk["texts"]
            controller = self._controller(spec, batching, loaded, texts)
            settings.oom_policy = self.oom_policy or batching["oomPolicy"]
            matrix, stats = encode_chunk(
                loaded, texts, settings, controller, self.events.send, lambda: self._cpu_model(spec)
            )
            digest = write_chunk(chunk["path"], matrix, chunk["index"])
            self.events.send(
                {
                    "type": "chunk_done",
                    "pass": spec["modelKey"],
                    "index": chunk["index"],
                    "rows": int(matrix.shape[0]),
                    "dim": int(matrix.shape[1]),
                    "sha256": digest,
                    "truncated": stats.truncated,
                    "ms": round((time.perf_counter() - started) * 1000, 3),
                    "stats": {
                        "batches": stats.batches,
                        "ooms": stats.ooms,
                        "realTokens": stats.real_tokens,
                        "paddedTokens": stats.padded_tokens,
                        "oomTruncated": stats.oom_truncated,
                        "cpuFallbacks": stats.cpu_fallbacks,
                        "encodeMs": round(stats.encode_ms, 3),
                        "budget": controller.proven,
                    },
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
    threading.Thread(target=worker.report_memory, name="memory", daemon=True).start()
    log.info("headroom_runtime %s started", __version__)
    return worker.serve()
