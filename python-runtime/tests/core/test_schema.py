"""The runtime's protocol facts come from protocol.schema.json, never restated in Python."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import RUNTIME_DIR

from headroom_runtime.core import errors, schema
from headroom_runtime.core.errors import ReportedError
from headroom_runtime.embed.errors import DocumentTooLarge

SCHEMA = json.loads((RUNTIME_DIR / "headroom_runtime" / "protocol.schema.json").read_text("utf-8"))


def enums_in(node: Any) -> list[list[str]]:
    if isinstance(node, dict):
        found = [node["enum"]] if "enum" in node else []
        return found + [e for value in node.values() for e in enums_in(value)]
    if isinstance(node, list):
        return [e for value in node for e in enums_in(value)]
    return []


def test_the_protocol_version_is_the_schemas() -> None:
    assert SCHEMA["protocol"] == schema.PROTOCOL_VERSION


def test_every_enum_of_the_schema_is_read_by_the_runtime_as_the_schema_lists_it() -> None:
    read = {
        schema.ERROR_CODES,
        schema.LOG_LEVELS,
        schema.OOM_POLICIES,
        schema.BATCHING_MODES,
        schema.MODEL_SOURCES,
        schema.PROBE_METHODS,
        schema.OOM_KINDS,
        schema.OOM_ACTIONS,
        schema.ON_CRITICAL,
        schema.VRAM_LEVELS,
        schema.VRAM_ACTIONS,
        schema.TRIALS_TASKS,
        schema.TRIALS_METRICS,
        schema.DATA_FORMATS,
        schema.TRIALS_ENGINES,
        schema.TRIAL_RUNNERS,
        schema.TRIALS_FAMILIES,
        schema.TREE_WORKER_REASONS,
        schema.TREE_OOM_ACTIONS,
        schema.TRIAL_STATES,
        schema.PEAK_SOURCES,
        schema.CONCURRENCY_REASONS,
        schema.SAMPLERS,
    }
    assert {tuple(e) for e in enums_in(SCHEMA)} == read


def test_every_error_class_reports_a_code_of_the_schema() -> None:
    classes = [ReportedError, *vars(errors).values(), DocumentTooLarge]
    codes = {c.code for c in classes if isinstance(c, type) and issubclass(c, ReportedError)}
    assert codes <= set(schema.ERROR_CODES) and "internal" in codes


def test_a_restated_error_code_the_schema_lacks_fails_at_import() -> None:
    with pytest.raises(TypeError, match="'out_of_coffee' is not an error code of the schema"):

        class OutOfCoffee(ReportedError):
            code = "out_of_coffee"


def test_an_enum_restated_differently_at_two_sites_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The schema itself drifting (one site's OOM policies edited) is caught, not averaged."""
    edited = json.loads(json.dumps(SCHEMA))
    for variant in edited["engineToRuntime"]["oneOf"]:
        if variant["properties"]["type"]["const"] == "set_policy":
            variant["properties"]["oomPolicy"]["enum"] = ["fail", "cpu"]
    monkeypatch.setattr(schema, "schema", lambda: edited)
    with pytest.raises(schema.SchemaMismatch, match="one enum, different lists"):
        schema.same_enum(("command", "set_policy", ("oomPolicy",)), ("event", "policy_set", ("oomPolicy",)))
    assert schema.enum("command", "set_policy", "oomPolicy") == ("fail", "cpu")


def test_the_schema_file_is_the_one_the_package_ships() -> None:
    assert Path(schema.__file__).parents[1] / schema.SCHEMA_FILE == RUNTIME_DIR / "headroom_runtime" / (
        "protocol.schema.json"
    )


def test_the_trials_literals_are_the_schemas() -> None:
    """specs.py types its task and engine names as Literals (for mypy): they must list the schema's."""
    from typing import get_args

    from headroom_runtime.trials import specs

    assert get_args(specs.Task) == schema.TRIALS_TASKS
    assert get_args(specs.EngineName) == schema.TRIALS_ENGINES
