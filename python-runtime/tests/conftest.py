from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

RUNTIME_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = RUNTIME_DIR.parent
# Batching as the Engine sends it in an `encode` command (tests that start the runtime).
BATCHING = {
    "mode": "auto",
    "batchSize": 8,
    "minBatch": 2,
    "maxBatch": 64,
    "maxBatchTokens": None,
    "targetMemory": 0.85,
    "initialBudget": None,
    "vramWarning": 0.85,
    "vramCritical": 0.95,
    "onCritical": "shrink",
}


def runtime_env() -> dict[str, str]:
    """The environment a test starts `python -m headroom_runtime` in."""
    return {**os.environ, "PYTHONPATH": str(RUNTIME_DIR), "HF_HUB_OFFLINE": "1"}


def run_session(
    messages: list[dict[str, Any]], env: dict[str, str] | None = None, timeout: float = 180
) -> tuple[list[dict[str, Any]], str]:
    """One whole session of `python -m headroom_runtime`: hello, the messages, shutdown.
    Returns the events it wrote and its stderr."""
    from headroom_runtime.core.schema import PROTOCOL_VERSION

    hello = {"type": "hello", "protocol": PROTOCOL_VERSION}
    lines = [json.dumps(m) for m in [hello, *messages, {"type": "shutdown"}]]
    done = subprocess.run(
        [sys.executable, "-m", "headroom_runtime"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        env=env or runtime_env(),
        timeout=timeout,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines()], done.stderr


@pytest.fixture(scope="session")
def tiny_model_session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from headroom_dev.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture
def tiny_model(tiny_model_session: Path, tmp_path: Path) -> Path:
    """A fresh copy per test: built once per session, never shared mutable."""
    return Path(shutil.copytree(tiny_model_session, tmp_path / "tiny"))
