"""The VRAM guard and the leak baselines in the runtime, on CPU, with memory figures injected
by the documented switch HEADROOM_FAULT_MEMORY_USED (and a real leak by HEADROOM_FAULT_LEAK_MB)."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import BATCHING, run_session, runtime_env

from headroom_runtime.core.schema import PROTOCOL_VERSION
from headroom_runtime.embed import faults
from headroom_runtime.embed.batching import BudgetController
from headroom_runtime.embed.guard import Level, VramGuard

TOTAL = 1000


def guard(values: str, on_critical: str = "shrink") -> VramGuard:
    return VramGuard(Level(0.85), Level(0.95), on_critical, faults.MemorySeries(values))


def checks(g: VramGuard, n: int, controller: BudgetController | None = None) -> tuple[list[Any], list[str]]:
    """n checks as after n batches; the events, and what the guard called."""
    calls: list[str] = []
    controller = controller or BudgetController(budget=4096, max_budget=8192)
    events = [
        g.check(
            None,
            TOTAL,
            controller,
            floor=64,
            release=lambda: calls.append("release"),
            pause=lambda: calls.append("pause"),
        )
        for _ in range(n)
    ]
    return events, calls


def test_a_warning_is_sent_once_per_crossing_not_once_per_batch() -> None:
    # up past warning for three batches, back down (below 0.80), up again
    events, calls = checks(guard("0.5,0.86,0.88,0.9,0.7,0.87,0.87"), 7)
    sent = [e for e in events if e is not None]
    assert [e["level"] for e in sent] == ["warning", "warning"]
    assert events[1] is not None and events[5] is not None
    assert sent[0] == {
        "type": "vram_level",
        "level": "warning",
        "used": 860,
        "total": TOTAL,
        "action": "warn",
        "budget": None,
    }
    assert calls == []


def test_hovering_just_under_the_level_does_not_rearm_it() -> None:
    events, _ = checks(guard("0.86,0.84,0.86,0.83,0.86"), 5)
    assert [e is not None for e in events] == [True, False, False, False, False]


def test_critical_with_shrink_halves_the_budget_within_the_floor_and_releases() -> None:
    controller = BudgetController(budget=4096, max_budget=8192)
    events, calls = checks(guard("0.5,0.97,0.97,0.97"), 4, controller)
    sent = [e for e in events if e is not None]
    assert len(sent) == 1 and sent[0]["level"] == "critical" and sent[0]["action"] == "shrink"
    assert sent[0]["budget"] == 2048 == controller.budget
    assert calls == ["release"]
    # it does not grow back past the halved budget in this runtime
    controller.on_success(100, None)
    controller._set(10_000)
    assert controller.budget == 2048
    # and halving stops at the floor
    small = BudgetController(budget=100, max_budget=8192)
    checks(guard("0.99"), 1, small)
    assert small.budget == 64


def test_critical_with_pause_pauses_and_says_so() -> None:
    events, calls = checks(guard("0.96,0.96", on_critical="pause"), 2)
    assert events[0] is not None and events[0]["action"] == "pause" and events[0]["budget"] is None
    assert events[1] is None
    assert calls == ["pause"]


def encode(model: Path, out: Path, chunks: int, batching: dict[str, Any]) -> dict[str, Any]:
    texts = [f"document number {i} with some words" * (1 + i % 3) for i in range(12)]
    return {
        "type": "encode",
        "spec": {"model": str(model), "modelKey": "m", "device": "cpu", "maxSeqLen": None, "vramLimit": None},
        "batching": batching,
        "chunks": [{"index": i, "texts": texts, "path": str(out / f"chunk-{i}.npy")} for i in range(chunks)],
    }


def test_the_runtime_shrinks_at_critical_and_sends_baselines_between_chunks(
    tiny_model: Path, tmp_path: Path
) -> None:
    batching = {**BATCHING, "minBatch": 1, "maxBatch": 4, "initialBudget": 256}
    env = {**runtime_env(), faults.MEMORY_USED: "0.5,0.5,0.97", faults.LEAK_MB: "16"}
    events, _ = run_session([encode(tiny_model, tmp_path, 3, batching)], env, timeout=120)
    levels = [e for e in events if e["type"] == "vram_level"]
    assert [(e["level"], e["action"]) for e in levels] == [("critical", "shrink")]
    assert levels[0]["budget"] == 128
    done = [e for e in events if e["type"] == "chunk_done"]
    assert done[-1]["stats"]["budget"] == 128
    baselines = [e for e in events if e["type"] == "baseline"]
    assert [(e["model"], e["chunk"]) for e in baselines] == [("m", 0), ("m", 1), ("m", 2)]
    # each baseline follows its chunk_done; the leaked 16 MB per chunk show in RSS
    kinds = [
        (e["type"], e.get("index", e.get("chunk"))) for e in events if e["type"] in ("chunk_done", "baseline")
    ]
    assert kinds == [
        ("chunk_done", 0),
        ("baseline", 0),
        ("chunk_done", 1),
        ("baseline", 1),
        ("chunk_done", 2),
        ("baseline", 2),
    ]
    rises = [b["bytes"] - a["bytes"] for a, b in itertools.pairwise(baselines)]
    assert all(rise >= 15 * 2**20 for rise in rises), rises


def test_the_runtime_pauses_itself_at_critical_and_a_resume_finishes(
    tiny_model: Path, tmp_path: Path
) -> None:
    batching = {**BATCHING, "minBatch": 1, "maxBatch": 2, "initialBudget": 64, "onCritical": "pause"}
    env = {**runtime_env(), faults.MEMORY_USED: "0.96"}
    process = subprocess.Popen(
        [sys.executable, "-m", "headroom_runtime"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        for message in (
            {"type": "hello", "protocol": PROTOCOL_VERSION},
            encode(tiny_model, tmp_path, 1, batching),
        ):
            process.stdin.write(json.dumps(message) + "\n")
        process.stdin.flush()
        kinds: list[str] = []
        for line in process.stdout:
            event = json.loads(line)
            if event["type"] in ("heartbeat", "memory"):
                continue
            kinds.append(event["type"])
            if event["type"] == "vram_level":
                assert event["action"] == "pause"
            if event["type"] == "paused":  # it paused itself; nothing more until the resume
                assert "chunk_done" not in kinds
                process.stdin.write(json.dumps({"type": "resume"}) + "\n")
                process.stdin.flush()
            if event["type"] == "chunk_done":
                process.stdin.write(json.dumps({"type": "shutdown"}) + "\n")
                process.stdin.flush()
            if event["type"] in ("done", "error"):
                break
        assert (
            kinds.index("vram_level")
            < kinds.index("paused")
            < kinds.index("resumed")
            < kinds.index("chunk_done")
        )
        assert kinds[-1] == "done" and kinds.count("paused") == 1
    finally:
        process.kill()
        process.wait(timeout=30)


@pytest.mark.parametrize("value", ["", None])
def test_the_switch_off_injects_nothing(value: str | None) -> None:
    assert faults.MemorySeries(value).next() is None
