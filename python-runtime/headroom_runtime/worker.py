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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from headroom_runtime import __version__, memory
from headroom_runtime.batching import BudgetController
from headroom_runtime.chunk_encoder import BatchSettings, OomPolicy, encode_chunk, probe_budget
from headroom_runtime.chunk_file import write_chunk
from headroom_runtime.encoder import LoadedModel
from headroom_runtime.errors import DocumentTooLarge, WorkerError
from headroom_runtime.fingerprint import fingerprint
from headroom_runtime.model_info import embedding_dim, weight_bytes
from headroom_runtime.models import resolve_model
from headroom_runtime.parent_watch import watch_parent
from headroom_runtime.protocol import EventWriter, Message, ProtocolError, parse_command
from headroom_runtime.redact import RedactingFilter

PROTOCOL_VERSION = 1
MEMORY_EVERY_S = 0.25  # the contract promises one a second while working: margin for GIL stalls
# Proof of life, idle or busy, model loads included: the Engine calls a worker silent for
# HEADROOM_HEARTBEAT_TIMEOUT_S (120 s by default) hung, and replaces it.
HEARTBEAT_EVERY_S = 1.0
log = logging.getLogger("headroom_runtime")


LoadKey = tuple[str, str, int | None, int | None]


@dataclass
class OpenPass:
    """A pass between pass_start and pass_end: one model's share of the run."""

    spec: Message
    device: str
    started: float
    rows: int = 0
    peak: int | None = None  # GPU bytes, from the batches' peaks
    resident_peak: int = 0


def load_key(spec: Message) -> LoadKey:
    return (spec["model"], spec["device"], spec["maxSeqLen"], spec["vramLimit"])


class Worker:
    def __init__(self, events: EventWriter) -> None:
        self.events = events
        self.inbox: queue.Queue[Message] = queue.Queue()
        self.running = threading.Event()
        self.running.set()
        self.working = threading.Event()
        self.closing = threading.Event()  # ends the heartbeat
        self._heartbeat: threading.Thread | None = None
        self.oom_policy: OomPolicy | None = None  # set_policy overrides the encode command's
        self._models: dict[LoadKey, LoadedModel] = {}
        self._passes: dict[str, OpenPass] = {}
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
                self.events.send({"type": "heartbeat"})
            except Exception as exc:  # a closed pipe: the parent watch ends the process
                log.warning("heartbeat failed: %s", exc)
            self.closing.wait(HEARTBEAT_EVERY_S)

    def error(self, code: str, message: str, fatal: bool, document: Any = None) -> None:
        self.events.send(
            {"type": "error", "code": code, "message": message, "fatal": fatal, "document": document}
        )

    def serve(self) -> int:
        while True:
            command = self.inbox.get()
            kind = command["type"]
            if kind == "shutdown":
                self.stop_heartbeat()
                self.events.send({"type": "done"})
                return 0
            self.working.set()
            try:
                if kind == "hello":
                    self.hello()
                elif kind == "describe":
                    self.describe(command["specs"])
                elif kind == "pass_start":
                    self.pass_start(command["spec"])
                elif kind == "pass_end":
                    self.pass_end(command["modelKey"], command["release"])
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

    def describe(self, specs: list[Message]) -> None:
        models = []
        for spec in specs:
            resolved = resolve_model(spec["model"])
            models.append(
                {
                    "modelKey": spec["modelKey"],
                    "source": resolved.source,
                    "dim": embedding_dim(resolved.path),
                    "weightBytes": weight_bytes(resolved.path),
                    # checked by the Engine against run.json before any work
                    "fingerprint": fingerprint(resolved.path),
                }
            )
        self.events.send({"type": "described", "models": models})

    def _model(self, spec: Message) -> tuple[LoadedModel, bool]:
        """The resident model for ``spec``, loading it if needed; True when it was loaded now."""
        from headroom_runtime.encoder import load_model

        key = load_key(spec)
        if key in self._models:
            return self._models[key], False
        loaded = load_model(spec["model"], spec["device"], spec["maxSeqLen"], spec["vramLimit"])
        self._models[key] = loaded
        self._device, self._capacity = loaded.device, loaded.capacity
        resident = self._resident()
        for open_pass in self._passes.values():
            open_pass.resident_peak = max(open_pass.resident_peak, resident)
        return loaded, True

    def _resident(self) -> int:
        return sum(model.resident for model in self._models.values())

    def pass_start(self, spec: Message) -> None:
        loaded, fresh = self._model(spec)
        if not any(p.device == loaded.device for p in self._passes.values()):
            memory.reset_peak(loaded.device)  # a pass's GPU peak is its own
        self._passes[spec["modelKey"]] = OpenPass(
            spec, loaded.device, time.perf_counter(), resident_peak=self._resident()
        )
        self.events.send(
            {
                "type": "pass_started",
                "model": spec["modelKey"],
                "name": spec["model"],
                "source": loaded.resolved.source,
                "device": loaded.device,
                "deviceName": loaded.device_name,
                "dtype": loaded.dtype,
                "dim": loaded.dim,
                "maxSeqLen": loaded.max_seq_len,
                "capacity": loaded.capacity,
                "free": memory.sample(loaded.device, loaded.capacity)["free"],
                "loaded": fresh,
                "ms": round(loaded.load_ms, 3) if fresh else 0,
                "resident": self._resident(),
            }
        )

    def pass_end(self, model_key: str, release: bool) -> None:
        open_pass = self._passes.pop(model_key, None)
        if open_pass is None:
            self.error("bad_message", f"pass_end for {model_key!r}, which has no open pass", fatal=False)
            return
        if release:
            # Drop every copy of this model (its CPU fallback too), then give the memory back.
            name = open_pass.spec["model"]
            for key in [k for k in self._models if k[0] == name]:
                del self._models[key]
            memory.release(open_pass.device)
        self.events.send(
            {
                "type": "pass_completed",
                "model": model_key,
                "device": open_pass.device,
                "ms": round((time.perf_counter() - open_pass.started) * 1000, 3),
                "rows": open_pass.rows,
                "peak": open_pass.peak,
                "residentPeak": open_pass.resident_peak,
                "released": release,
            }
        )

    def _emit_for(self, model_key: str) -> Callable[[Message], None]:
        """Sends events, noting each batch's GPU peak against the open pass."""

        def emit(message: Message) -> None:
            open_pass = self._passes.get(model_key)
            if open_pass is not None and message["type"] == "batch" and message["peak"] is not None:
                open_pass.peak = max(open_pass.peak or 0, message["peak"])
            self.events.send(message)

        return emit

    def _cpu_model(self, spec: Message) -> LoadedModel:
        return self._model({**spec, "device": "cpu", "vramLimit": None})[0]

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

    def _wait_if_paused(self) -> None:
        if self.running.is_set():
            return
        self.events.send({"type": "paused"})
        self.working.clear()
        self.running.wait()
        self.working.set()

    def encode(self, command: Message) -> None:
        spec, batching = command["spec"], command["batching"]
        loaded = self._model(spec)[0]
        emit = self._emit_for(spec["modelKey"])
        fixed = batching["mode"] == "fixed"
        settings = BatchSettings(
            min_docs=batching["batchSize"] if fixed else batching["minBatch"],
            max_docs=batching["batchSize"] if fixed else batching["maxBatch"],
            oom_policy=self.oom_policy or batching["oomPolicy"],
            between_batches=self._wait_if_paused,
        )
        for chunk in command["chunks"]:
            self._wait_if_paused()
            started = time.perf_counter()
            texts: list[str] = chunk["texts"]
            controller = self._controller(spec, batching, loaded, texts)
            settings.oom_policy = self.oom_policy or batching["oomPolicy"]
            matrix, stats = encode_chunk(
                loaded, texts, settings, controller, emit, lambda: self._cpu_model(spec)
            )
            digest = write_chunk(chunk["path"], matrix, chunk["index"])
            if spec["modelKey"] in self._passes:
                self._passes[spec["modelKey"]].rows += int(matrix.shape[0])
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
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter())
    parent = os.environ.get("HEADROOM_PARENT_PID")
    watch_parent(int(parent) if parent else None)
    worker = Worker(EventWriter())
    worker.start_heartbeat()
    threading.Thread(target=worker.read_commands, args=(sys.stdin,), name="stdin", daemon=True).start()
    threading.Thread(target=worker.report_memory, name="memory", daemon=True).start()
    log.info("headroom_runtime %s started", __version__)
    return worker.serve()
