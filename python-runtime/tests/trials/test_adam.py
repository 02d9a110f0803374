"""The batched Adam against torch.optim.Adam, member by member."""

from __future__ import annotations

import torch

from headroom_runtime.trials.adam import MomentState, adam_step, zero_state

SHAPES = [(13, 7), (7,), (1, 7), (1,)]  # odd sizes: no member sits on a vector boundary
LR = [1e-3, 3e-4, 1e-2, 5e-3, 2e-3]
WD = [0.0, 1e-4, 1e-2, 0.0, 3e-3]
JOIN = [0, 0, 7, 19, 33]  # the step at which each member joins the batch
STEPS = 50


def grad_for(member: int, step: int, shape: tuple[int, ...]) -> torch.Tensor:
    g = torch.Generator().manual_seed(1000 * member + 10 * step + len(shape))
    return torch.randn(shape, generator=g)


def reference(member: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(member)
    params = [torch.randn(s, generator=g).requires_grad_() for s in SHAPES]
    opt = torch.optim.Adam(params, lr=LR[member], weight_decay=WD[member])
    for step in range(STEPS):
        for p, s in zip(params, SHAPES, strict=True):
            p.grad = grad_for(member, step, s)
        opt.step()
    return [p.detach() for p in params]


def test_batched_adam_equals_torch_adam_per_member() -> None:
    torch.set_num_threads(1)
    expected = [reference(m) for m in range(len(LR))]
    # Members train for STEPS steps each, joining at different global steps; the stack is rebuilt
    # when one joins or leaves, as the batched engine does.
    done: dict[int, list[torch.Tensor]] = {}
    running: list[int] = []
    own_step: dict[int, int] = {}
    params: list[torch.Tensor] = []
    states: list[MomentState] = []
    t = 0
    while len(done) < len(LR):
        rows = {m: i for i, m in enumerate(running)}
        joining = [m for m in range(len(LR)) if JOIN[m] == t and m not in own_step]
        leaving = [m for m in running if own_step[m] == STEPS]
        if joining or leaving:
            keep = [m for m in running if m not in leaving]
            for m in leaving:
                done[m] = [p[rows[m]].clone() for p in params]
            new_params, new_states = [], []
            for j, s in enumerate(SHAPES):
                parts = [params[j][rows[m]] for m in keep]
                avg = [states[j].exp_avg[rows[m]] for m in keep]
                sq = [states[j].exp_avg_sq[rows[m]] for m in keep]
                for m in joining:
                    g = torch.Generator().manual_seed(m)
                    init = [torch.randn(s2, generator=g) for s2 in SHAPES]
                    parts.append(init[j])
                    avg.append(torch.zeros(s))
                    sq.append(torch.zeros(s))
                if parts:
                    new_params.append(torch.stack(parts).requires_grad_())
                    new_states.append(MomentState(torch.stack(avg), torch.stack(sq)))
            running = keep + joining
            for m in joining:
                own_step[m] = 0
            params, states = new_params, new_states
        if running:
            for j, s in enumerate(SHAPES):
                params[j].grad = torch.stack([grad_for(m, own_step[m], s) for m in running])
            for m in running:
                own_step[m] += 1
            adam_step(
                params,
                states,
                [own_step[m] for m in running],
                [LR[m] for m in running],
                [WD[m] for m in running],
            )
        t += 1
    bitwise = True
    for m in range(len(LR)):
        for got, want in zip(done[m], expected[m], strict=True):
            assert (got - want).abs().max().item() <= 1e-6
            bitwise = bitwise and torch.equal(got, want)
    assert bitwise, "the batched Adam matched within 1e-6 but not bit for bit"


def test_zero_state_shape() -> None:
    p = torch.ones(3, 4, 5)
    state = zero_state(p)
    assert state.exp_avg.shape == p.shape and not state.exp_avg_sq.any()
