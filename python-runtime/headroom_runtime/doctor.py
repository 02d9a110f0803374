"""Facts for `headroom doctor`, printed as one JSON object (never raises)."""

from __future__ import annotations

import json
import sys
from typing import Any


def facts() -> dict[str, Any]:
    out: dict[str, Any] = {
        "python": sys.version.split()[0],
        "torch": None,
        "sentenceTransformers": None,
        "cuda": False,
        "devices": [],
        "defaultModel": None,
        "error": None,
    }
    try:
        import torch

        out["torch"] = torch.__version__
        out["cuda"] = bool(torch.cuda.is_available())
        if out["cuda"]:
            out["devices"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        import sentence_transformers

        out["sentenceTransformers"] = sentence_transformers.__version__
        from headroom_runtime.models import DEFAULT_MODEL, bundled_folder

        out["defaultModel"] = f"{DEFAULT_MODEL} at {bundled_folder(DEFAULT_MODEL)}"
    except Exception as exc:  # report, do not fail: the doctor's job is to say what is wrong
        out["error"] = f"{type(exc).__name__}: {exc}"
    return out


if __name__ == "__main__":
    print(json.dumps(facts()))
