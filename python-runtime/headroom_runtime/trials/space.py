"""The search space: parameter name -> an Optuna distribution, written as Optuna
serialises it (`distribution_to_json`). A given space overrides keys of the default;
every problem is a `BadInput` naming the key (and the space's file).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    distribution_to_json,
    json_to_distribution,
)

from headroom_runtime.trials.errors import BadInput
from headroom_runtime.trials.specs import TrialSpec

HIDDEN_CHOICES = (
    "256-128-64",
    "128-64-32",
    "512-256-128",
    "256-128",
    "128-64",
    "256-256-128-64",
    "128-128-64-32",
)
Space = dict[str, BaseDistribution]


def default_space() -> Space:
    return {
        "hidden": CategoricalDistribution(HIDDEN_CHOICES),
        "lr": FloatDistribution(1e-4, 1e-2, log=True),
        "weight_decay": FloatDistribution(1e-6, 1e-2, log=True),
        "dropout": FloatDistribution(0.0, 0.3),
    }


KNOWN = tuple(default_space())
_HIDDEN = re.compile(r"^[1-9][0-9]*(-[1-9][0-9]*)*$")
# The range each number must lie in: (lowest, lowest allowed?, highest or None, highest allowed?)
_BOUNDS: dict[str, tuple[float, bool, float | None, bool, str]] = {
    "lr": (0.0, False, None, False, "above 0"),
    "weight_decay": (0.0, True, None, False, "at least 0"),
    "dropout": (0.0, True, 1.0, False, "in [0, 1)"),
}


def hidden_layers(choice: str) -> tuple[int, ...]:
    return tuple(int(width) for width in choice.split("-"))


def _in_bounds(key: str, value: Any) -> bool:
    low, low_ok, high, high_ok, _ = _BOUNDS[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return False
    if value < low or (value == low and not low_ok):
        return False
    return high is None or value < high or (value == high and high_ok)


def _check(key: str, dist: BaseDistribution, where: str) -> None:
    if key == "hidden":
        if not isinstance(dist, CategoricalDistribution):
            raise BadInput(
                f"{where}key 'hidden' must be a CategoricalDistribution of layer shapes like \"256-128-64\""
            )
        for choice in dist.choices:
            if not isinstance(choice, str) or not _HIDDEN.match(choice):
                raise BadInput(
                    f"{where}key 'hidden': choice {choice!r} is not layer widths "
                    '(positive whole numbers joined by -, e.g. "256-128-64")'
                )
        return
    rule = _BOUNDS[key][4]
    if isinstance(dist, CategoricalDistribution):
        values = list(dist.choices)
    elif isinstance(dist, (FloatDistribution, IntDistribution)):
        values = [dist.low, dist.high]
    else:
        raise BadInput(f"{where}key {key!r}: {type(dist).__name__} is not a numeric distribution")
    for value in values:
        if not _in_bounds(key, value):
            shown = (
                f"{value:g}"
                if isinstance(value, (int, float)) and not isinstance(value, bool)
                else repr(value)
            )
            raise BadInput(f"{where}key {key!r}: {shown} is out of range ({key} must be {rule})")


def parse_distribution(key: str, raw: Any, where: str) -> BaseDistribution:
    """One key's distribution as Optuna serialises it ({"name", "attributes"}), or a BadInput naming it."""
    if (
        not isinstance(raw, dict)
        or not isinstance(raw.get("name"), str)
        or not isinstance(raw.get("attributes"), dict)
    ):
        raise BadInput(
            f'{where}key {key!r} must be {{"name": <an Optuna distribution>, "attributes": {{...}}}}'
        )
    try:
        return json_to_distribution(json.dumps({"name": raw["name"], "attributes": raw["attributes"]}))
    except ValueError as exc:
        raise BadInput(f"{where}key {key!r}: {exc}") from None
    except (TypeError, KeyError) as exc:
        raise BadInput(f"{where}key {key!r}: bad attributes for {raw['name']} ({exc})") from None


def parse_space(given: dict[str, Any] | None, source: str | None) -> Space:
    """The space in force: the default with the given keys replaced, each checked."""
    where = f"{source}: " if source else "space: "
    space = default_space()
    for key, raw in (given or {}).items():
        if key not in space:
            raise BadInput(f"{where}unknown key {key!r}; the known keys are {', '.join(KNOWN)}")
        dist = parse_distribution(key, raw, where)
        _check(key, dist, where)
        space[key] = dist
    return space


def space_json(space: Space) -> dict[str, Any]:
    """As the protocol's SearchSpace: each distribution as Optuna serialises it."""
    return {key: json.loads(distribution_to_json(dist)) for key, dist in space.items()}


def trial_spec(number: int, params: dict[str, Any], seed: int) -> TrialSpec:
    return TrialSpec(
        number=number,
        hidden=hidden_layers(str(params["hidden"])),
        lr=float(params["lr"]),
        weight_decay=float(params["weight_decay"]),
        dropout=float(params["dropout"]),
        seed=seed,
    )
