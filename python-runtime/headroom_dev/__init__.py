"""Dev tools beside the runtime, never part of it: the tiny test model
(``python -m headroom_dev.tiny_model``), the demo corpus
(``python -m headroom_dev.demo_corpus``), test helpers and benchmarks."""
