"""GPU checks, run on a machine with CUDA: ``pytest -m gpu``. Deselected by default."""

from pathlib import Path

import numpy as np
import pytest
import torch

from headroom_runtime.encoder import encode, load_model

pytestmark = pytest.mark.gpu

TEXTS = ["A man is eating food.", "The new movie is awesome.", "word " * 300, "short"]


@pytest.fixture(autouse=True)
def _needs_cuda() -> None:
    if not torch.cuda.is_available():
        pytest.fail("the gpu marker was selected on a machine without CUDA")


def test_cuda_matches_cpu(tiny_model: Path) -> None:
    on_gpu = load_model(str(tiny_model), "cuda", None)
    on_cpu = load_model(str(tiny_model), "cpu", None)
    assert on_gpu.device == "cuda:0"
    np.testing.assert_allclose(encode(on_gpu, TEXTS, 2), encode(on_cpu, TEXTS, 2), atol=1e-4)


def test_auto_picks_the_gpu(tiny_model: Path) -> None:
    assert load_model(str(tiny_model), "auto", None).device == "cuda:0"
