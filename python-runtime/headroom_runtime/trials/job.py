"""The trials job's commands: trials_check (data, target and space checked, no run
folder touched), inspect_data (a form's preview of a table), and sweep."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from headroom_runtime.core.job import Context, Handler
from headroom_runtime.core.protocol import Message
from headroom_runtime.trials import data
from headroom_runtime.trials.sweep import Sweep, check, checked_event


class TrialsJob:
    def __init__(self, context: Context) -> None:
        self.context = context

    @property
    def queued(self) -> Mapping[str, Handler]:
        return {"trials_check": self.trials_check, "inspect_data": self.inspect_data, "sweep": self.sweep}

    @property
    def immediate(self) -> Mapping[str, Handler]:
        return {}

    def trials_check(self, command: Message) -> None:
        self.context.send(checked_event(check(command["spec"])))

    def inspect_data(self, command: Message) -> None:
        self.context.send(data.inspect(command["path"]))

    def sweep(self, command: Message) -> None:
        journaled: dict[str, set[int]] = {}
        for key in command["journaled"]:
            journaled.setdefault(key["family"], set()).add(key["number"])
        Sweep(self.context, command["spec"], Path(command["runDir"]), journaled).run()
