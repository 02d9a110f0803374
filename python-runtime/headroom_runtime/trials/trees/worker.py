"""A persistent tree worker: one family, one device, many trials.

  python -m headroom_runtime.trials.trees.worker --family xgboost

JSON lines on stdin and stdout (logs, and anything a library prints, go to stderr):
  <- {"type": "load", "data", "target", "task", "folds", "valFraction", "seed"}
  -> {"type": "ready", "pid", "visibleDevices", "threads", "family", "version", "baselineBytes"}
     or {"type": "load_failed", "message"} (then it exits 2)
  <- {"type": "train", "number", "params", "seed", "device", "threads", "workersOnDevice", "faultOom",
      "faultHang"}
  -> {"type": "result", "number", "metrics", "rounds", "bestRound", "ms", "peakBytes", "peakSource",
      "baselineBytes", "device", "message"}
     | {"type": "oom", "number", "message"} | {"type": "failed", "number", "message"}
  <- {"type": "shutdown"} (or stdin's end): it exits 0
  -> {"type": "heartbeat"} every second from its own thread, from start-up on (core/heartbeat.py):
     the pool calls a worker silent past HEADROOM_HEARTBEAT_TIMEOUT_S hung and kills its group

The data is loaded and split once, with trials/data.py as the NN side does (same rows, same
folds); targets stay in their own units (trees need no scaling). After each trial the
booster and the data copies are freed and baselineBytes is the RSS after that clean-up.
The worker dies with its parent (PR_SET_PDEATHSIG, and a thread polling the parent pid); the
pool starts it in a process group of its own (start_new_session), which it kills whole.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from typing import IO, Any

import numpy as np

from headroom_runtime.trials.trees.families import (
    EARLY_STOPPING_ROUNDS,
    TREE_FAMILIES,
    library_params,
    rounds_key,
)
from headroom_runtime.trials.trees.plan import FAKE_SLOT

PARENT_ENV = "HEADROOM_TREE_PARENT"
SLOW_MS = "HEADROOM_FAULT_TREE_SLOW_MS"
LEAK_MB = "HEADROOM_FAULT_TREE_LEAK_MB"

# Each library's words for running out of GPU memory (XGBoost: CUDA runtime / RMM; CatBoost:
# its CUDA_SAFE_CALL; LightGBM's OpenCL trainer: Boost.Compute's opencl_error).
OOM_PATTERNS = {
    "xgboost": re.compile(r"cudaErrorMemoryAllocation|out of memory|std::bad_alloc: out_of_memory", re.I),
    "catboost": re.compile(r"CUDA error 2\b|out of memory", re.I),
    "lightgbm": re.compile(
        r"Memory Object Allocation Failure|CL_MEM_OBJECT_ALLOCATION_FAILURE|Out of resources|out of memory",
        re.I,
    ),
}
_leaked: list[bytearray] = []


def is_oom(family: str, message: str) -> bool:
    return bool(OOM_PATTERNS[family].search(message))


def injected_oom(family: str) -> Exception:
    """The error each library raises when the card is full, as it words it."""
    if family == "xgboost":
        import xgboost

        error: Exception = xgboost.core.XGBoostError(
            "[headroom fault] ../src/common/device_helpers.cuh: cudaErrorMemoryAllocation: out of memory"
        )
        return error
    if family == "catboost":
        import catboost

        error = catboost.CatBoostError(
            "[headroom fault] catboost/cuda/cuda_lib/cuda_base.h: CUDA error 2: out of memory"
        )
        return error
    import lightgbm

    return lightgbm.basic.LightGBMError(
        "[headroom fault] boost::compute::opencl_error: Memory Object Allocation Failure"
    )


def rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")  # resets VmHWM, the RSS high-water mark
        return True
    except OSError:
        return False


def _peak_rss() -> int | None:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


class GpuPeak:
    """This process's GPU memory, sampled from nvidia-smi while a fit runs (its peak, measured)."""

    def __init__(self, interval: float = 0.25) -> None:
        self.peak: int | None = None
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._smi = shutil.which("nvidia-smi")

    def _sample(self) -> None:
        assert self._smi is not None
        try:
            out = subprocess.run(
                [self._smi, "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            ).stdout
        except (OSError, subprocess.TimeoutExpired):
            return
        for line in out.splitlines():
            parts = [p.strip() for p in line.split(",")]
            if len(parts) == 2 and parts[0] == str(os.getpid()) and parts[1].isdigit():
                used = int(parts[1]) * 2**20
                self.peak = used if self.peak is None else max(self.peak, used)

    def __enter__(self) -> GpuPeak:
        if self._smi is not None:

            def loop() -> None:
                while not self._stop.wait(self.interval):
                    self._sample()

            self._thread = threading.Thread(target=loop, name="gpu-peak", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._sample()


def fit_fold(
    family: str,
    lib: dict[str, Any],
    rounds: int,
    threads: int,
    x_tr: np.ndarray,
    y_tr: np.ndarray,
    x_va: np.ndarray,
    y_va: np.ndarray,
) -> tuple[np.ndarray, int, int]:
    """(validation predictions as logits or values, rounds trained, best round 1-based)."""
    fit = {"xgboost": _fit_xgboost, "lightgbm": _fit_lightgbm, "catboost": _fit_catboost}[family]
    return fit(lib, rounds, threads, x_tr, y_tr, x_va, y_va)


_Fold = tuple[np.ndarray, int, int]


def _fit_xgboost(
    lib: dict[str, Any],
    rounds: int,
    threads: int,
    x_tr: np.ndarray,
    y_tr: np.ndarray,
    x_va: np.ndarray,
    y_va: np.ndarray,
) -> _Fold:
    import xgboost as xgb

    dtrain = xgb.DMatrix(x_tr, label=y_tr, nthread=threads)
    dval = xgb.DMatrix(x_va, label=y_va, nthread=threads)
    booster = xgb.train(
        lib,
        dtrain,
        num_boost_round=rounds,
        evals=[(dval, "val")],
        early_stopping_rounds=EARLY_STOPPING_ROUNDS,
        verbose_eval=False,
    )
    best = int(booster.best_iteration)
    pred = booster.predict(dval, iteration_range=(0, best + 1), output_margin=True)
    done = int(booster.num_boosted_rounds())
    del booster, dtrain, dval
    return np.asarray(pred, dtype=np.float64), done, best + 1


def _fit_lightgbm(
    lib: dict[str, Any],
    rounds: int,
    threads: int,
    x_tr: np.ndarray,
    y_tr: np.ndarray,
    x_va: np.ndarray,
    y_va: np.ndarray,
) -> _Fold:
    import lightgbm as lgb

    dtrain = lgb.Dataset(x_tr, label=y_tr, params={"verbosity": -1})
    dval = lgb.Dataset(x_va, label=y_va, reference=dtrain)
    trained = [0]

    def count_rounds(env: Any) -> None:  # lgb.train cuts the model back to its best round: count them here
        trained[0] = int(env.iteration) + 1

    booster = lgb.train(
        lib,
        dtrain,
        num_boost_round=rounds,
        valid_sets=[dval],
        callbacks=[lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False), count_rounds],
    )
    best = int(booster.best_iteration) or int(booster.current_iteration())
    pred = booster.predict(x_va, num_iteration=best, raw_score=True)
    done = max(trained[0], int(booster.current_iteration()))
    booster.free_dataset()
    del booster, dtrain, dval
    return np.asarray(pred, dtype=np.float64), done, best


def _fit_catboost(
    lib: dict[str, Any],
    rounds: int,
    threads: int,
    x_tr: np.ndarray,
    y_tr: np.ndarray,
    x_va: np.ndarray,
    y_va: np.ndarray,
) -> _Fold:
    from catboost import CatBoost, Pool

    model = CatBoost(
        {
            **lib,
            "iterations": rounds,
            "od_type": "Iter",
            "od_wait": EARLY_STOPPING_ROUNDS,
            "use_best_model": True,
        }
    )
    train_pool, val_pool = Pool(x_tr, label=y_tr), Pool(x_va, label=y_va)
    model.fit(train_pool, eval_set=val_pool)
    best = int(model.get_best_iteration())
    curves = model.get_evals_result().get("validation", {})
    done = max((len(v) for v in curves.values()), default=best + 1)
    pred = model.predict(val_pool, prediction_type="RawFormulaVal")
    del model, train_pool, val_pool
    return np.asarray(pred, dtype=np.float64), done, best + 1


class Worker:
    def __init__(self, family: str, out: IO[str]) -> None:
        self.family = family
        self.out = out
        self.task = "regression"
        self.folds: list[tuple[np.ndarray, np.ndarray]] = []
        self.x = np.zeros((0, 0))
        self.y = np.zeros(0)
        self.quiet = threading.Event()  # set: the heartbeat stops (for good)
        self._lock = threading.Lock()  # the heartbeat thread writes too: one line at a time

    def send(self, message: dict[str, Any]) -> None:
        with self._lock:
            self.out.write(json.dumps(message) + "\n")
            self.out.flush()

    def start_heartbeat(self) -> None:
        from headroom_runtime.core.heartbeat import start_heartbeat

        start_heartbeat(lambda: self.send({"type": "heartbeat"}), self.quiet)

    def hang(self, number: int) -> None:
        """HEADROOM_FAULT_TREE_HANG (the pool asks, once): no more heartbeats, and block for good."""
        self.quiet.set()
        print(
            f"headroom tree worker {os.getpid()}: [headroom fault] hanging in trial {number}", file=sys.stderr
        )
        threading.Event().wait()

    def load(self, line: dict[str, Any]) -> None:
        import importlib

        from headroom_runtime.trials import data as data_mod

        table = data_mod.load(str(line["data"]), str(line["target"]), line.get("task"))
        source = os.path.basename(str(line["data"]))
        self.folds = data_mod.split_indices(
            table, line.get("folds"), float(line["valFraction"]), int(line["seed"]), source
        )
        self.task = table.task
        self.x = np.ascontiguousarray(table.x, dtype=np.float32)
        self.y = np.asarray(table.y, dtype=np.float64)
        module = importlib.import_module(self.family)
        self._warm_up()
        gc.collect()
        self.send(
            {
                "type": "ready",
                "pid": os.getpid(),
                "visibleDevices": os.environ.get("CUDA_VISIBLE_DEVICES"),
                "threads": int(os.environ.get("OMP_NUM_THREADS") or 1),
                "family": self.family,
                "version": str(module.__version__),
                "baselineBytes": rss_bytes(),
            }
        )

    def _warm_up(self) -> None:
        """A tiny fit before the first trial: the library's one-time allocations would otherwise count
        in the first trial's peak memory (measured: 5 MB vs 289 MB for the same trial)."""
        from headroom_runtime.trials.trees.families import default_space, library_params

        rows = self.folds[0][0][:64]
        params = {
            key: dist.to_external_repr(getattr(dist, "low", 0))
            for key, dist in default_space(self.family).items()
        }
        try:
            lib = library_params(self.family, params, self.task, 0, 1, False, 1)
            fit_fold(self.family, lib, 2, 1, self.x[rows], self.y[rows], self.x[rows], self.y[rows])
        except Exception as exc:  # a slice of one class, say: the trials themselves will tell
            print(f"headroom tree worker: warm-up fit skipped ({type(exc).__name__}: {exc})", file=sys.stderr)

    def train(self, line: dict[str, Any]) -> None:
        from headroom_runtime.trials.metrics import trial_metrics

        number = int(line["number"])
        device = str(line.get("device") or "cpu")
        gpu = device.startswith("cuda") and not os.environ.get(FAKE_SLOT)
        threads = int(line.get("threads") or 1)
        params = dict(line["params"])
        if line.get("faultHang"):
            self.hang(number)
        slow = int(os.environ.get(SLOW_MS) or 0)
        if slow:
            time.sleep(slow / 1000)
        leak = int(os.environ.get(LEAK_MB) or 0)
        if leak:
            _leaked.append(bytearray(b"\x01") * (leak * 2**20))
        started = time.perf_counter()
        measured_host = _reset_peak_rss()
        before = rss_bytes()  # the fit's own memory: the high-water mark less what the worker held already
        try:
            if line.get("faultOom"):
                raise injected_oom(self.family)
            lib = library_params(
                self.family,
                params,
                self.task,
                int(line["seed"]),
                threads,
                gpu,
                int(line.get("workersOnDevice") or 1),
            )
            rounds = int(params[rounds_key(self.family)])
            y_vals, preds, done, best = [], [], 0, 0
            with GpuPeak() if gpu else _Null() as gpu_peak:
                for train_rows, val_rows in self.folds:
                    pred, n_done, n_best = fit_fold(
                        self.family,
                        lib,
                        rounds,
                        threads,
                        self.x[train_rows],
                        self.y[train_rows],
                        self.x[val_rows],
                        self.y[val_rows],
                    )
                    y_vals.append(self.y[val_rows])
                    preds.append(pred)
                    done, best = max(done, n_done), max(best, n_best)
            metrics = trial_metrics(self.task, y_vals, preds)  # type: ignore[arg-type]
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            gc.collect()
            kind = "oom" if is_oom(self.family, message) else "failed"
            self.send({"type": kind, "number": number, "message": message})
            return
        ms = (time.perf_counter() - started) * 1000
        if gpu:
            peak, source = gpu_peak.peak, "measured"
        else:  # host memory: the RSS high-water mark of this fit less the worker's own (interpreter,
            # library, data), so it compares with the NN family's per-trial estimate; an estimate on a CPU
            high = _peak_rss() if measured_host else None
            peak, source = (max(0, high - before) if high is not None else None), "estimate"
        del y_vals, preds
        gc.collect()
        self.send(
            {
                "type": "result",
                "number": number,
                "metrics": metrics,
                "rounds": done,
                "bestRound": best,
                "ms": ms,
                "peakBytes": peak,
                "peakSource": source,
                "baselineBytes": rss_bytes(),
                "device": device,
                "message": None
                if metrics is not None
                else "the predictions are not finite (a diverged trial)",
            }
        )


class _Null:
    peak: int | None = None

    def __enter__(self) -> _Null:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="headroom_runtime.trials.trees.worker")
    parser.add_argument("--family", required=True, choices=TREE_FAMILIES)
    args = parser.parse_args(argv)
    parent = os.environ.get(PARENT_ENV)
    from headroom_runtime.core.parent_watch import watch_parent

    watch_parent(int(parent) if parent else None)
    # The protocol gets a private copy of stdout; fd 1 goes to stderr, so whatever a library
    # prints (CatBoost writes to stdout) cannot break a line.
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    worker = Worker(args.family, out)
    worker.start_heartbeat()
    loaded = False
    for raw in sys.stdin:
        if not raw.strip():
            continue
        line = json.loads(raw)
        kind = line.get("type")
        if kind == "shutdown":
            break
        if kind == "load":
            try:
                worker.load(line)
                loaded = True
            except Exception as exc:
                worker.send({"type": "load_failed", "message": f"{type(exc).__name__}: {exc}"})
                return 2
        elif kind == "train" and loaded:
            worker.train(line)
        else:
            sys.stderr.write(f"tree worker {os.getpid()}: unexpected line {kind!r}\n")
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
