"""An OOM (injected by HEADROOM_FAULT_OOM_MEMBERS) halves the concurrency and restarts the unfinished
members from their initial state: every trial finishes, with the bits of a clean run."""

from __future__ import annotations

import pytest
import torch
from trialkit import Recorder, make_data, make_specs, same_outcome

from headroom_runtime.trials import batched, faults
from headroom_runtime.trials.specs import TrainConfig


def run(concurrency: int, folds: int = 1) -> Recorder:
    torch.set_num_threads(1)
    hooks = Recorder(make_specs(10, seed=5))
    data = make_data(rows=200, folds=folds)
    batched.train(data, TrainConfig(epochs=20, patience=4, device="cpu", concurrency=concurrency), hooks)
    return hooks


def test_oom_halves_concurrency_and_results_do_not_change(monkeypatch: pytest.MonkeyPatch) -> None:
    clean = run(8)
    assert not clean.ooms and not clean.changes
    monkeypatch.setenv(faults.OOM_MEMBERS, "4")
    hit = run(8)
    assert sorted(hit.outcomes) == list(range(10))
    assert hit.changes == [(4, "oom", None, None)]
    members, concurrency, restarted = hit.ooms[0]
    assert (members, concurrency) == (8, 4) and restarted == list(range(8))
    for number in range(10):
        assert same_outcome(clean.outcomes[number], hit.outcomes[number]), f"trial {number} changed"
    assert [n for n, _ in hit.started_calls] == list(range(10)), "a restarted trial was started twice"


def test_oom_with_folds_restarts_whole_trials(monkeypatch: pytest.MonkeyPatch) -> None:
    clean = run(6, folds=2)
    monkeypatch.setenv(faults.OOM_MEMBERS, "3")
    hit = run(6, folds=2)
    assert hit.changes[0] == (3, "oom", None, None)
    for number in range(10):
        assert same_outcome(clean.outcomes[number], hit.outcomes[number])


def test_oom_below_one_member_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(faults.OOM_MEMBERS, "0")
    with pytest.raises(torch.OutOfMemoryError):
        run(4)
