"""A trial's result does not depend on its batch-mates nor their number (bitwise, CPU, 1 thread)."""

from __future__ import annotations

import pytest
import torch
from trialkit import Recorder, make_data, make_specs, same_outcome

from headroom_runtime.trials import batched
from headroom_runtime.trials.specs import TrainConfig, TrainData, TrialSpec


@pytest.fixture(autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)


def run(data: TrainData, specs: list[TrialSpec], concurrency: int, epochs: int = 40) -> Recorder:
    hooks = Recorder(specs)
    batched.train(data, TrainConfig(epochs=epochs, patience=6, device="cpu", concurrency=concurrency), hooks)
    assert sorted(hooks.outcomes) == sorted(s.number for s in specs)
    return hooks


def test_concurrency_20_8_1_give_the_same_bits() -> None:
    data = make_data()
    specs = make_specs(20)
    assert len({s.hidden for s in specs}) == 4 and len({len(s.hidden) for s in specs}) == 2
    results = {c: run(data, specs, c) for c in (20, 8, 1)}
    stopped_early = [o for o in results[20].outcomes.values() if o.epochs < 40]
    assert stopped_early, "patience never stopped a member: the test would not cover compaction"
    for number in range(20):
        ref = results[20].outcomes[number]
        for c in (8, 1):
            assert same_outcome(ref, results[c].outcomes[number]), (
                f"trial {number} differs at concurrency {c}"
            )
    # every trial reported every epoch it trained
    for number, outcome in results[8].outcomes.items():
        epochs = [p.epoch for p in results[8].points if p.number == number]
        assert epochs == list(range(1, outcome.epochs + 1))


def test_three_folds_same_bits_at_any_concurrency() -> None:
    data = make_data(rows=240, folds=3)
    specs = make_specs(6, seed=3)
    results = {c: run(data, specs, c, epochs=25) for c in (18, 7, 3, 1)}
    for number in range(6):
        outcome = results[18].outcomes[number]
        assert len(outcome.weights) == 3 and len(outcome.val_predictions) == 3
        for c in (7, 3, 1):
            assert same_outcome(outcome, results[c].outcomes[number]), f"trial {number} differs at {c}"
    assert results[3].started_calls == [(s.number, 3) for s in specs]


def test_a_member_is_unchanged_when_its_batch_mates_change() -> None:
    data = make_data()
    specs = make_specs(12, seed=11)
    probe = specs[5]
    alone = run(data, [probe], 1).outcomes[probe.number]
    others = [s for s in make_specs(12, seed=99) if s.hidden == probe.hidden]
    mates = [
        TrialSpec(100 + i, s.hidden, s.lr, s.weight_decay, s.dropout, s.seed) for i, s in enumerate(others)
    ]
    crowded = run(data, [*mates[:2], probe, *mates[2:]], 6).outcomes[probe.number]
    assert same_outcome(alone, crowded)
    # and the check can fail: another seed gives other bits
    moved = TrialSpec(probe.number, probe.hidden, probe.lr, probe.weight_decay, probe.dropout, probe.seed + 1)
    assert not same_outcome(alone, run(data, [moved], 1).outcomes[probe.number])
