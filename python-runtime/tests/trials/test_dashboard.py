"""optuna-dashboard reads study.db over loopback while a sweep writes it, and the sweep is
not disturbed (WAL: neither side sees "database is locked")."""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from conftest import runtime_env
from sweep_helpers import RuntimeProcess, sweep_spec, write_table

from headroom_runtime.trials.study import storage_url

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("optuna_dashboard") is None,
    reason="optuna-dashboard is not installed in this environment",
)
TRIALS = 6


def free_port() -> int:
    """Chosen here: with --port 0 the dashboard binds a free port but logs ':0'."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as reply:
        assert reply.status == 200
        return json.loads(reply.read())


def wait_until_serving(base: str, dashboard: subprocess.Popen[bytes], deadline_s: float = 120) -> None:
    deadline = time.monotonic() + deadline_s
    while True:
        assert dashboard.poll() is None, "optuna-dashboard exited"
        try:
            get(f"{base}/api/meta")
            return
        except OSError:
            assert time.monotonic() < deadline, "optuna-dashboard never answered"
            time.sleep(0.1)


def trials_shown(base: str) -> dict[int, str]:
    studies = get(f"{base}/api/studies")["study_summaries"]
    (study,) = [s for s in studies if s["study_name"] == "nn"]
    detail = get(f"{base}/api/studies/{study['study_id']}")
    return {t["number"]: t["state"] for t in detail["trials"]}


def test_the_dashboard_serves_the_study_while_a_sweep_runs(tmp_path: Path) -> None:
    table = write_table(tmp_path / "table.csv")
    run_dir = tmp_path / "run"
    runtime = RuntimeProcess(hello=False)
    dashboard: subprocess.Popen[bytes] | None = None
    try:
        runtime.send(
            {
                "type": "sweep",
                "spec": sweep_spec(table, trials=TRIALS, epochs=8),
                "runDir": str(run_dir),
                "journaled": [],
            }
        )
        # paused once a trial has finished and the next has been asked (RUNNING in the study)
        trigger = runtime.until(
            lambda e: (
                e["type"] == "error" or (e["type"] == "trial_started" and bool(runtime.of("trial_done")))
            )
        )
        assert trigger["type"] == "trial_started", trigger
        runtime.pause_with_a_trial_in_flight()  # a pause landing late could find none running
        port = free_port()
        dashboard = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from optuna_dashboard._cli import main; main()",
                storage_url(run_dir),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=runtime_env(),
        )
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(base, dashboard)
        done_so_far = {e["result"]["number"] for e in runtime.of("trial_done")}
        shown = trials_shown(base)
        assert {n for n, state in shown.items() if state == "Complete"} == done_so_far
        assert "Running" in shown.values()

        failures: list[str] = []
        reads = 0
        stop = threading.Event()

        def hammer() -> None:
            nonlocal reads
            while not stop.is_set():
                try:
                    trials_shown(base)
                    reads += 1
                except Exception as exc:
                    failures.append(f"{type(exc).__name__}: {exc}")

        reader = threading.Thread(target=hammer)
        reader.start()
        try:
            runtime.send({"type": "resume"})
            done = runtime.until(lambda e: e["type"] in ("sweep_done", "error"))
        finally:
            stop.set()
            reader.join(timeout=60)
        assert done == {"type": "sweep_done", "complete": TRIALS}, done
        assert failures == [] and reads > 0
        assert not [e for e in runtime.seen if e["type"] == "error"]
        deadline = time.monotonic() + 60  # the dashboard caches trials briefly
        while sorted(n for n, s in trials_shown(base).items() if s == "Complete") != list(range(TRIALS)):
            assert time.monotonic() < deadline, trials_shown(base)
            time.sleep(0.2)
    finally:
        runtime.close()
        if dashboard is not None:
            dashboard.terminate()
            dashboard.wait(timeout=30)
