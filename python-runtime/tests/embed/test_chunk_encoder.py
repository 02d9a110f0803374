"""OOM recovery on CPU through the documented fault-injection switch."""

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from headroom_dev.testing import encode_texts
from headroom_runtime.core.errors import RecycleRuntime
from headroom_runtime.embed.batching import BudgetController
from headroom_runtime.embed.encoder import load_model, token_lengths
from headroom_runtime.embed.errors import DocumentTooLarge

TEXTS = [("chunk of text " * n).strip() for n in (1, 30, 2, 9, 4, 17, 1, 3, 25, 6, 2, 11)]


@pytest.fixture
def loaded(tiny_model: Path) -> Any:
    return load_model(str(tiny_model), "cpu", None)


def too_long(loaded: Any, limit: int) -> list[int]:
    """Rows that do not fit alone under a fault threshold of ``limit`` tokens."""
    lengths, _ = token_lengths(loaded, TEXTS)
    rows = [i for i, n in enumerate(lengths) if n > limit]
    assert 0 < len(rows) < len(TEXTS)
    return rows


def test_ooms_recover_with_every_document_and_the_same_result(
    loaded: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean, _ = encode_texts(loaded, TEXTS)
    monkeypatch.setenv("HEADROOM_FAULT_OOM_TOKENS", "100")
    events: list[dict[str, Any]] = []
    faulty, stats = encode_texts(loaded, TEXTS, events=events)
    np.testing.assert_allclose(faulty, clean, atol=1e-5, rtol=0)
    ooms = [e for e in events if e["type"] == "oom"]
    assert stats.ooms == len(ooms) > 0 and all(e["action"] == "retry" for e in ooms)
    assert [e["budget"] for e in ooms] == sorted((e["budget"] for e in ooms), reverse=True)
    batches = [e for e in events if e["type"] == "batch"]
    assert sum(e["docs"] for e in batches) == len(TEXTS)  # nothing skipped, nothing twice
    assert all(e["padded"] <= 100 for e in batches)


def test_a_document_that_cannot_fit_alone_fails_naming_its_row(
    loaded: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEADROOM_FAULT_OOM_TOKENS", "40")  # TEXTS[1] is longer alone
    with pytest.raises(DocumentTooLarge) as raised:
        encode_texts(loaded, TEXTS)
    assert raised.value.row == too_long(loaded, 40)[0] and raised.value.tokens > 40


def test_cpu_policy_encodes_that_document_on_the_cpu(loaded: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    clean, _ = encode_texts(loaded, TEXTS)
    monkeypatch.setenv("HEADROOM_FAULT_OOM_TOKENS", "40")
    out, stats = encode_texts(loaded, TEXTS, policy="cpu")
    assert stats.cpu_fallbacks == len(too_long(loaded, 40))
    np.testing.assert_allclose(out, clean, atol=1e-5, rtol=0)


def test_truncate_policy_shortens_and_counts(loaded: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    clean, _ = encode_texts(loaded, TEXTS)
    monkeypatch.setenv("HEADROOM_FAULT_OOM_TOKENS", "40")
    out, stats = encode_texts(loaded, TEXTS, policy="truncate")
    rows = too_long(loaded, 40)
    assert stats.oom_truncated == len(rows)
    short = [i for i in range(len(TEXTS)) if i not in rows]
    np.testing.assert_allclose(out[short], clean[short], atol=1e-5, rtol=0)
    assert not np.allclose(out[rows], clean[rows], atol=1e-3)


def test_allocator_assert_asks_for_a_fresh_worker(loaded: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADROOM_FAULT_OOM_TOKENS", "100")
    monkeypatch.setenv("HEADROOM_FAULT_OOM_KIND", "allocator_assert")
    events: list[dict[str, Any]] = []
    with pytest.raises(RecycleRuntime):
        encode_texts(loaded, TEXTS, events=events)
    assert events[-1]["type"] == "oom" and events[-1]["kind"] == "allocator_assert"
    assert events[-1]["action"] == "recycle"


def test_other_errors_never_shrink_the_budget(loaded: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    controller = BudgetController(budget=4096, max_budget=8192)

    def broken(*_: Any, **__: Any) -> Any:
        raise ValueError("not a memory problem")

    monkeypatch.setattr(loaded.model, "encode", broken)
    with pytest.raises(ValueError, match="not a memory problem"):
        encode_texts(loaded, TEXTS, controller=controller)
    assert controller.budget == 4096 and controller.smallest_failed is None


@pytest.mark.parametrize("policy", ["cpu", "truncate"])
@pytest.mark.parametrize("seed", [1, 2])
def test_any_number_of_documents_too_large_alone_finish_under_the_policy(
    loaded: Any, monkeypatch: pytest.MonkeyPatch, policy: Any, seed: int
) -> None:
    """Each such document is the policy's case, not a runtime in a bad state: never a recycle."""
    rng = np.random.default_rng(seed)
    count = int(rng.integers(9, 40))  # past the recycle limit, which counted them before
    words = [int(n) for n in rng.integers(14, 40, size=count)]  # all over 40 tokens, some over the max
    texts = [("chunk of text " * n).strip() for n in words] + ["a short text"] * int(rng.integers(0, 12))
    order = rng.permutation(len(texts))
    texts = [texts[i] for i in order]
    monkeypatch.setenv("HEADROOM_FAULT_OOM_TOKENS", "40")
    events: list[dict[str, Any]] = []
    out, stats = encode_texts(loaded, texts, policy=policy, max_docs=8, events=events)
    lengths, truncated = token_lengths(loaded, texts)
    assert sum(n > 40 for n in lengths) == count
    settled = stats.cpu_fallbacks if policy == "cpu" else stats.oom_truncated
    assert settled == count and stats.truncated == truncated
    assert not any(e["type"] == "oom" and e["action"] == "recycle" for e in events)
    assert out.shape == (len(texts), loaded.dim) and np.isfinite(out).all()


def test_oom_retries_in_a_row_past_the_limit_ask_for_a_fresh_worker(
    loaded: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recycling stays for OOMs that keep coming with no progress at all."""
    from headroom_runtime.embed import chunk_encoder

    monkeypatch.setenv("HEADROOM_FAULT_OOM_TOKENS", "100")
    monkeypatch.setattr(chunk_encoder, "RECYCLE_AFTER_OOMS", 2)
    events: list[dict[str, Any]] = []
    with pytest.raises(RecycleRuntime):
        encode_texts(loaded, ["chunk of text " * 3] * 64, events=events, max_docs=64)
    actions = [e["action"] for e in events if e["type"] == "oom"]
    assert actions == ["retry", "retry", "recycle"]
