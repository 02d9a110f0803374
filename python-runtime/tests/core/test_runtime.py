"""The core loop without a job's code: heartbeat, dispatch to registered jobs, error events."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Mapping
from typing import Any

import pytest

from headroom_runtime.core import runtime as runtime_module
from headroom_runtime.core.errors import BadSpec
from headroom_runtime.core.job import Context, Handler, JobEntry
from headroom_runtime.core.protocol import EventWriter, Message
from headroom_runtime.core.runtime import Runtime, dispatch_table


def events_of(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_heartbeats_keep_coming_while_the_main_thread_is_busy(monkeypatch: Any) -> None:
    """A slow model load (here: pure Python holding the GIL) never silences the runtime."""
    monkeypatch.setattr(runtime_module, "HEARTBEAT_EVERY_S", 0.05)
    # The first event builds the schema validators: under a busy main thread that took most of
    # the second on CI. Build them here, so that the second below measures beats alone.
    EventWriter(io.StringIO()).send({"type": "heartbeat"})
    stream = io.StringIO()
    runtime = Runtime(EventWriter(stream))
    runtime.start_heartbeat()
    # Busy (as a load in Python code is) until five beats have come, not for a fixed second: a
    # starved 2-core box fit fewer in one. The bound is for a heartbeat that never comes.
    deadline = time.perf_counter() + 30
    while len(stream.getvalue().splitlines()) < 5 and time.perf_counter() < deadline:
        sum(range(1000))
    runtime.stop_heartbeat()
    beats = events_of(stream)
    assert len(beats) >= 5 and all(beat == {"type": "heartbeat"} for beat in beats)
    time.sleep(0.2)
    assert len(stream.getvalue().splitlines()) == len(beats)  # stopped: nothing after it


class ToyJob:
    """A job in the test tree only: answers `describe` and `set_policy`, fails on `pass_end`."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.seen: list[str] = []

    @property
    def queued(self) -> Mapping[str, Handler]:
        return {"describe": self.describe, "pass_end": self.fail}

    @property
    def immediate(self) -> Mapping[str, Handler]:
        return {"set_policy": self.policy}

    def describe(self, command: Message) -> None:
        self.seen.append("describe")
        self.context.send({"type": "described", "models": []})

    def policy(self, command: Message) -> None:
        self.seen.append("set_policy")
        self.context.send({"type": "policy_set", "oomPolicy": command["oomPolicy"]})

    def fail(self, command: Message) -> None:
        error = BadSpec("no such pass")
        error.document = {"chunk": 7, "row": 1, "tokens": 9}
        raise error


def test_a_registered_job_gets_its_commands_and_the_loop_holds_no_state_of_its_own() -> None:
    made: list[ToyJob] = []

    def create(context: Context) -> ToyJob:
        made.append(ToyJob(context))
        return made[-1]

    stream = io.StringIO()
    runtime = Runtime(EventWriter(stream), [JobEntry("toy", create)])
    lines = [
        '{"type":"set_policy","oomPolicy":"cpu"}',
        '{"type":"describe","specs":[{"model":"m","modelKey":"m","device":"cpu","maxSeqLen":null,"vramLimit":null}]}',
        '{"type":"pass_end","modelKey":"m","release":false}',
        '{"type":"pass_start","spec":{"model":"m","modelKey":"m","device":"cpu","maxSeqLen":null,"vramLimit":null}}',
    ]
    runtime.read_commands(io.StringIO("\n".join(lines) + "\n"))  # ends with an implicit shutdown
    assert runtime.serve() == 0
    events = events_of(stream)
    assert made[0].seen == ["set_policy", "describe"]
    assert events[0] == {"type": "policy_set", "oomPolicy": "cpu"}  # immediate: before the queue runs
    assert {"type": "described", "models": []} in events
    failed, unclaimed = [e for e in events if e["type"] == "error"]
    assert failed["code"] == "bad_spec" and failed["message"] == "no such pass" and failed["fatal"]
    assert failed["document"] == {"chunk": 7, "row": 1, "tokens": 9}
    assert unclaimed["code"] == "bad_message" and "pass_start" in unclaimed["message"]
    assert not unclaimed["fatal"] and events[-1] == {"type": "done"}


def test_the_dispatch_table_refuses_unknown_commands_and_two_owners() -> None:
    def noop(command: Message) -> None:
        return None

    with pytest.raises(ValueError, match=r"'train'.*protocol schema does not define"):
        dispatch_table({}, [("toy", {"train": noop})])
    with pytest.raises(ValueError, match="'describe' claimed by both a and b"):
        dispatch_table({}, [("a", {"describe": noop}), ("b", {"describe": noop})])
    with pytest.raises(ValueError, match="'hello' claimed by both core and toy"):
        dispatch_table({"hello": noop}, [("toy", {"hello": noop})])


def test_no_memory_event_follows_done_even_when_a_sample_is_in_flight(monkeypatch: Any) -> None:
    """The CI race: a memory sample still being taken as the last command ends came after `done`."""
    sampling = threading.Event()
    real_sample = runtime_module.memory.sample

    def slow_sample(device: str, capacity: int | None) -> dict[str, Any]:
        sampling.set()
        time.sleep(0.3)  # the command ends and shutdown is served while this is in hand
        return real_sample(device, capacity)

    monkeypatch.setattr(runtime_module.memory, "sample", slow_sample)

    class QuickJob(ToyJob):
        def describe(self, command: Message) -> None:
            sampling.wait(timeout=60)  # end the command while the sample is being taken
            super().describe(command)

    stream = io.StringIO()
    runtime = Runtime(EventWriter(stream), [JobEntry("toy", QuickJob)])
    threading.Thread(target=runtime.report_memory, daemon=True).start()
    spec = {"model": "m", "modelKey": "m", "device": "cpu", "maxSeqLen": None, "vramLimit": None}
    runtime.read_commands(io.StringIO(json.dumps({"type": "describe", "specs": [spec]}) + "\n"))
    assert runtime.serve() == 0
    time.sleep(0.5)  # a sample sent late would be in the stream by now
    kinds = [event["type"] for event in events_of(stream)]
    assert "memory" in kinds and kinds[-1] == "done", kinds
