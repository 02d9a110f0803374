"""Token-budget batching: documents sorted longest first and packed so that the
padded tokens of a batch stay under a budget, with at most a ceiling of documents
and, where a batch is split to save padding, at least a floor. The budget follows
memory: it grows while the peak stays under the target, and after an
out-of-memory error it settles between the largest batch that worked and the
smallest that failed, instead of staying at half.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

GROWTH = 1.25  # per successful batch while memory is well under the target
SHRINK = 0.9  # per batch whose peak went over the target
HEADROOM_BAND = 0.9  # grow only while the peak is under 90% of the target
PAD_RATIO = 0.8  # documents in a batch are at least this fraction of its longest: >= 80% real tokens


@dataclass(frozen=True)
class Batch:
    indices: tuple[int, ...]  # positions in the chunk
    width: int  # padded length: the longest document's tokens

    @property
    def padded_tokens(self) -> int:
        return len(self.indices) * self.width


def longest_first(lengths: Sequence[int]) -> list[int]:
    """Positions sorted by length, longest first; ties keep input order (stable)."""
    return sorted(range(len(lengths)), key=lambda i: -lengths[i])


def next_batch(
    order: Sequence[int],
    lengths: Sequence[int],
    start: int,
    budget: int,
    min_docs: int,
    max_docs: int,
    cap: int | None = None,
) -> Batch:
    """The batch that starts at ``order[start]`` (order: longest first).

    It holds budget // width documents, at most ``max_docs`` (and ``cap``, on a retry
    after an OOM): memory always wins. It also ends where documents get shorter than
    PAD_RATIO of its width, so a big budget does not pad short documents to a long
    one, but that split never leaves fewer than ``min_docs`` documents.
    """
    width = max(1, lengths[order[start]])
    size = max(1, min(max_docs, budget // width))
    if cap is not None:
        size = min(size, cap)
    end = min(len(order), start + size)
    keep = min(end, start + min_docs)
    while keep < end and lengths[order[keep]] >= PAD_RATIO * width:
        keep += 1
    return Batch(tuple(order[start:keep]), width)


def plan(lengths: Sequence[int], budget: int, min_docs: int, max_docs: int) -> list[Batch]:
    """The whole plan for a fixed budget."""
    order = longest_first(lengths)
    batches: list[Batch] = []
    start = 0
    while start < len(order):
        batches.append(next_batch(order, lengths, start, budget, min_docs, max_docs))
        start += len(batches[-1].indices)
    return batches


@dataclass
class BudgetController:
    """Tracks the token budget of one runtime across chunks."""

    budget: int
    max_budget: int
    target_fraction: float = 0.85
    capacity: int | None = None  # bytes the runtime may use (device or cap); None on CPU
    largest_ok: int = 0  # padded tokens of the largest batch that worked since the last OOM
    smallest_failed: int | None = None
    pressure_cap: int | None = None  # set by the VRAM guard's shrink: the budget never grows past it

    def on_pressure(self, floor: int) -> None:
        """The VRAM guard's critical level: halve now (as an OOM does), never below ``floor``
        tokens, and grow no more past the halved budget in this runtime."""
        self._set(max(floor, self.budget // 2))
        self.pressure_cap = self.budget

    def on_success(self, padded_tokens: int, peak: int | None) -> None:
        self.largest_ok = max(self.largest_ok, padded_tokens)
        proposal = self.budget
        if self.capacity is not None and peak is not None:
            target = self.target_fraction * self.capacity
            if peak > target:
                proposal = int(self.budget * SHRINK)
            elif peak < HEADROOM_BAND * target and padded_tokens >= self.budget // 2:
                proposal = int(self.budget * GROWTH)
        if self.smallest_failed is not None:
            # Bisect between what worked and what failed rather than staying at half.
            proposal = max(proposal, (self.largest_ok + self.smallest_failed) // 2)
            proposal = min(proposal, self.smallest_failed - 1)
        self._set(proposal)

    def on_oom(self, padded_tokens: int) -> None:
        """Lower the budget for a retry of the same documents: to the largest size that
        worked if it is at least half the failed one, else to half."""
        if self.smallest_failed is None or padded_tokens < self.smallest_failed:
            self.smallest_failed = padded_tokens
        if self.largest_ok >= padded_tokens:  # memory got tighter: old successes say nothing
            self.largest_ok = 0
        self._set(max(self.largest_ok, padded_tokens // 2))

    @property
    def proven(self) -> int:
        """The budget to remember for the next run: after an OOM, the largest batch that
        actually worked, not a bisection step that has not been tried yet."""
        if self.smallest_failed is not None and self.largest_ok > 0:
            return min(self.budget, self.largest_ok)
        return self.budget

    def _set(self, value: int) -> None:
        if self.pressure_cap is not None:
            value = min(value, self.pressure_cap)
        self.budget = max(1, min(self.max_budget, value))
