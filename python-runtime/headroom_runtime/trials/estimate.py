"""How much memory one member needs, and how many members fit.

Facts measured on CPU (../shared/background/trials-measurements.md): full-batch activations
dominate; 4*N*(3*sum(h) + 2*max(h)) bytes plus 5 copies of the parameters (weights, grads, Adam's
two moments, a temporary) came out 1/0.76 of the measured peak in every case, linear in K and N.
On CUDA the batched engine measures the first batch's peak and lowers concurrency if fewer fit.
"""

from __future__ import annotations

from headroom_runtime.trials.init import layer_sizes

FLOAT = 4
# On a CPU bigger batches lose to serial (facts: batches of 1 run at 1.02x serial, of 20 at
# 0.76x), so `--concurrency auto` trains one member at a time there, through the batched code.
CPU_CONCURRENCY = 1


def parameter_count(hidden: tuple[int, ...], features: int) -> int:
    return sum(fan_in * fan_out + fan_out for fan_in, fan_out in layer_sizes(features, hidden))


def member_bytes(hidden: tuple[int, ...], rows: int, features: int) -> int:
    """Estimated peak bytes of one member trained full-batch on `rows` rows."""
    activations = FLOAT * rows * (3 * sum(hidden) + 2 * max(hidden))
    return activations + 5 * FLOAT * parameter_count(hidden, features)


def concurrency_for(room_bytes: int, member_bytes: int, members_wanted: int) -> int:
    """Members that fit in `room_bytes` at `member_bytes` each, at most `members_wanted`, at least 1."""
    if member_bytes <= 0:
        return max(1, members_wanted)
    return max(1, min(members_wanted, room_bytes // member_bytes))


def auto_concurrency(device: str, room_bytes: int | None, member_bytes: int, members_wanted: int) -> int:
    """`--concurrency auto`: CPU_CONCURRENCY on a CPU; on a GPU what the room holds."""
    if not device.startswith("cuda"):
        return min(CPU_CONCURRENCY, max(1, members_wanted))
    if room_bytes is None:
        return max(1, members_wanted)
    return concurrency_for(room_bytes, member_bytes, members_wanted)
