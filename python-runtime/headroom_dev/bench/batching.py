"""Batching benchmark, side by side in one process on a length-skewed real-text corpus:

  (a) fixed batches of 32 in input order (the field note's baseline)
  (b) sentence-transformers' own ``encode(batch_size=32)`` (sorts by length)
  (c) Headroom auto: token-budget batches, longest first, chunks of 1000

Reports documents/s, tokens/s, the fraction of real (not padding) tokens, and on a
known GPU the model FLOP utilisation. Usage:

  python -m headroom_dev.bench.batching --corpus .headroom/demo-corpus.jsonl \\
      [--model sentence-transformers/all-MiniLM-L6-v2] [--device auto] [--reps 3] [--dtype float32]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from headroom_runtime.embed.batching import BudgetController
from headroom_runtime.embed.chunk_encoder import CPU_BUDGET, BatchSettings, encode_chunk, probe_budget
from headroom_runtime.embed.encoder import LoadedModel, load_model, token_lengths

CHUNK = 1000
FIXED = 32
# Dense peak FLOP/s by GPU name fragment and dtype, from the vendors' data sheets.
PEAK_FLOPS = {
    ("H100", "bfloat16"): 989e12,
    ("H100", "float16"): 989e12,
    ("H200", "bfloat16"): 989e12,
    ("H200", "float16"): 989e12,
    ("L4", "float16"): 121e12,
    ("T4", "float16"): 65e12,
}


def padded_tokens(lengths: list[int], batches: list[list[int]]) -> int:
    return sum(max(lengths[i] for i in b) * len(b) for b in batches)


def fixed_input_order(loaded: LoadedModel, texts: list[str]) -> None:
    for start in range(0, len(texts), FIXED):
        loaded.model.encode(texts[start : start + FIXED], batch_size=FIXED, show_progress_bar=False)


def st_encode(loaded: LoadedModel, texts: list[str]) -> None:
    loaded.model.encode(texts, batch_size=FIXED, show_progress_bar=False)


def headroom_auto(loaded: LoadedModel, texts: list[str], budget: int) -> int:
    controller = BudgetController(
        budget=budget, max_budget=512 * loaded.max_seq_len, capacity=loaded.capacity
    )
    settings = BatchSettings(min_docs=8, max_docs=512, oom_policy="fail")
    padded = 0
    for start in range(0, len(texts), CHUNK):
        _, stats = encode_chunk(
            loaded, texts[start : start + CHUNK], settings, controller, lambda _: None, lambda: loaded
        )
        padded += stats.padded_tokens
    return padded


def timed(run: Callable[[], Any], device: str) -> float:
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)
    started = time.perf_counter()
    run()
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--model", default="sentence-transformers/all-MiniLM-L6-v2")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--limit", type=int, default=0, help="use the first N documents only")
    args = parser.parse_args()

    texts = [json.loads(line)["text"] for line in args.corpus.read_text("utf-8").splitlines() if line]
    if args.limit:
        texts = texts[: args.limit]
    loaded = load_model(args.model, args.device, None)
    if args.dtype != "float32":
        loaded.model.to(getattr(torch, args.dtype))
    lengths, _ = token_lengths(loaded, texts)
    real = sum(lengths)
    char_order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    pads = {
        "a_fixed32_input_order": padded_tokens(
            lengths, [list(range(s, min(s + FIXED, len(texts)))) for s in range(0, len(texts), FIXED)]
        ),
        "b_st_encode32": padded_tokens(
            lengths, [char_order[s : s + FIXED] for s in range(0, len(texts), FIXED)]
        ),
    }
    budget = (
        probe_budget(loaded, texts[:CHUNK], 0.85, loaded.capacity, 512 * loaded.max_seq_len)[0]
        if loaded.device.startswith("cuda")
        else CPU_BUDGET
    )
    st_encode(loaded, texts[:64])  # warm-up: kernels, allocator, thread pools
    runs: dict[str, Callable[[], Any]] = {
        "a_fixed32_input_order": lambda: fixed_input_order(loaded, texts),
        "b_st_encode32": lambda: st_encode(loaded, texts),
        "c_headroom_auto": lambda: pads.__setitem__("c_headroom_auto", headroom_auto(loaded, texts, budget)),
    }
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for rep in range(args.reps):
        order = list(runs) if rep % 2 == 0 else list(reversed(runs))  # ABC CBA: drift cancels
        for name in order:
            seconds[name].append(timed(runs[name], loaded.device))
    flops_per_token = 2 * sum(p.numel() for p in loaded.model.parameters())
    peak = next(
        (v for (gpu, dt), v in PEAK_FLOPS.items() if gpu in loaded.device_name and dt == args.dtype), None
    )
    results = {}
    for name, times in seconds.items():
        median = statistics.median(times)
        results[name] = {
            "seconds": [round(t, 3) for t in times],
            "docs_per_s": round(len(texts) / median, 1),
            "tokens_per_s": round(real / median),
            "real_token_fraction": round(real / pads[name], 4),
            "mfu": None if peak is None else round(real / median * flops_per_token / peak, 4),
        }
    a, b, c = (statistics.median(seconds[n]) for n in runs)
    report = {
        "bench": "batching",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.processor() or platform.machine()}, torch threads {torch.get_num_threads()}",
        "device": f"{loaded.device} ({loaded.device_name})",
        "model": args.model,
        "dtype": args.dtype,
        "docs": len(texts),
        "budget": budget,
        "results": results,
        "speedup_c_over_a": round(a / c, 3),
        "speedup_c_over_b": round(b / c, 3),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
