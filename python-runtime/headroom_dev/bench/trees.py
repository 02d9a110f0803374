"""Tree-family benchmark on the CPU, side by side in one run: per family, the same seeded
trials serial (1 worker process, all cores) vs parallel (2 worker processes, the cores
split), through the real pool (trials/trees/pool.py). Reports trials/s of each, the ratio,
and whether every trial's value matched. Prints a markdown table (and --json, a file).

  python -m headroom_dev.bench.trees --rows 20000 --features 62 --trials 20 \\
      --families xgboost,lightgbm,catboost

The data is synthetic regression (seeded); the trials are drawn from each family's default
space by a seeded Optuna RandomSampler, with the rounds' ceiling at --rounds (early
stopping on the 20% validation part as in a sweep). Worker start-up (imports, data load)
is outside the timed part: the clock starts when every worker is ready.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from headroom_runtime.trials.trees.families import TREE_FAMILIES, default_space, library_status, rounds_key
from headroom_runtime.trials.trees.plan import WorkerSlot, plan_workers
from headroom_runtime.trials.trees.pool import TreeDataSpec, TreeOutcome, TreeTrial, run_family


@dataclass
class _Hooks:
    queue: list[TreeTrial]
    slots: int
    outcomes: list[TreeOutcome]
    ready: int = 0
    t0: float | None = None
    t_end: float | None = None

    def next_trial(self) -> TreeTrial | None:
        if self.ready < self.slots:  # hold trials until every worker is up: time training only
            return None  # (the pool waits for a starting worker before it ends)
        if self.t0 is None:
            self.t0 = time.perf_counter()
        return self.queue.pop(0) if self.queue else None

    def started(self, trial: TreeTrial, slot: WorkerSlot) -> None: ...

    def finished(self, outcome: TreeOutcome) -> None:
        self.outcomes.append(outcome)
        self.t_end = time.perf_counter()

    def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "tree_worker" and message["reason"] == "started":
            self.ready += 1

    def between_trials(self) -> None: ...


def draw_trials(family: str, n: int, rounds: int, seed: int) -> list[TreeTrial]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = default_space(family)
    space[rounds_key(family)] = optuna.distributions.IntDistribution(rounds, rounds)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=seed))
    out = []
    for i in range(n):
        trial = study.ask(space)
        out.append(TreeTrial(i, dict(trial.params), seed * 1_000_003 + i))
        study.tell(trial, 0.0)
    return out


def make_data(folder: Path, rows: int, features: int, seed: int) -> TreeDataSpec:
    g = np.random.default_rng(seed)
    x = g.normal(size=(rows, features)).astype(np.float32)
    w = g.normal(size=features)
    y = np.tanh(x @ w / features**0.5) + 0.3 * np.sin(3 * x[:, 0]) + 0.1 * g.normal(size=rows)
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", y)
    return TreeDataSpec(str(folder / "x.npy"), str(folder / "y.npy"), "regression", None, 0.2, seed)


def run_variant(
    family: str, data: TreeDataSpec, trials: list[TreeTrial], workers: int, cores: int
) -> tuple[float, dict[int, Any]]:
    slots, _ = plan_workers(family, "cpu", workers, 0, cores, [], False)
    hooks = _Hooks(list(trials), len(slots), [])
    run_family(family, data, slots, hooks)
    if hooks.t0 is None or hooks.t_end is None:
        raise SystemExit(f"{family}: no trial ran")
    seconds = hooks.t_end - hooks.t0  # from every worker ready to the last result
    failed = [o for o in hooks.outcomes if o.metrics is None]
    if failed:
        raise SystemExit(f"{family}: trial {failed[0].number} failed: {failed[0].message}")
    return len(hooks.outcomes) / seconds, {o.number: o.metrics for o in hooks.outcomes}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="headroom_dev.bench.trees")
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--features", type=int, default=62)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=300, help="the rounds' ceiling of every trial")
    parser.add_argument("--families", default=",".join(TREE_FAMILIES))
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    families = [f.strip() for f in args.families.split(",") if f.strip()]
    for family in families:
        status = library_status(family)
        if status.version is None:
            raise SystemExit(f"{family}: not installed; {status.fix}")
    rows_out = []
    with tempfile.TemporaryDirectory(prefix="headroom-bench-trees-") as folder:
        data = make_data(Path(folder), args.rows, args.features, args.seed)
        for family in families:
            trials = draw_trials(family, args.trials, args.rounds, args.seed)
            serial_rate, serial_values = run_variant(family, data, trials, 1, args.cores)
            parallel_rate, parallel_values = run_variant(family, data, trials, 2, args.cores)
            rows_out.append(
                {
                    "family": family,
                    "version": library_status(family).version,
                    "serialTrialsPerS": serial_rate,
                    "parallelTrialsPerS": parallel_rate,
                    "ratio": parallel_rate / serial_rate,
                    "valuesMatch": serial_values == parallel_values,
                }
            )
    cores = args.cores
    print(
        f"Tree trials on the CPU: {args.rows:,} rows x {args.features} features, {args.trials} trials per "
        f"family (rounds ceiling {args.rounds}, early stopping), {cores} cores, {platform.machine()}"
    )
    print()
    half = max(1, cores // 2)
    print(
        f"| family | version | serial (1 x {cores} threads) trials/s | parallel (2 x {half}) trials/s "
        "| ratio | values match |"
    )
    print("|---|---|---:|---:|---:|---|")
    for row in rows_out:
        print(
            f"| {row['family']} | {row['version']} | {row['serialTrialsPerS']:.3f} | "
            f"{row['parallelTrialsPerS']:.3f} | {row['ratio']:.2f}x | "
            f"{'yes' if row['valuesMatch'] else 'NO'} |"
        )
    if args.json is not None:
        args.json.write_text(
            json.dumps({"args": vars(args) | {"json": str(args.json)}, "rows": rows_out}, indent=2)
        )
    return 0 if all(row["valuesMatch"] for row in rows_out) else 1


if __name__ == "__main__":
    raise SystemExit(main())
