"""Passes in the runtime: describe before work, resident model memory per pass, release
between sequential passes, a shared model loaded once, redaction on the way out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import BATCHING, run_session, runtime_env

from headroom_dev.tiny_model import build_tiny_model
from headroom_runtime.core.devices import pick_device
from headroom_runtime.embed.encoder import load_model
from headroom_runtime.embed.model_info import embedding_dim, resident_bytes, weight_bytes
from headroom_runtime.embed.models import DEFAULT_MODEL, resolve_model


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("ensemble")
    return {
        "small": build_tiny_model(root / "small", dim=32, layers=1),
        "large": build_tiny_model(root / "large", dim=64, layers=3, seed=1),
    }


def spec(model: Path, key: str) -> dict[str, Any]:
    return {"model": str(model), "modelKey": key, "device": "cpu", "maxSeqLen": None, "vramLimit": None}


def encode(model: Path, key: str, path: Path) -> dict[str, Any]:
    chunk = {"index": 0, "texts": ["one", "two words", "three more words"], "path": str(path)}
    return {"type": "encode", "spec": spec(model, key), "batching": BATCHING, "chunks": [chunk]}


def of(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == kind]


def sizes(models: dict[str, Path]) -> dict[str, int]:
    return {name: resident_bytes(load_model(str(path), "cpu", None).model) for name, path in models.items()}


def test_dimension_and_weights_are_read_without_loading(models: dict[str, Path]) -> None:
    for path in models.values():
        loaded = load_model(str(path), "cpu", None)
        assert embedding_dim(str(path)) == loaded.dim
        size = weight_bytes(str(path))
        assert size is not None and abs(size - loaded.resident) < 0.05 * loaded.resident
    bundled = resolve_model(DEFAULT_MODEL).path
    assert embedding_dim(bundled) == 384


def test_sequential_passes_hold_one_model_and_simultaneous_holds_both(
    models: dict[str, Path], tmp_path: Path
) -> None:
    small, large = models["small"], models["large"]
    size = sizes(models)
    assert size["large"] > 2 * size["small"]
    sequential, _ = run_session(
        [
            {"type": "describe", "specs": [spec(small, "s"), spec(large, "l")]},
            {"type": "pass_start", "spec": spec(small, "s")},
            encode(small, "s", tmp_path / "s.npy"),
            {"type": "pass_end", "modelKey": "s", "release": True},
            {"type": "pass_start", "spec": spec(large, "l")},
            encode(large, "l", tmp_path / "l.npy"),
            {"type": "pass_end", "modelKey": "l", "release": True},
        ]
    )
    described = of(sequential, "described")[0]["models"]
    assert [m["dim"] for m in described] == [32, 64]
    completed = {e["model"]: e for e in of(sequential, "pass_completed")}
    assert completed["s"]["residentPeak"] == size["small"]
    assert completed["l"]["residentPeak"] == size["large"]  # the small one was released first
    assert completed["l"]["rows"] == 3 and completed["l"]["released"] and completed["l"]["peak"] is None

    simultaneous, _ = run_session(
        [
            {"type": "pass_start", "spec": spec(small, "s")},
            {"type": "pass_start", "spec": spec(large, "l")},
            encode(small, "s", tmp_path / "s2.npy"),
            encode(large, "l", tmp_path / "l2.npy"),
            {"type": "pass_end", "modelKey": "s", "release": True},
            {"type": "pass_end", "modelKey": "l", "release": True},
        ]
    )
    peaks = {e["model"]: e["residentPeak"] for e in of(simultaneous, "pass_completed")}
    assert peaks == {"s": size["small"] + size["large"], "l": size["small"] + size["large"]}


def test_a_model_shared_by_two_passes_is_loaded_once(models: dict[str, Path], tmp_path: Path) -> None:
    small = models["small"]
    events, _ = run_session(
        [
            {"type": "pass_start", "spec": spec(small, "a")},
            encode(small, "a", tmp_path / "a.npy"),
            {"type": "pass_end", "modelKey": "a", "release": False},
            {"type": "pass_start", "spec": spec(small, "b")},
            encode(small, "b", tmp_path / "b.npy"),
            {"type": "pass_end", "modelKey": "b", "release": True},
        ]
    )
    assert [e["loaded"] for e in of(events, "pass_started")] == [True, False]
    assert (tmp_path / "a.npy").read_bytes() == (tmp_path / "b.npy").read_bytes()


def test_describe_names_a_missing_model_before_any_work(tmp_path: Path) -> None:
    events, _ = run_session([{"type": "describe", "specs": [spec(tmp_path / "absent", "x")]}])
    error = of(events, "error")[0]
    assert error["code"] == "model_not_found" and error["fatal"] and not of(events, "pass_started")


def test_secrets_leave_the_worker_masked(tmp_path: Path) -> None:
    token = "hf_" + "Zq8" * 8
    env = {
        **runtime_env(),
        "HF_TOKEN": token,
        "MY_VALUE": "s3cr3t-value-42",
        "HEADROOM_SECRET_ENV": "MY_VALUE",
    }
    model = f"https://user:{token}@huggingface.co/org/model?token={token}&x=s3cr3t-value-42"
    events, stderr = run_session(
        [{"type": "describe", "specs": [{**spec(tmp_path, "x"), "model": model}]}],
        env=env,
    )
    text = json.dumps(events) + stderr
    assert of(events, "error"), "the model cannot resolve: its name comes back in an error"
    assert token not in text and "s3cr3t-value-42" not in text
    assert "***" in json.dumps(of(events, "error"))


def test_auto_placement_prefers_the_least_loaded_gpu_with_room() -> None:
    gib = 1024**3
    assert pick_device([], 1 * gib) == "cpu"
    assert pick_device([10 * gib, 30 * gib], 4 * gib) == "cuda:1"
    assert pick_device([2 * gib, 3 * gib], 4 * gib) == "cpu"
    assert pick_device([2 * gib], None) == "cuda:0"
