"""Chunk files: written to a temporary name, fsynced, renamed, then the folder fsynced."""

from __future__ import annotations

import hashlib
import io
import os
import signal

import numpy as np
import numpy.typing as npt

# Test-only fault injection: SIGKILL this runtime right after the rename of the
# chunk with this index and before its chunk_done line, the one moment that
# leaves a complete file the journal does not know.
FAULT_KILL_AFTER_RENAME = "HEADROOM_FAULT_KILL_AFTER_RENAME"


def npy_bytes(matrix: npt.NDArray[np.float32]) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(
        buffer, np.ascontiguousarray(matrix, dtype="<f4"), version=(1, 0), allow_pickle=False
    )
    return buffer.getvalue()


def write_chunk(path: str, matrix: npt.NDArray[np.float32], index: int) -> str:
    """Write ``matrix`` as a .npy file at ``path`` atomically; return its sha256."""
    data = npy_bytes(matrix)
    digest = hashlib.sha256(data).hexdigest()
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    temporary = f"{path}.tmp-{os.getpid()}"
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    if os.environ.get(FAULT_KILL_AFTER_RENAME) == str(index):
        os.kill(os.getpid(), signal.SIGKILL)
    return digest
