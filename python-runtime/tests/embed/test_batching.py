import random

from headroom_runtime.embed.batching import PAD_RATIO, BudgetController, longest_first, plan


def skewed_lengths(n: int, seed: int = 0) -> list[int]:
    rng = random.Random(seed)
    return [min(512, int(rng.paretovariate(1.2) * 12)) for _ in range(n)]


def test_plan_covers_every_document_once_longest_first() -> None:
    lengths = skewed_lengths(1000)
    batches = plan(lengths, budget=4096, min_docs=8, max_docs=256)
    seen = [i for batch in batches for i in batch.indices]
    assert sorted(seen) == list(range(1000))
    assert seen == longest_first(lengths)
    assert [b.width for b in batches] == sorted((b.width for b in batches), reverse=True)


def test_batches_respect_the_budget_ceiling_and_padding_ratio() -> None:
    lengths = skewed_lengths(2000, seed=1)
    for batch in plan(lengths, budget=4096, min_docs=8, max_docs=256):
        assert len(batch.indices) <= 256
        assert batch.padded_tokens <= 4096  # memory always wins
        if len(batch.indices) > 8:  # above the floor, padding is bounded too
            assert min(lengths[i] for i in batch.indices) >= PAD_RATIO * batch.width


def test_token_budget_packs_far_less_padding_than_fixed_batches_in_input_order() -> None:
    lengths = skewed_lengths(3000, seed=2)
    real = sum(lengths)
    fixed = sum(max(lengths[i : i + 32]) * len(lengths[i : i + 32]) for i in range(0, 3000, 32))
    packed = sum(b.padded_tokens for b in plan(lengths, budget=8192, min_docs=8, max_docs=512))
    assert real / packed > 0.85
    assert real / fixed < 0.5


def test_after_an_oom_the_budget_settles_near_the_limit_not_at_half() -> None:
    limit = 1000  # batches above this many padded tokens fail
    controller = BudgetController(budget=4096, max_budget=8192)
    for _ in range(40):
        tokens = controller.budget
        if tokens > limit:
            controller.on_oom(tokens)
        else:
            controller.on_success(tokens, peak=None)
    assert controller.smallest_failed is not None and controller.smallest_failed > limit
    assert 0.9 * limit <= controller.budget <= limit


def test_budget_grows_under_the_target_and_shrinks_above_it() -> None:
    controller = BudgetController(budget=1000, max_budget=100_000, target_fraction=0.85, capacity=1000)
    controller.on_success(1000, peak=300)
    assert controller.budget == 1250
    controller.on_success(1250, peak=950)
    assert controller.budget == 1125
    controller.on_success(10, peak=300)  # a short batch says nothing about the budget
    assert controller.budget == 1125


def test_cpu_budget_does_not_grow_without_a_memory_signal() -> None:
    controller = BudgetController(budget=500, max_budget=10_000)
    controller.on_success(500, peak=None)
    assert controller.budget == 500


def test_the_remembered_budget_is_one_that_worked() -> None:
    controller = BudgetController(budget=1000, max_budget=8192)
    controller.on_oom(1000)
    controller.on_success(500, peak=None)
    assert controller.budget == 750  # the next bisection step, untried
    assert controller.proven == 500
