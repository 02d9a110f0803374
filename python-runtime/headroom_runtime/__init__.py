"""Headroom's Python runtime, started as ``python -m headroom_runtime``.

``core/`` is the generic process (loop, protocol, schema); each job is a package
(``embed/``) registered in ``jobs.py``. Dev tools live in ``headroom_dev``.
"""

__version__ = "0.1.0"
