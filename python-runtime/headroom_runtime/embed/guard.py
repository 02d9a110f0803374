"""The VRAM guard: memory used, checked after every batch against two levels the Engine hands
over (fractions of the device, or of the run's cap). It keeps one promise: one event per
crossing, never one per batch.

- warning: a `vram_level` event (action "warn"), once, until memory falls back below the level
  by HYSTERESIS (then a new crossing is a new event);
- critical, `shrink`: the token budget halves at once (as an OOM halves it, never below the
  floor) and may not grow past that again in this runtime, and cached memory is released;
- critical, `pause`: the runtime pauses itself, as a `pause` command would; the user resumes.

What "used" is: memory.used (reserved on CUDA, RSS on CPU). On CPU, tests cross the levels with
the documented switch HEADROOM_FAULT_MEMORY_USED (faults.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from headroom_runtime.embed import faults
from headroom_runtime.embed.batching import BudgetController

# A level is crossed again only after memory fell this far (a fraction of the total) below it.
HYSTERESIS = 0.05


@dataclass
class Level:
    at: float
    armed: bool = True

    def crossed(self, fraction: float) -> bool:
        """True once when ``fraction`` reaches the level; re-armed below it by HYSTERESIS."""
        if fraction >= self.at:
            if self.armed:
                self.armed = False
                return True
            return False
        if fraction < self.at - min(HYSTERESIS, self.at / 2):
            self.armed = True
        return False


@dataclass
class VramGuard:
    warning: Level
    critical: Level
    on_critical: str  # one of schema.ON_CRITICAL: "shrink" | "pause"
    series: faults.MemorySeries = field(default_factory=faults.memory_series)

    @classmethod
    def of(cls, batching: dict[str, Any]) -> VramGuard:
        return cls(Level(batching["vramWarning"]), Level(batching["vramCritical"]), batching["onCritical"])

    def set_levels(self, batching: dict[str, Any]) -> None:
        """A later encode's levels (the same run: the same levels, unless changed)."""
        for level, at in ((self.warning, batching["vramWarning"]), (self.critical, batching["vramCritical"])):
            if level.at != at:
                level.at, level.armed = at, True
        self.on_critical = batching["onCritical"]

    def check(
        self,
        used: int | None,
        total: int | None,
        controller: BudgetController,
        floor: int,
        release: Callable[[], None],
        pause: Callable[[], None],
    ) -> dict[str, Any] | None:
        """After a batch: the `vram_level` event to send, having acted on it; None if none was crossed."""
        if total is None or total <= 0:
            return None
        injected = self.series.next()
        if injected is not None:
            used = int(injected * total)
        if used is None:
            return None
        fraction = used / total
        warning = self.warning.crossed(fraction)
        if self.critical.crossed(fraction):
            self.warning.armed = False  # the critical event says it; no warning after it
            event = {"type": "vram_level", "level": "critical", "used": used, "total": total}
            if self.on_critical == "pause":
                pause()
                return {**event, "action": "pause", "budget": None}
            controller.on_pressure(floor)
            release()
            return {**event, "action": "shrink", "budget": controller.budget}
        if warning:
            event = {"type": "vram_level", "level": "warning", "used": used, "total": total}
            return {**event, "action": "warn", "budget": None}
        return None
