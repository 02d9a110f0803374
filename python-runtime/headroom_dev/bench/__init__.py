"""Benchmarks runnable from Python alone (the GPU machine has no Node)."""
