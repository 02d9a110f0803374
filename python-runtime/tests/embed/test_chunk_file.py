import hashlib
import os
from pathlib import Path

import numpy as np

from headroom_runtime.embed.chunk_file import npy_bytes, write_chunk


def test_chunk_is_written_whole_with_its_checksum(tmp_path: Path) -> None:
    matrix = np.arange(12, dtype=np.float32).reshape(3, 4)
    target = tmp_path / "m" / "chunk-000000.npy"
    digest = write_chunk(str(target), matrix, 0)
    data = target.read_bytes()
    assert hashlib.sha256(data).hexdigest() == digest
    loaded = np.load(target, allow_pickle=False)
    assert loaded.dtype == np.dtype("<f4") and loaded.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(loaded, matrix)
    assert os.listdir(target.parent) == ["chunk-000000.npy"]  # no temporary left behind


def test_npy_bytes_are_deterministic() -> None:
    matrix = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    assert npy_bytes(matrix) == npy_bytes(matrix.copy())
