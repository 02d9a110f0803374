from pathlib import Path

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from headroom_dev.testing import encode_texts
from headroom_runtime.core.errors import BadDevice, BadSpec
from headroom_runtime.embed.encoder import LoadedModel, load_model, token_lengths
from headroom_runtime.embed.models import DEFAULT_MODEL, bundled_folder

TEXTS = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The new movie is awesome.",
    "A cheetah is running behind its prey.",
    "word " * 400,
    "",
]


def test_matches_sentence_transformers_directly(tiny_model: Path) -> None:
    loaded = load_model(str(tiny_model), "cpu", None)
    ours, _ = encode_texts(loaded, TEXTS, budget=64)
    direct = SentenceTransformer(str(tiny_model), device="cpu").encode(TEXTS, batch_size=2)
    assert ours.dtype == np.float32 and ours.shape == (len(TEXTS), loaded.dim)
    np.testing.assert_allclose(ours, direct, atol=1e-5, rtol=0)


def test_default_model_matches_and_knows_paraphrases() -> None:
    loaded = load_model(DEFAULT_MODEL, "auto", None)
    ours, _ = encode_texts(loaded, TEXTS[:4])
    direct = SentenceTransformer(str(bundled_folder(DEFAULT_MODEL)), device=loaded.device).encode(TEXTS[:4])
    np.testing.assert_allclose(ours, direct, atol=1e-5, rtol=0)
    assert loaded.dim == 384 and loaded.max_seq_len == 256
    similarity = ours @ ours.T  # the model normalises: dot product is cosine
    # all-MiniLM-L6-v2 puts the two paraphrases near 0.75 and unrelated pairs near 0.
    assert similarity[0, 1] > 0.6
    assert similarity[0, 1] > similarity[0, 2] + 0.4
    assert similarity[0, 1] > similarity[1, 3] + 0.4


def test_truncated_documents_are_counted(tiny_model: Path) -> None:
    loaded = load_model(str(tiny_model), "cpu", None)
    lengths, truncated = token_lengths(loaded, TEXTS)
    assert truncated == 1 and max(lengths) == loaded.max_seq_len == 64
    shorter: LoadedModel = load_model(str(tiny_model), "cpu", 4)
    assert shorter.max_seq_len == 4
    assert token_lengths(shorter, TEXTS)[1] == 5  # all but the empty one exceed 4 tokens


def test_max_seq_len_beyond_the_model_is_refused(tiny_model: Path) -> None:
    with pytest.raises(BadSpec, match="exceeds"):
        load_model(str(tiny_model), "cpu", 10_000)


def test_cuda_without_a_gpu_is_refused(tiny_model: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(BadDevice, match="no CUDA device"):
        load_model(str(tiny_model), "cuda:0", None)
