"""Choosing an engine, the streams engine's refusal of a CPU, the memory estimate, the serial engine."""

from __future__ import annotations

import itertools

import pytest
import torch
from trialkit import Recorder, make_data, make_specs

from headroom_runtime.trials import estimate, serial, streams
from headroom_runtime.trials.engines import choose_engine, engine_train
from headroom_runtime.trials.errors import BadInput
from headroom_runtime.trials.init import initial_state
from headroom_runtime.trials.specs import TrainConfig


def test_streams_refuses_a_cpu_device() -> None:
    with pytest.raises(BadInput, match="streams engine needs a CUDA device") as caught:
        streams.train(
            make_data(rows=50), TrainConfig(epochs=1, patience=0, device="cpu", concurrency=2), Recorder([])
        )
    assert caught.value.code == "bad_input"


def test_auto_is_batched_and_an_asked_engine_is_kept() -> None:
    assert choose_engine(None, "cpu")[0] == "batched"
    assert "CPU" in choose_engine(None, "cpu")[1]
    assert choose_engine(None, "cuda:0")[0] == "batched"
    assert choose_engine("serial", "cpu") == ("serial", "--engine serial")
    assert engine_train("streams") is streams.train


def test_memory_estimate_and_concurrency() -> None:
    hidden = (512, 256, 128)
    one = estimate.member_bytes(hidden, 98_000, 62)
    # the facts: ~1.36 GiB per member of [512,256,128] at 98k rows
    assert 1.3 * 2**30 < one < 1.42 * 2**30
    assert estimate.member_bytes(hidden, 2 * 98_000, 62) - one == 4 * 98_000 * (3 * 896 + 2 * 512)
    assert estimate.concurrency_for(11 * one, one, 20) == 11
    assert estimate.concurrency_for(11 * one, one, 5) == 5
    assert estimate.concurrency_for(one // 2, one, 20) == 1
    assert estimate.auto_concurrency("cpu", None, one, 20) == estimate.CPU_CONCURRENCY == 1
    assert estimate.auto_concurrency("cuda:0", 8 * one, one, 20) == 8


def test_initial_state_is_nn_linear_default_init() -> None:
    spec = make_specs(1)[0]
    state = initial_state(spec, 12)
    torch.manual_seed(spec.seed)
    widths = [12, *spec.hidden, 1]
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(widths)):
        linear = torch.nn.Linear(fan_in, fan_out)  # draws from the global RNG, seeded alike
        assert torch.equal(linear.weight.detach(), state.weights[i])
        assert torch.equal(linear.bias.detach(), state.biases[i])
    assert torch.equal(torch.get_rng_state(), state.dropout_state)


def test_serial_engine_hooks_and_early_stopping() -> None:
    torch.set_num_threads(1)
    hooks = Recorder(make_specs(3))
    serial.train(make_data(rows=200), TrainConfig(epochs=200, patience=3, device="cpu", concurrency=1), hooks)
    assert [n for n, _ in hooks.started_calls] == [0, 1, 2]
    for outcome in hooks.outcomes.values():
        assert outcome.best_epoch <= outcome.epochs <= 200
        assert outcome.peak_source == "estimate" and outcome.peak_bytes
        assert outcome.val_predictions[0].dtype.name == "float64"
    assert any(o.epochs < 200 for o in hooks.outcomes.values())
    assert hooks.pauses >= sum(o.epochs for o in hooks.outcomes.values()) - 3
