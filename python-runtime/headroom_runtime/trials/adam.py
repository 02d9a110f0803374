"""Adam for stacked parameters: K members in one [K, ...] tensor each, per-member lr, weight decay
and step count.

The ops are those of torch's single-tensor Adam (torch/optim/adam.py `_single_tensor_adam`,
non-capturable path) in the same order, with each per-member scalar turned into a [K, 1, ...]
tensor holding exactly the float32 value torch's kernel would cast the scalar to:

    grad = grad.add(param, alpha=wd)               -> addcmul(grad, param, wd_k)   (same rounding)
    exp_avg.lerp_(grad, 1 - beta1)                 (same scalar for every member)
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    denom = (exp_avg_sq.sqrt() / bc2_sqrt).add_(eps)   bc2_sqrt = (1 - beta2**step) ** 0.5
    param.addcdiv_(exp_avg, denom, value=-step_size)   -> param += (-step_size_k * exp_avg) / denom

The per-member scalars are computed in Python doubles, as torch computes them. Every op is
elementwise, so a member's values never depend on its batch-mates (tested, bitwise).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

BETA1 = 0.9
BETA2 = 0.999
EPS = 1e-8


@dataclass
class MomentState:
    """Adam's moments for one stacked parameter."""

    exp_avg: torch.Tensor
    exp_avg_sq: torch.Tensor


def zero_state(param: torch.Tensor) -> MomentState:
    return MomentState(torch.zeros_like(param), torch.zeros_like(param))


def _per_member(values: Sequence[float], like: torch.Tensor) -> torch.Tensor:
    return torch.tensor(values, dtype=like.dtype, device=like.device)


@torch.no_grad()
def adam_step(
    params: Sequence[torch.Tensor],
    states: Sequence[MomentState],
    steps: Sequence[int],
    lr: Sequence[float],
    weight_decay: Sequence[float],
    beta1: float = BETA1,
    beta2: float = BETA2,
    eps: float = EPS,
) -> None:
    """One Adam step for every stacked parameter (each [K, ...], grad set).

    `steps` are the members' step counts after this step (1 on a member's first step).
    """
    if not params:
        return
    first = params[0]
    k = first.shape[0]
    if not (len(steps) == len(lr) == len(weight_decay) == k):
        raise ValueError(f"steps, lr and weight_decay need one value per member ({k})")
    neg_step_size = []
    bc2_sqrt = []
    for step, member_lr in zip(steps, lr, strict=True):
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        neg_step_size.append(-(member_lr / bias_correction1))
        bc2_sqrt.append(bias_correction2**0.5)
    step_t = _per_member(neg_step_size, first)
    bc2_t = _per_member(bc2_sqrt, first)
    decay = any(wd != 0 for wd in weight_decay)
    wd_t = _per_member(weight_decay, first) if decay else None
    for param, state in zip(params, states, strict=True):
        grad = param.grad
        if grad is None:
            raise ValueError("adam_step: a parameter has no gradient")
        shape = (k,) + (1,) * (param.dim() - 1)
        if wd_t is not None:
            grad = torch.addcmul(grad, param, wd_t.view(shape))
        state.exp_avg.lerp_(grad, 1 - beta1)
        state.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        denom = (state.exp_avg_sq.sqrt() / bc2_t.view(shape)).add_(eps)
        param.add_(step_t.view(shape) * state.exp_avg / denom)
