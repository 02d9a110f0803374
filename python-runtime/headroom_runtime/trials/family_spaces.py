"""The families a sweep compares and their spaces: the NN space (space.py) and each tree
library's (trees/families.py), each the family's default with the given keys replaced.
A tree family whose library is missing is refused here, before a run folder exists.
"""

from __future__ import annotations

from typing import Any

from optuna.distributions import BaseDistribution

from headroom_runtime.trials.errors import BadInput
from headroom_runtime.trials.space import parse_space, space_json

FAMILIES = ("nn", "xgboost", "lightgbm", "catboost")
Spaces = dict[str, dict[str, BaseDistribution]]


def parse_spaces(families: list[str], given: dict[str, Any] | None, source: str | None) -> Spaces:
    where = f"{source}: " if source else "space: "
    for key in given or {}:
        if key not in families:
            known = ", ".join(families)
            raise BadInput(f"{where}family {key!r} is not one this sweep searches ({known})")
    spaces: Spaces = {}
    for family in families:
        own = (given or {}).get(family)
        if own is not None and not isinstance(own, dict):
            raise BadInput(f"{where}the space of {family!r} must be an object of parameter -> distribution")
        if family == "nn":
            spaces[family] = parse_space(own, f"{source or 'space'}, family nn" if given else source)
        else:
            from headroom_runtime.trials.trees.families import parse_family_space

            spaces[family] = parse_family_space(family, own, source)
    return spaces


def require_libraries(families: list[str], device: str) -> None:
    """Refuses a tree family whose library cannot be imported, or that has no GPU build when the
    sweep runs on a GPU, with the fix."""
    from headroom_runtime.trials.trees.families import library_status

    for family in families:
        if family == "nn":
            continue
        status = library_status(family)
        if status.version is None:
            raise BadInput(f"family {family!r}: {status.module} is not installed; {status.fix}")
        if device.startswith("cuda") and status.gpu is False and family != "lightgbm":
            # (LightGBM trains on CPU workers below a million rows anyway: trees/plan.py)
            raise BadInput(
                f"family {family!r}: this {status.module} {status.version} has no GPU build; "
                f"{status.fix or 'install its CUDA build'}, or run the sweep with --device cpu"
            )


def spaces_json(spaces: Spaces) -> dict[str, Any]:
    return {family: space_json(space) for family, space in spaces.items()}
