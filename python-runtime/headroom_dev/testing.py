"""For tests and benchmarks: encode a list of texts the way one chunk is encoded."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from headroom_runtime.embed.batching import BudgetController
from headroom_runtime.embed.chunk_encoder import BatchSettings, ChunkStats, OomPolicy, encode_chunk
from headroom_runtime.embed.encoder import LoadedModel, load_model


def encode_texts(
    loaded: LoadedModel,
    texts: list[str],
    *,
    budget: int = 8192,
    min_docs: int = 1,
    max_docs: int = 512,
    policy: OomPolicy = "fail",
    events: list[dict[str, Any]] | None = None,
    controller: BudgetController | None = None,
) -> tuple[npt.NDArray[np.float32], ChunkStats]:
    sink = events if events is not None else []
    controller = controller or BudgetController(
        budget=budget, max_budget=max(budget, max_docs * loaded.max_seq_len)
    )
    return encode_chunk(
        loaded,
        texts,
        BatchSettings(min_docs=min_docs, max_docs=max_docs, oom_policy=policy),
        controller,
        sink.append,
        lambda: load_model(loaded.resolved.path, "cpu", None),
    )
