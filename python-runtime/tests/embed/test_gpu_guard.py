"""Issue 14's device checks that Python alone can make (the GPU machine has no Node):
``pytest -m gpu``, deselected by default.

- the figures the Engine's monitor reads from nvidia-smi agree with torch's own for this process;
- under a --vram-limit cap the VRAM guard acts on real memory, and the output is still right.
Two workers on one GPU (`--workers cuda:0,cuda:0`) needs the Engine: not here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import BATCHING, run_session

from headroom_dev.testing import encode_texts
from headroom_dev.tiny_model import build_tiny_model
from headroom_runtime.embed.encoder import load_model

pytestmark = pytest.mark.gpu

MIB = 1024**2
GIB = 1024**3
TEXTS = [("chunk of text " * (40 + 7 * i)).strip() for i in range(192)]


@pytest.fixture(autouse=True)
def _needs_cuda() -> None:
    if not torch.cuda.is_available():
        pytest.fail("the gpu marker was selected on a machine without CUDA")


def smi(query: str) -> list[list[str]]:
    """The monitor's own queries (worker/src/panel/nvidiaSmi.ts), in CSV without units."""
    nvidia_smi = shutil.which("nvidia-smi")
    if nvidia_smi is None:
        pytest.skip("no nvidia-smi on PATH")
    out = subprocess.run(
        [nvidia_smi, query, "--format=csv,noheader,nounits"], capture_output=True, text=True, check=True
    ).stdout
    return [[field.strip() for field in line.split(",")] for line in out.splitlines() if line.strip()]


def test_nvidia_smi_figures_agree_with_torch(tmp_path: Path) -> None:
    """What nvidia-smi says this process holds = torch's reserved memory plus the CUDA context."""
    model = load_model(
        str(build_tiny_model(tmp_path / "base", dim=768, layers=12, max_seq_len=512)), "cuda", None
    )
    encode_texts(model, TEXTS, budget=8192)
    torch.cuda.synchronize()
    reserved = torch.cuda.memory_reserved()
    assert reserved > 256 * MIB, "the run should hold a real amount of memory"
    mine = [row for row in smi("--query-compute-apps=pid,used_memory") if row[0] == str(os.getpid())]
    if mine:  # a container lists no process: the device figure below still holds
        used = int(mine[0][1]) * MIB
        context = used - reserved
        assert 0 <= context < 2 * GIB, (
            f"nvidia-smi {used / MIB:.0f} MiB vs torch reserved {reserved / MIB:.0f} MiB"
        )
    gpus = smi("--query-gpu=index,memory.used,memory.total")
    device = torch.cuda.current_device()
    row = next(r for r in gpus if r[0] == str(device))
    used_on_device, total = int(row[1]) * MIB, int(row[2]) * MIB
    assert reserved <= used_on_device <= total
    assert abs(total - torch.cuda.get_device_properties(device).total_memory) < 1 * GIB


def test_the_guard_acts_on_real_memory_under_a_vram_limit(tmp_path: Path) -> None:
    """A 1.5 GiB cap, a critical level below the batcher's target: the guard must shrink."""
    model = build_tiny_model(tmp_path / "base", dim=768, layers=12, max_seq_len=512)
    reference, _ = encode_texts(load_model(str(model), "cuda", None), TEXTS, budget=4096)
    torch.cuda.empty_cache()
    batching = {
        **BATCHING,
        "maxBatch": 192,
        "initialBudget": 192 * 512,
        "vramWarning": 0.6,
        "vramCritical": 0.8,
    }
    spec = {
        "model": str(model),
        "modelKey": "m",
        "device": "cuda",
        "maxSeqLen": None,
        "vramLimit": int(1.5 * GIB),
    }
    out = tmp_path / "chunk-0.npy"
    encode = {
        "type": "encode",
        "spec": spec,
        "batching": batching,
        "chunks": [{"index": 0, "texts": TEXTS, "path": str(out)}],
    }
    events, _ = run_session([encode], timeout=600)
    assert not [e for e in events if e["type"] == "error"], events
    levels = [e for e in events if e["type"] == "vram_level"]
    critical = [e for e in levels if e["level"] == "critical"]
    assert critical and critical[0]["action"] == "shrink" and critical[0]["total"] == int(1.5 * GIB)
    assert critical[0]["used"] >= 0.8 * int(1.5 * GIB)
    np.testing.assert_allclose(np.load(out), reference, atol=1e-4, rtol=0)
