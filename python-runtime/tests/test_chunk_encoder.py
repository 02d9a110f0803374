"""OOM recovery on CPU through the documented fault-injection switch."""

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from headroom_runtime.batching import BudgetController
from headroom_runtime.encoder import load_model, token_lengths
from headroom_runtime.errors import DocumentTooLarge, RecycleWorker
from headroom_runtime.testing import encode_texts

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
    with pytest.raises(RecycleWorker):
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
