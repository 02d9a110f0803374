from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

RUNTIME_DIR = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def tiny_model_session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from headroom_runtime.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture
def tiny_model(tiny_model_session: Path, tmp_path: Path) -> Path:
    """A fresh copy per test: built once per session, never shared mutable."""
    return Path(shutil.copytree(tiny_model_session, tmp_path / "tiny"))
