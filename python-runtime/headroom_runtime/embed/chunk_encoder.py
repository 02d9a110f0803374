"""Encodes one chunk in token-budget batches, longest first, recovering from OOM.

Nothing is skipped: a batch that runs out of memory is retried, smaller, with
the same documents; only a document that does not fit alone meets the OOM
policy (fail, cpu, truncate). Outputs are put back in input order.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from headroom_runtime.core import memory
from headroom_runtime.core.errors import RecycleRuntime
from headroom_runtime.embed import faults
from headroom_runtime.embed.batching import BudgetController, longest_first, next_batch
from headroom_runtime.embed.encoder import LoadedModel, token_lengths
from headroom_runtime.embed.errors import DocumentTooLarge

OomPolicy = str  # one of schema.OOM_POLICIES (commands arrive validated against the schema)
Emit = Callable[[dict[str, Any]], None]

# Retries in a row with no progress (no batch done, no document settled by the policy):
# past this, in-process clean-up is not keeping up and the runtime is recycled. A document
# that does not fit alone is the OOM policy's case, never a sign of a runtime in a bad state.
RECYCLE_AFTER_OOMS = 8


@dataclass
class BatchSettings:
    min_docs: int
    max_docs: int
    oom_policy: OomPolicy
    # Called before each batch: where a pause takes hold (within one batch, not one chunk).
    between_batches: Callable[[], None] | None = None
    # Called after each batch that worked, with the batch's width in tokens: the VRAM guard.
    after_batch: Callable[[BudgetController, int], None] | None = None


@dataclass
class ChunkStats:
    batches: int = 0
    ooms: int = 0
    real_tokens: int = 0
    padded_tokens: int = 0
    truncated: int = 0  # longer than the model's max length (as sentence-transformers truncates)
    oom_truncated: int = 0  # shortened further by the `truncate` OOM policy
    cpu_fallbacks: int = 0
    encode_ms: float = 0.0


def _forward(loaded: LoadedModel, texts: list[str], fault_threshold: int | None, padded: int) -> Any:
    faults.maybe_raise_oom(padded, fault_threshold)
    return loaded.model.encode(
        texts,
        batch_size=len(texts),
        convert_to_numpy=True,
        show_progress_bar=False,
        normalize_embeddings=False,
    )


def encode_chunk(
    loaded: LoadedModel,
    texts: list[str],
    settings: BatchSettings,
    controller: BudgetController,
    emit: Emit,
    cpu_model: Callable[[], LoadedModel],
) -> tuple[npt.NDArray[np.float32], ChunkStats]:
    stats = ChunkStats()
    lengths, stats.truncated = token_lengths(loaded, texts)
    out = np.empty((len(texts), loaded.dim), dtype=np.float32)
    order = longest_first(lengths)
    fault_threshold = faults.oom_threshold()
    position = 0
    retry_cap: int | None = None  # after an OOM here: the next try is smaller than the failed one
    retries_in_a_row = 0
    while position < len(order):
        if settings.between_batches is not None:
            settings.between_batches()
        batch = next_batch(
            order,
            lengths,
            position,
            controller.budget,
            settings.min_docs,
            settings.max_docs,
            cap=retry_cap,
        )
        indices, width = list(batch.indices), batch.width
        padded = len(indices) * width
        batch_texts = [texts[i] for i in indices]
        memory.reset_peak(loaded.device)
        started = time.perf_counter()
        failure: str | None = None
        try:
            matrix = _forward(loaded, batch_texts, fault_threshold, padded)
        except Exception as exc:
            failure = memory.oom_kind(exc)
            if failure is None:
                raise  # any other error never shrinks the batch
        # Out of the except block: its traceback held the batch's tensors.
        if failure is not None:
            memory.release(loaded.device)
            stats.ooms += 1
            retries_in_a_row += len(indices) > 1
            controller.on_oom(padded)
            action = _recover_action(failure, len(indices), retries_in_a_row, settings.oom_policy)
            emit(
                {
                    "type": "oom",
                    "kind": failure,
                    "docs": len(indices),
                    "tokens": padded,
                    "budget": controller.budget,
                    "action": action,
                }
            )
            if action == "recycle":
                raise RecycleRuntime(
                    f"{failure}: {stats.ooms} OOM(s) in this chunk, {retries_in_a_row} retries in a row"
                )
            if action == "fail":
                row = indices[0]
                raise DocumentTooLarge(
                    f"document at row {row} of the chunk ({width} tokens) does not fit in memory "
                    "alone; choose --oom-policy cpu or truncate, or lower --max-seq-len",
                    row=row,
                    tokens=width,
                )
            if action in ("cpu", "truncate"):
                out[indices[0]] = _encode_single(loaded, texts[indices[0]], width, action, cpu_model)
                stats.cpu_fallbacks += action == "cpu"
                stats.oom_truncated += action == "truncate"
                position += 1
                retry_cap, retries_in_a_row = None, 0
                continue
            retry_cap = max(1, len(indices) // 2)
            continue
        ms = (time.perf_counter() - started) * 1000
        out[indices] = matrix
        peak = memory.batch_peak(loaded.device)
        controller.on_success(padded, peak)
        real = sum(lengths[i] for i in indices)
        stats.batches += 1
        stats.real_tokens += real
        stats.padded_tokens += padded
        stats.encode_ms += ms
        emit(
            {
                "type": "batch",
                "docs": len(indices),
                "tokens": real,
                "padded": padded,
                "ms": round(ms, 3),
                "peak": peak,
            }
        )
        position += len(indices)
        retry_cap, retries_in_a_row = None, 0
        if settings.after_batch is not None:
            settings.after_batch(controller, width)
    return out, stats


CPU_BUDGET = 8192  # padded tokens per batch on CPU, where memory gives no useful signal


def probe_budget(
    loaded: LoadedModel, texts: list[str], target_fraction: float, capacity: int | None, max_budget: int
) -> tuple[int, dict[str, Any]]:
    """A first budget when none was learned: on GPU, the bytes one token of the chunk's
    longest document costs, measured, scaled to the target memory; on CPU, a default."""
    lengths, _ = token_lengths(loaded, texts)
    if not loaded.device.startswith("cuda") or capacity is None:
        return min(CPU_BUDGET, max_budget), {"method": "cpu-default", "tokens": 0, "peak": None}
    longest = max(range(len(texts)), key=lambda i: lengths[i])
    memory.release(loaded.device)
    baseline = memory.sample(loaded.device, capacity)["allocated"] or 0
    memory.reset_peak(loaded.device)
    failed = False
    try:
        _forward(loaded, [texts[longest]], faults.oom_threshold(), lengths[longest])
    except Exception as exc:
        if memory.oom_kind(exc) is None:
            raise
        failed = True
    if failed:  # the longest document alone does not fit: the encode loop applies the policy
        memory.release(loaded.device)
        return lengths[longest], {"method": "measured", "tokens": lengths[longest], "peak": None}
    peak = memory.batch_peak(loaded.device) or baseline
    per_token = max(1.0, (peak - baseline) / max(1, lengths[longest]))
    room = max(0.0, target_fraction * capacity - baseline)
    budget = max(lengths[longest], min(max_budget, int(room / per_token)))
    return budget, {"method": "measured", "tokens": lengths[longest], "peak": peak}


def _recover_action(kind: str, docs: int, retries_in_a_row: int, policy: OomPolicy) -> str:
    if kind == "allocator_assert":
        return "recycle"
    if docs == 1:
        return policy  # however many such documents a chunk holds
    return "recycle" if retries_in_a_row > RECYCLE_AFTER_OOMS else "retry"


def _encode_single(
    loaded: LoadedModel, text: str, width: int, action: str, cpu_model: Callable[[], LoadedModel]
) -> npt.NDArray[np.float32]:
    """The `cpu` and `truncate` policies for a document that does not fit alone."""
    if action == "cpu":
        fallback = cpu_model()
        return np.asarray(fallback.model.encode([text], convert_to_numpy=True, show_progress_bar=False)[0])
    fault_threshold = faults.oom_threshold()
    original = loaded.model.max_seq_length
    length = width
    try:
        while length > 1:
            length //= 2
            loaded.model.max_seq_length = length
            try:
                return np.asarray(_forward(loaded, [text], fault_threshold, length)[0])
            except Exception as exc:
                if memory.oom_kind(exc) is None:
                    raise
            memory.release(loaded.device)
    finally:
        loaded.model.max_seq_length = original
    raise DocumentTooLarge("a document does not fit in memory even at 1 token", row=-1, tokens=width)
