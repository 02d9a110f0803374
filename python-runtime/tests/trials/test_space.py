"""The search space: the default, overrides, and each bad key or range named."""

from __future__ import annotations

from typing import Any

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution

from headroom_runtime.trials.errors import BadInput
from headroom_runtime.trials.space import HIDDEN_CHOICES, parse_space, space_json, trial_spec


def float_dist(low: Any, high: Any, log: bool = False) -> dict[str, Any]:
    return {"name": "FloatDistribution", "attributes": {"low": low, "high": high, "log": log, "step": None}}


def test_the_default_space_is_the_issues() -> None:
    space = parse_space(None, None)
    assert space["hidden"] == CategoricalDistribution(HIDDEN_CHOICES)
    assert set(HIDDEN_CHOICES) >= {
        "256-128-64",
        "128-64-32",
        "512-256-128",
        "256-128",
        "128-64",
        "256-256-128-64",
    }
    assert space["lr"] == FloatDistribution(1e-4, 1e-2, log=True)
    assert space["weight_decay"] == FloatDistribution(1e-6, 1e-2, log=True)
    assert space["dropout"] == FloatDistribution(0.0, 0.3)
    as_json = space_json(space)
    assert as_json["lr"] == {
        "name": "FloatDistribution",
        "attributes": {"low": 1e-4, "high": 1e-2, "log": True, "step": None},
    }
    assert parse_space(as_json, "again.json") == space  # round trip


def test_a_given_key_overrides_the_default_and_the_rest_stay() -> None:
    space = parse_space(
        {
            "lr": float_dist(1e-3, 1e-3 * 2),
            "hidden": {"name": "CategoricalDistribution", "attributes": {"choices": ["8-4", "16"]}},
        },
        "space.json",
    )
    assert space["lr"] == FloatDistribution(1e-3, 2e-3)
    assert space["hidden"].choices == ("8-4", "16")  # type: ignore[attr-defined]
    assert space["dropout"] == FloatDistribution(0.0, 0.3)
    fixed = parse_space(
        {"dropout": {"name": "CategoricalDistribution", "attributes": {"choices": [0.0]}}}, None
    )
    assert fixed["dropout"].choices == (0.0,)  # type: ignore[attr-defined]
    spec = trial_spec(3, {"hidden": "16-8", "lr": 0.001, "weight_decay": 0, "dropout": 0.1}, 42)
    assert spec.hidden == (16, 8) and spec.weight_decay == 0.0 and spec.seed == 42 and spec.number == 3


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            {"momentum": float_dist(0, 1)},
            r"space\.json: unknown key 'momentum'; the known keys are hidden, lr, weight_decay, dropout",
        ),
        (
            {"lr": {"name": "NoSuchDistribution", "attributes": {}}},
            r"space\.json: key 'lr': Unknown distribution class",
        ),
        (
            {"lr": {"name": "FloatDistribution", "attributes": {"lo": 1}}},
            r"space\.json: key 'lr': bad attributes for FloatDistribution",
        ),
        ({"lr": {"name": "FloatDistribution"}}, r"space\.json: key 'lr' must be"),
        ({"lr": float_dist(0.1, 0.01)}, r"space\.json: key 'lr': `low <= high` must hold"),
        (
            {"weight_decay": float_dist(0, 0.1, log=True)},
            r"space\.json: key 'weight_decay': `low > 0` must hold for `log=True`",
        ),
        ({"lr": float_dist(0, 0.1)}, r"space\.json: key 'lr': 0 is out of range \(lr must be above 0\)"),
        (
            {"weight_decay": float_dist(-1, 0.1)},
            r"key 'weight_decay': -1 is out of range \(weight_decay must be at least 0\)",
        ),
        ({"dropout": float_dist(0, 1)}, r"key 'dropout': 1 is out of range \(dropout must be in \[0, 1\)\)"),
        (
            {"dropout": {"name": "CategoricalDistribution", "attributes": {"choices": [0.1, 1.5]}}},
            r"key 'dropout': 1\.5 is out of range",
        ),
        (
            {"hidden": {"name": "CategoricalDistribution", "attributes": {"choices": ["64-32", "64-0"]}}},
            r"key 'hidden': choice '64-0' is not layer widths",
        ),
        (
            {"hidden": {"name": "CategoricalDistribution", "attributes": {"choices": [64]}}},
            r"key 'hidden': choice 64 is not layer widths",
        ),
        ({"hidden": float_dist(1, 2)}, r"key 'hidden' must be a CategoricalDistribution"),
    ],
)
def test_each_bad_space_names_its_key(given: dict[str, Any], message: str) -> None:
    with pytest.raises(BadInput, match=message):
        parse_space(given, "space.json")


def test_without_a_file_the_message_says_space() -> None:
    with pytest.raises(BadInput, match=r"^space: unknown key 'x'"):
        parse_space({"x": float_dist(0, 1)}, None)
