"""The runtime's generic process: the loop and dispatcher, the protocol and its
schema, errors, redaction, the parent watch, devices and memory figures, the doctor.

Nothing here imports a job package (``headroom_runtime.embed``, ...) or the dev tools.
"""
