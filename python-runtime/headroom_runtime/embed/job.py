"""The embedding job: its commands (describe, pass_start, pass_end, encode,
set_policy) and its state (resident models, open passes, budget controllers).

It decides nothing about policy: it loads what the Engine names, encodes the
chunks it is handed with the batching the Engine sets, writes each chunk file
atomically and reports it, with its memory, batches and OOMs along the way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from headroom_runtime.core import memory
from headroom_runtime.core.job import Context, Handler
from headroom_runtime.core.protocol import Message
from headroom_runtime.embed import faults
from headroom_runtime.embed.batching import BudgetController
from headroom_runtime.embed.chunk_encoder import BatchSettings, OomPolicy, encode_chunk, probe_budget
from headroom_runtime.embed.chunk_file import write_chunk
from headroom_runtime.embed.encoder import LoadedModel
from headroom_runtime.embed.errors import DocumentTooLarge
from headroom_runtime.embed.fingerprint import fingerprint
from headroom_runtime.embed.guard import VramGuard
from headroom_runtime.embed.model_info import embedding_dim, weight_bytes
from headroom_runtime.embed.models import resolve_model

LoadKey = tuple[str, str, int | None, int | None]


class GcShare:
    """Full garbage collections for the baselines, kept under SHARE of the runtime's time: the
    first baseline is after a full collection, later ones too once the time since allows it;
    in between, the young generations only (a noisier baseline the detector's median slope
    tolerates, at no cost)."""

    SHARE = 0.05

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.spent = 0.0

    def full_now(self) -> bool:
        return self.spent <= self.SHARE * (time.perf_counter() - self.started)

    def spend(self, seconds: float) -> None:
        self.spent += seconds


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


class EmbedJob:
    def __init__(self, context: Context) -> None:
        self.context = context
        # set_policy is the one channel of the OOM policy: sent once ready, and on each change
        self.oom_policy: OomPolicy = "fail"
        self._models: dict[LoadKey, LoadedModel] = {}
        self._passes: dict[str, OpenPass] = {}
        self._controllers: dict[str, BudgetController] = {}
        self._guard: VramGuard | None = None  # one per runtime: a crossing is this process's
        self._gc = GcShare()

    @property
    def queued(self) -> Mapping[str, Handler]:
        return {
            "describe": lambda command: self.describe(command["specs"]),
            "pass_start": lambda command: self.pass_start(command["spec"]),
            "pass_end": lambda command: self.pass_end(command["modelKey"], command["release"]),
            "encode": self.encode,
        }

    @property
    def immediate(self) -> Mapping[str, Handler]:
        return {"set_policy": self.set_policy}

    def set_policy(self, command: Message) -> None:
        """On the reader thread: the next batch of the work in hand meets the new policy."""
        self.oom_policy = command["oomPolicy"]
        self.context.send({"type": "policy_set", "oomPolicy": command["oomPolicy"]})

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
        self.context.send({"type": "described", "models": models})

    def _model(self, spec: Message) -> tuple[LoadedModel, bool]:
        """The resident model for ``spec``, loading it if needed; True when it was loaded now."""
        from headroom_runtime.embed.encoder import load_model

        key = load_key(spec)
        if key in self._models:
            return self._models[key], False
        loaded = load_model(spec["model"], spec["device"], spec["maxSeqLen"], spec["vramLimit"])
        self._models[key] = loaded
        self.context.place(loaded.device, loaded.capacity)
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
        self.context.send(
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
            self.context.error(
                "bad_message", f"pass_end for {model_key!r}, which has no open pass", fatal=False
            )
            return
        if release:
            # Drop every copy of this model (its CPU fallback too), then give the memory back.
            name = open_pass.spec["model"]
            for key in [k for k in self._models if k[0] == name]:
                del self._models[key]
            memory.release(open_pass.device)
            self._send_baseline(open_pass.device, model_key, None)
        self.context.send(
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
            self.context.send(message)

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
            self.context.send({"type": "probe", **probe, "budget": budget, "ms": ms})
        controller = BudgetController(
            budget=budget,
            max_budget=max_budget,
            target_fraction=batching["targetMemory"],
            capacity=loaded.capacity,
        )
        self._controllers[key] = controller
        return controller

    def _send_baseline(self, device: str, model_key: str, chunk: int | None) -> None:
        """The leak detector's figure, after clean-up between units (memory.baseline)."""
        full = self._gc.full_now()
        started = time.perf_counter()
        figure = memory.baseline(device, full)
        if full:
            self._gc.spend(time.perf_counter() - started)
        if figure is not None:
            self.context.send({"type": "baseline", "bytes": figure, "model": model_key, "chunk": chunk})

    def _guard_after(self, loaded: LoadedModel, min_docs: int) -> Callable[[BudgetController, int], None]:
        guard = self._guard
        assert guard is not None

        def pause() -> None:
            self.context.running.clear()  # as a `pause` command: takes hold before the next batch

        def after_batch(controller: BudgetController, width: int) -> None:
            used, total = memory.used(loaded.device, loaded.capacity)
            event = guard.check(
                used,
                total,
                controller,
                floor=min(controller.budget, min_docs * width),
                release=lambda: memory.release(loaded.device),
                pause=pause,
            )
            if event is not None:
                self.context.send(event)

        return after_batch

    def encode(self, command: Message) -> None:
        spec, batching = command["spec"], command["batching"]
        loaded = self._model(spec)[0]
        emit = self._emit_for(spec["modelKey"])
        fixed = batching["mode"] == "fixed"
        if self._guard is None:
            self._guard = VramGuard.of(batching)
        else:
            self._guard.set_levels(batching)
        min_docs = batching["batchSize"] if fixed else batching["minBatch"]
        settings = BatchSettings(
            min_docs=min_docs,
            max_docs=batching["batchSize"] if fixed else batching["maxBatch"],
            oom_policy=self.oom_policy,
            between_batches=self.context.wait_if_paused,
            after_batch=self._guard_after(loaded, min_docs),
        )
        for chunk in command["chunks"]:
            self.context.wait_if_paused()
            started = time.perf_counter()
            texts: list[str] = chunk["texts"]
            controller = self._controller(spec, batching, loaded, texts)
            settings.oom_policy = self.oom_policy
            try:
                matrix, stats = encode_chunk(
                    loaded, texts, settings, controller, emit, lambda: self._cpu_model(spec)
                )
            except DocumentTooLarge as exc:
                exc.document = {"chunk": chunk["index"], "row": exc.row, "tokens": exc.tokens}
                raise
            digest = write_chunk(chunk["path"], matrix, chunk["index"])
            if spec["modelKey"] in self._passes:
                self._passes[spec["modelKey"]].rows += int(matrix.shape[0])
            self.context.send(
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
            faults.maybe_leak(loaded.device)
            self._send_baseline(loaded.device, spec["modelKey"], chunk["index"])
