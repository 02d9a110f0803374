"""A model's identity: a sha256 over the files that decide what it computes.

Covered: every weight, config and tokenizer file (``*.safetensors``, ``*.bin``,
``*.json``, vocab and sentencepiece files) in the model's root folder and in each
module folder its ``modules.json`` names. Each file enters as its path relative
to the root, its size and its content's sha256, so the same files in another
place (a moved folder, another hub snapshot of the same revision) give the same
fingerprint, and any changed, added or removed file gives another. Folders a
sentence-transformers load never reads (onnx/, openvino/) are left out.

Also a command, so the Engine can fingerprint models when it creates a run
without starting the runtime (no torch import):
``python -m headroom_runtime.embed.fingerprint MODEL...`` prints one JSON line.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from headroom_runtime.core.errors import ReportedError
from headroom_runtime.embed.models import file_sha256, resolve_model

SUFFIXES = {".safetensors", ".bin", ".json", ".model", ".txt", ".tiktoken"}
# .txt only for what tokenizers read (vocab.txt, merges.txt); a README or LICENSE changes nothing.
TEXT_FILES = {"vocab.txt", "merges.txt", "spm.txt", "added_tokens.txt"}


def module_folders(root: Path) -> list[Path]:
    """The root and every module folder named by modules.json (those inside the root)."""
    folders = [root]
    try:
        modules = json.loads((root / "modules.json").read_text("utf-8"))
    except (OSError, ValueError):
        return folders
    if not isinstance(modules, list):
        return folders
    for module in modules:
        path = module.get("path") if isinstance(module, dict) else None
        if not isinstance(path, str) or not path:
            continue
        folder = (root / path).resolve()
        if folder.is_dir() and folder.is_relative_to(root.resolve()) and folder not in folders:
            folders.append(root / path)
    return folders


def _counts(path: Path) -> bool:
    if path.suffix == ".txt":
        return path.name in TEXT_FILES
    return path.suffix in SUFFIXES


def model_files(folder: str) -> list[tuple[str, Path]]:
    """(relative path, path) of the files the fingerprint covers, sorted by relative path."""
    root = Path(folder)
    files: dict[str, Path] = {}
    for module in module_folders(root):
        for path in module.iterdir():
            if path.is_file() and _counts(path):  # is_file follows the hub cache's symlinks
                files[path.relative_to(root).as_posix()] = path
    return sorted(files.items())


def fingerprint(folder: str) -> dict[str, Any]:
    """``{"sha256", "files", "bytes"}`` of a model folder."""
    digest = hashlib.sha256()
    total = 0
    entries = model_files(folder)
    for relative, path in entries:
        size = path.stat().st_size
        total += size
        digest.update(f"{relative}\0{size}\0{file_sha256(path)}\n".encode())
    return {"sha256": digest.hexdigest(), "files": len(entries), "bytes": total}


def identify(name: str) -> dict[str, Any]:
    resolved = resolve_model(name)
    return {"model": name, "source": resolved.source, **fingerprint(resolved.path)}


def main(argv: list[str]) -> int:
    try:
        print(json.dumps({"models": [identify(name) for name in argv]}))
    except ReportedError as exc:
        print(json.dumps({"error": {"code": exc.code, "message": exc.message}}))
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
