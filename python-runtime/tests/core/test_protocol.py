import io
import json

import pytest

from headroom_runtime.core.protocol import EventWriter, ProtocolError, parse_command
from headroom_runtime.core.schema import PROTOCOL_VERSION


def test_valid_command_parses() -> None:
    hello = {"type": "hello", "protocol": PROTOCOL_VERSION}
    assert parse_command(json.dumps(hello)) == hello


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("not json", "not JSON"),
        ('{"type":"launch"}', "command"),
        (json.dumps({"type": "hello", "protocol": PROTOCOL_VERSION + 1}), "protocol"),
        ('{"type":"encode","spec":{},"chunks":[]}', "encode"),
        ("[1,2]", "command"),
    ],
)
def test_invalid_commands_are_named(line: str, fragment: str) -> None:
    with pytest.raises(ProtocolError, match=fragment):
        parse_command(line)


def test_event_writer_writes_one_validated_line() -> None:
    out = io.StringIO()
    EventWriter(out).send({"type": "log", "level": "info", "message": "hi"})
    assert json.loads(out.getvalue()) == {"type": "log", "level": "info", "message": "hi"}
    assert out.getvalue().count("\n") == 1


def test_event_writer_refuses_events_outside_the_contract() -> None:
    out = io.StringIO()
    with pytest.raises(ProtocolError):
        EventWriter(out).send({"type": "chunk_done", "index": -1})
    assert out.getvalue() == ""
