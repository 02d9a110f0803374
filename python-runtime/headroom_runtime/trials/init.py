"""A member's initial state from its trial's seed, shared by every engine.

For each layer (features -> hidden... -> 1), in order, the weight then the bias are drawn exactly
as `torch.nn.Linear.reset_parameters` draws them (kaiming_uniform_(a=sqrt(5)), then the bias
uniform in +-1/sqrt(fan_in)), from a CPU `torch.Generator` seeded with the trial's seed. The
dropout masks continue from that generator: its state right after the last bias is the member's
dropout state. The serial engine copies the tensors into `nn.Linear`s and sets torch's global
RNG to that state; the batched engine stacks them (baddbmm takes their transpose) and gives
each member its own generator with that state, so both start from identical weights and draw
identical masks. Every fold of a trial starts from the same state.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch

from headroom_runtime.trials.specs import TrialSpec


@dataclass(frozen=True)
class InitialState:
    weights: tuple[torch.Tensor, ...]  # per layer, nn.Linear's layout [out, in], CPU float32
    biases: tuple[torch.Tensor, ...]  # per layer [out]
    dropout_state: torch.Tensor  # the CPU generator's state right after the last bias


def layer_sizes(features: int, hidden: tuple[int, ...]) -> list[tuple[int, int]]:
    """(in, out) of every Linear layer, the 1-wide output layer last."""
    widths = [features, *hidden, 1]
    return list(itertools.pairwise(widths))


def linear_names(hidden: tuple[int, ...]) -> list[str]:
    """The state_dict prefix of each Linear in nn.Sequential(Linear, ReLU, Dropout, ..., Linear)."""
    return [str(3 * i) for i in range(len(hidden) + 1)]


def initial_state(spec: TrialSpec, features: int) -> InitialState:
    generator = torch.Generator().manual_seed(spec.seed)
    weights: list[torch.Tensor] = []
    biases: list[torch.Tensor] = []
    for fan_in, fan_out in layer_sizes(features, spec.hidden):
        weight = torch.empty(fan_out, fan_in)
        torch.nn.init.kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
        bound = 1 / math.sqrt(fan_in)
        bias = torch.empty(fan_out)
        torch.nn.init.uniform_(bias, -bound, bound, generator=generator)
        weights.append(weight)
        biases.append(bias)
    return InitialState(tuple(weights), tuple(biases), generator.get_state())


def dropout_generator(state: InitialState, device: str) -> torch.Generator:
    """The member's own generator for its dropout masks, at its state right after init.

    On a CPU it continues the init stream exactly; a CUDA generator cannot take a CPU state, so
    there it is seeded from the first value of that stream (masks differ from the CPU's anyway).
    """
    if device.startswith("cuda"):
        cpu = torch.Generator()
        cpu.set_state(state.dropout_state)
        seed = int(torch.randint(0, 2**62, (1,), generator=cpu).item())
        return torch.Generator(device=device).manual_seed(seed)
    generator = torch.Generator()
    generator.set_state(state.dropout_state)
    return generator
