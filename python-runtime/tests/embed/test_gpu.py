"""GPU checks, run on a machine with CUDA: ``pytest -m gpu``. Deselected by default."""

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from headroom_dev.testing import encode_texts
from headroom_dev.tiny_model import build_tiny_model
from headroom_runtime.embed.batching import BudgetController
from headroom_runtime.embed.encoder import load_model

pytestmark = pytest.mark.gpu

TEXTS = ["A man is eating food.", "The new movie is awesome.", "word " * 300, "short"]
GIB = 1024**3


@pytest.fixture(autouse=True)
def _needs_cuda() -> None:
    if not torch.cuda.is_available():
        pytest.fail("the gpu marker was selected on a machine without CUDA")


def test_cuda_matches_cpu(tiny_model: Path) -> None:
    on_gpu = load_model(str(tiny_model), "cuda", None)
    on_cpu = load_model(str(tiny_model), "cpu", None)
    assert on_gpu.device == "cuda:0"
    np.testing.assert_allclose(encode_texts(on_gpu, TEXTS)[0], encode_texts(on_cpu, TEXTS)[0], atol=1e-4)


def test_vram_limit_produces_real_ooms_that_recover_to_the_same_result(tmp_path: Path) -> None:
    """A bge-base-sized model (random weights) under a 1.5 GiB cap, over long documents."""
    model = build_tiny_model(tmp_path / "base", dim=768, layers=12, max_seq_len=512)
    texts = [("chunk of text " * (40 + 7 * i)).strip() for i in range(192)]
    free = load_model(str(model), "cuda", None)
    reference, _ = encode_texts(free, texts, budget=4096)
    del free
    torch.cuda.empty_cache()
    capped = load_model(str(model), "cuda", None, vram_limit=int(1.5 * GIB))
    assert capped.capacity == int(1.5 * GIB)
    events: list[dict[str, Any]] = []
    controller = BudgetController(budget=192 * 512, max_budget=192 * 512, capacity=capped.capacity)
    out, stats = encode_texts(capped, texts, events=events, controller=controller)
    assert stats.ooms > 0, "the cap should have produced at least one real OOM"
    assert all(e["action"] == "retry" for e in events if e["type"] == "oom")
    np.testing.assert_allclose(out, reference, atol=1e-5, rtol=0)
