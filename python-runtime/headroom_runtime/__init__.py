"""Headroom's Python worker: started as ``python -m headroom_runtime``."""

__version__ = "0.1.0"
