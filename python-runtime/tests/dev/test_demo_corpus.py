from headroom_dev.demo_corpus import build


def test_demo_corpus_is_real_long_tailed_text() -> None:
    records = build(3000)
    assert len(records) == 3000
    assert len({r["id"] for r in records}) == 3000
    lengths = sorted(len(r["text"]) for r in records)
    median, p99 = lengths[len(lengths) // 2], lengths[int(len(lengths) * 0.99)]
    assert p99 > 8 * median  # a long tail: the case dynamic batching exists for
    assert build(3000) == records  # the same corpus every time on one Python
