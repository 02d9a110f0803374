"""The protocol's facts, read from protocol.schema.json (generated from
worker/src/contract/protocol.ts by `npm run schema`): its version, the command
and event types, and every enum. Python restates none of them.

An enum is read where the schema declares it (``enum("command", "set_policy",
"oomPolicy")``); one that appears in several messages (the OOM policy) is read
from all of them and must be the same list everywhere.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any, Literal

Direction = Literal["command", "event"]

SCHEMA_FILE = "protocol.schema.json"
# The schema's two sections: Engine -> runtime (commands), runtime -> Engine (events).
SECTIONS: dict[Direction, str] = {"command": "engineToRuntime", "event": "runtimeToEngine"}


class SchemaMismatch(RuntimeError):
    """The schema does not say what this runtime expects of it (regenerate it, or fix the code)."""


@cache
def schema() -> dict[str, Any]:
    text = resources.files("headroom_runtime").joinpath(SCHEMA_FILE).read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def section(direction: Direction) -> dict[str, Any]:
    found: dict[str, Any] = schema()[SECTIONS[direction]]
    return found


def messages(direction: Direction) -> dict[str, dict[str, Any]]:
    """Each message's JSON schema by its ``type``."""
    out: dict[str, dict[str, Any]] = {}
    for variant in section(direction)["oneOf"]:
        out[variant["properties"]["type"]["const"]] = variant
    return out


def _field(node: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    for name in path:
        if "items" in node and "properties" not in node:
            node = node["items"]
        node = node["properties"][name]
    return node


def enum(direction: Direction, message: str, *path: str) -> tuple[str, ...]:
    """The enum at ``path`` inside ``message`` (array items are stepped through)."""
    node = _field(messages(direction)[message], path)
    if "items" in node and "enum" not in node:  # a list of the enum's values
        node = node["items"]
    if "enum" not in node:  # a nullable enum: anyOf [{enum}, {type: null}]
        node = next((n for n in node.get("anyOf", ()) if "enum" in n), node)
    if "enum" not in node:
        raise SchemaMismatch(f"{direction} {message!r} field {'.'.join(path)} is not an enum")
    return tuple(node["enum"])


def same_enum(*sites: tuple[Direction, str, tuple[str, ...]]) -> tuple[str, ...]:
    """One enum declared at several sites; a schema where they differ is refused."""
    found = {site: enum(site[0], site[1], *site[2]) for site in sites}
    lists = set(found.values())
    if len(lists) != 1:
        raise SchemaMismatch(f"one enum, different lists in the schema: {found}")
    return lists.pop()


def _protocol_version() -> int:
    version = schema()["protocol"]
    sites: tuple[tuple[Direction, str], ...] = (("command", "hello"), ("event", "ready"))
    for direction, message in sites:
        const = _field(messages(direction)[message], ("protocol",)).get("const")
        if const != version:
            raise SchemaMismatch(f"{message}.protocol is {const!r}, the schema's protocol is {version!r}")
    if not isinstance(version, int):
        raise SchemaMismatch(f"the schema's protocol is {version!r}, not an integer")
    return version


PROTOCOL_VERSION = _protocol_version()
COMMAND_TYPES = tuple(messages("command"))
EVENT_TYPES = tuple(messages("event"))
ERROR_CODES = enum("event", "error", "code")
LOG_LEVELS = enum("event", "log", "level")
OOM_POLICIES = same_enum(
    ("command", "set_policy", ("oomPolicy",)),
    ("event", "policy_set", ("oomPolicy",)),
)
BATCHING_MODES = enum("command", "encode", "batching", "mode")
MODEL_SOURCES = same_enum(
    ("event", "described", ("models", "source")),
    ("event", "pass_started", ("source",)),
)
PROBE_METHODS = enum("event", "probe", "method")
OOM_KINDS = enum("event", "oom", "kind")
OOM_ACTIONS = enum("event", "oom", "action")
# The VRAM guard's (embed/guard.py)
ON_CRITICAL = enum("command", "encode", "batching", "onCritical")
VRAM_LEVELS = enum("event", "vram_level", "level")
VRAM_ACTIONS = enum("event", "vram_level", "action")
# The trials job's (worker/src/contract/trialsProtocol.ts)
TRIALS_TASKS = enum("event", "trials_checked", "task")
TRIALS_METRICS = enum("event", "trials_checked", "metric")
DATA_FORMATS = enum("event", "data_inspected", "format")
TRIALS_ENGINES = enum("command", "sweep", "spec", "engine")
TRIAL_RUNNERS = same_enum(
    ("event", "sweep_opened", ("engine",)),
    ("event", "trial_done", ("result", "engine")),
)
TRIALS_FAMILIES = same_enum(
    ("event", "sweep_opened", ("family",)),
    ("event", "trial_started", ("family",)),
    ("event", "trial_done", ("result", "family")),
    ("event", "tree_worker", ("family",)),
    ("event", "tree_oom", ("family",)),
    ("event", "tree_baseline", ("family",)),
    ("event", "family_done", ("family",)),
    ("command", "sweep", ("spec", "families")),
    ("command", "sweep", ("journaled", "family")),
)
TREE_WORKER_REASONS = enum("event", "tree_worker", "reason")
TREE_OOM_ACTIONS = enum("event", "tree_oom", "action")
TRIAL_STATES = enum("event", "trial_done", "result", "state")
PEAK_SOURCES = enum("event", "trial_done", "result", "peakSource")
CONCURRENCY_REASONS = enum("event", "concurrency", "reason")
SAMPLERS = enum("command", "sweep", "spec", "sampler")
