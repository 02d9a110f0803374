"""Trial-sweep benchmark, side by side in one process: 20 trials of the field note's network
(62 features -> [256,128,64] -> 1, ReLU, dropout, full-batch Adam, no early stopping).

  CPU:  serial vs batched@1 (what --engine auto runs there) vs batched@20, at 3,000 and 20,000
        rows (80/20 split), 1 and 2 threads
  CUDA: serial vs streams (4 streams) vs batched@20, at 5,000 and 98,000 rows, fp32 and TF32

Variants are interleaved (ABC CBA...) so drift cancels in the ratios. Reports trial-epochs/s (20
trials x epochs / seconds), the ratio to serial, and on CUDA the peak memory
(torch.cuda.max_memory_allocated) and the share of the memory-bandwidth floor (activation bytes
each epoch must write and read, at the device's data-sheet bandwidth). Python alone:

  python -m headroom_dev.bench.trials [--device cpu|cuda] [--epochs N] [--reps 2] [--rows 3000,20000]
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import torch

from headroom_runtime.trials import batched, serial, streams
from headroom_runtime.trials.specs import EpochPoint, Fold, TrainConfig, TrainData, TrialOutcome, TrialSpec

FEATURES = 62
HIDDEN = (256, 128, 64)
TRIALS = 20
# Memory bandwidth, bytes/s, by GPU name fragment (vendors' data sheets).
BANDWIDTH = {"H200": 4.8e12, "H100": 3.35e12, "A100": 2.0e12, "L4": 0.3e12, "T4": 0.32e12}


class _Hooks:
    def __init__(self, specs: list[TrialSpec]) -> None:
        self.queue = list(specs)
        self.outcomes: list[TrialOutcome] = []

    def next_trial(self) -> TrialSpec | None:
        return self.queue.pop(0) if self.queue else None

    def started(self, spec: TrialSpec, members: int) -> None: ...

    def progress(self, point: EpochPoint) -> None: ...

    def finished(self, outcome: TrialOutcome) -> None:
        self.outcomes.append(outcome)

    def between_epochs(self) -> None: ...

    def concurrency_changed(
        self, concurrency: int, reason: Any, peak: int | None, estimate: int | None
    ) -> None: ...

    def oom(self, members: int, concurrency: int, restarted: list[int]) -> None: ...


def make_data(rows: int, device: str) -> TrainData:
    g = torch.Generator().manual_seed(rows)
    x = torch.randn(rows, FEATURES, generator=g)
    y = torch.tanh(x[:, :8].sum(1) / 3) + 0.1 * torch.randn(rows, generator=g)
    cut = rows * 4 // 5
    fold = Fold(x[:cut].to(device), y[:cut].to(device), x[cut:].to(device), y[cut:].to(device))
    return TrainData("regression", (fold,))


def make_specs() -> list[TrialSpec]:
    g = torch.Generator().manual_seed(0)
    out = []
    for i in range(TRIALS):
        u = torch.rand(3, generator=g).tolist()
        out.append(
            TrialSpec(i, HIDDEN, 10 ** (-4 + 2 * u[0]), 10 ** (-6 + 3 * u[1]), 0.3 * u[2], 1_000_003 + i)
        )
    return out


def floor_bytes(rows: int) -> int:
    """Activation bytes one trial-epoch must at least write once and read once (fwd + bwd)."""
    return 2 * 4 * rows * (3 * sum(HIDDEN) + 2 * max(HIDDEN))


def timed(run: Callable[[], None], device: str) -> float:
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)
    started = time.perf_counter()
    run()
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)
    return time.perf_counter() - started


def variants(device: str) -> dict[str, tuple[Callable[..., None], int]]:
    if device.startswith("cuda"):
        return {
            "serial": (serial.train, 1),
            "streams@4": (streams.train, 4),
            "batched@20": (batched.train, 20),
        }
    return {
        "serial": (serial.train, 1),
        "batched@1 (auto)": (batched.train, 1),
        "batched@20": (batched.train, 20),
    }


def bench_case(device: str, rows: int, epochs: int, reps: int) -> dict[str, Any]:
    data = make_data(rows, device)
    specs = make_specs()
    config = lambda c: TrainConfig(epochs=epochs, patience=0, device=device, concurrency=c)  # noqa: E731
    runs = variants(device)
    # warm-up: kernels, allocator, thread pools, torch.optim's first-step imports
    for train, concurrency in runs.values():
        train(
            data, TrainConfig(epochs=2, patience=0, device=device, concurrency=concurrency), _Hooks(specs[:2])
        )
    seconds: dict[str, list[float]] = {n: [] for n in runs}
    peaks: dict[str, int] = {}
    for rep in range(reps):
        for name in list(runs) if rep % 2 == 0 else list(reversed(runs)):
            train, concurrency = runs[name]
            if device.startswith("cuda"):
                torch.cuda.reset_peak_memory_stats(device)
            seconds[name].append(
                timed(functools.partial(train, data, config(concurrency), _Hooks(specs)), device)  # type: ignore[no-untyped-call]
            )
            print(f"rows {rows} {name}: {seconds[name][-1]:.2f} s", file=sys.stderr, flush=True)
            if device.startswith("cuda"):
                peaks[name] = torch.cuda.max_memory_allocated(device)
    serial_s = statistics.median(seconds["serial"])
    bandwidth = None
    if device.startswith("cuda"):
        name = torch.cuda.get_device_name(device)
        bandwidth = next((v for k, v in BANDWIDTH.items() if k in name), None)
    out: dict[str, Any] = {}
    train_rows = rows * 4 // 5
    for name, times in seconds.items():
        median = statistics.median(times)
        rate = TRIALS * epochs / median
        out[name] = {
            "seconds": [round(t, 3) for t in times],
            "trial_epochs_per_s": round(rate, 2),
            "vs_serial": round(serial_s / median, 3),
            "peak_gib": round(peaks[name] / 2**30, 3) if name in peaks else None,
            "bandwidth_floor_share": None
            if bandwidth is None
            else round(rate * floor_bytes(train_rows) / bandwidth, 4),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument("--epochs", type=int, default=0, help="default: 15 on a CPU, 200 on CUDA")
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--rows", default="", help="default: 3000,20000 on a CPU, 5000,98000 on CUDA")
    parser.add_argument("--threads", default="1,2", help="CPU thread counts")
    args = parser.parse_args()
    device = ("cuda:0" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    cuda = device.startswith("cuda")
    epochs = args.epochs or (200 if cuda else 15)
    rows_list = [int(r) for r in (args.rows or ("5000,98000" if cuda else "3000,20000")).split(",")]
    cases = []
    if cuda:
        for precision in ("fp32", "tf32"):
            torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
            for rows in rows_list:
                cases.append(
                    {
                        "precision": precision,
                        "rows": rows,
                        "results": bench_case(device, rows, epochs, args.reps),
                    }
                )
        torch.backends.cuda.matmul.allow_tf32 = False
    else:
        for threads in [int(t) for t in args.threads.split(",")]:
            torch.set_num_threads(threads)
            for rows in rows_list:
                cases.append(
                    {"threads": threads, "rows": rows, "results": bench_case(device, rows, epochs, args.reps)}
                )
    report = {
        "bench": "trials",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads",
        "device": f"{device}" + (f" ({torch.cuda.get_device_name(device)})" if cuda else ""),
        "torch": torch.__version__,
        "network": {"features": FEATURES, "hidden": list(HIDDEN), "trials": TRIALS, "epochs": epochs},
        "cases": cases,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
