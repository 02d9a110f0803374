"""A model's fingerprint: every file that decides what it computes, and nothing else."""

from __future__ import annotations

import json
import os
import random
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from headroom_runtime.embed.fingerprint import fingerprint, identify, main, model_files


def fake_model(root: Path) -> Path:
    """The layout of a sentence-transformers folder (contents need not load)."""
    (root / "1_Pooling").mkdir(parents=True)
    (root / "2_Dense").mkdir()
    (root / "onnx").mkdir()
    (root / "modules.json").write_text(
        json.dumps(
            [
                {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
            ]
        )
    )
    (root / "config.json").write_text('{"hidden_size": 32}')
    (root / "tokenizer.json").write_text('{"model": {}}')
    (root / "vocab.txt").write_text("[PAD]\n[UNK]\nthe\n")
    (root / "spiece.model").write_bytes(b"\x01\x02sentencepiece")
    (root / "model.safetensors").write_bytes(bytes(range(256)) * 64)
    (root / "1_Pooling" / "config.json").write_text('{"word_embedding_dimension": 32}')
    (root / "2_Dense" / "config.json").write_text('{"out_features": 16}')
    (root / "2_Dense" / "pytorch_model.bin").write_bytes(b"dense weights")
    (root / "README.md").write_text("# a model card")
    (root / "onnx" / "model.onnx").write_bytes(b"not read by sentence-transformers")
    return root


COVERED = [
    "modules.json",
    "config.json",
    "tokenizer.json",
    "vocab.txt",
    "spiece.model",
    "model.safetensors",
    "1_Pooling/config.json",
    "2_Dense/config.json",
    "2_Dense/pytorch_model.bin",
]


def test_covers_weights_configs_and_tokenizer_of_every_module(tmp_path: Path) -> None:
    root = fake_model(tmp_path / "m")
    assert sorted(name for name, _ in model_files(str(root))) == sorted(COVERED)
    found = fingerprint(str(root))
    assert found["files"] == len(COVERED)
    assert found["bytes"] == sum((root / name).stat().st_size for name in COVERED)


Change = Callable[[Path], None]


def flip_byte(path: Path, seed: int) -> None:
    data = bytearray(path.read_bytes())
    at = random.Random(seed).randrange(len(data))
    data[at] ^= 1 << random.Random(seed + 1).randrange(8)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("name", COVERED)
@pytest.mark.parametrize("seed", range(3))
def test_any_changed_byte_of_a_covered_file_changes_it(tmp_path: Path, name: str, seed: int) -> None:
    root = fake_model(tmp_path / "m")
    before = fingerprint(str(root))["sha256"]
    flip_byte(root / name, seed)
    assert fingerprint(str(root))["sha256"] != before


CHANGES: dict[str, Change] = {
    "weights appended to": lambda root: (root / "model.safetensors").open("ab").write(b"\0"),
    "a shard added": lambda root: (root / "model-00002-of-00002.safetensors").write_bytes(b"x"),
    "a config removed": lambda root: (root / "2_Dense" / "config.json").unlink(),
    "a module added": lambda root: (root / "modules.json").write_text(
        json.dumps([{"path": ""}, {"path": "1_Pooling"}, {"path": "2_Dense"}, {"path": "onnx"}])
    ),
    "two files swapped": lambda root: swap(root / "config.json", root / "tokenizer.json"),
    "merges added": lambda root: (root / "merges.txt").write_text("a b\n"),
}


def swap(a: Path, b: Path) -> None:
    first, second = a.read_bytes(), b.read_bytes()
    a.write_bytes(second)
    b.write_bytes(first)


@pytest.mark.parametrize("what", list(CHANGES))
def test_added_removed_or_moved_files_change_it(tmp_path: Path, what: str) -> None:
    root = fake_model(tmp_path / "m")
    before = fingerprint(str(root))["sha256"]
    CHANGES[what](root)
    assert fingerprint(str(root))["sha256"] != before, what


SAME: dict[str, Change] = {
    "the model card edited": lambda root: (root / "README.md").write_text("# another card"),
    "an onnx export changed": lambda root: (root / "onnx" / "model.onnx").write_bytes(b"other"),
    "times touched": lambda root: os.utime(root / "model.safetensors", (0, 0)),
}


@pytest.mark.parametrize("what", list(SAME))
def test_files_a_load_never_reads_leave_it(tmp_path: Path, what: str) -> None:
    root = fake_model(tmp_path / "m")
    before = fingerprint(str(root))["sha256"]
    SAME[what](root)
    assert fingerprint(str(root))["sha256"] == before, what


def test_same_files_elsewhere_or_behind_symlinks_give_the_same(tmp_path: Path) -> None:
    root = fake_model(tmp_path / "m")
    moved = Path(shutil.copytree(root, tmp_path / "elsewhere" / "m2"))
    # the hub cache's layout: snapshot entries are symlinks to blobs
    linked = tmp_path / "snapshot"
    linked.mkdir()
    blobs = tmp_path / "blobs"
    blobs.mkdir()
    for path in sorted(root.rglob("*")):
        target = linked / path.relative_to(root)
        if path.is_dir():
            target.mkdir()
            continue
        blob = blobs / str(abs(hash(str(path))))
        shutil.copyfile(path, blob)
        target.symlink_to(blob)
    assert fingerprint(str(root)) == fingerprint(str(moved)) == fingerprint(str(linked))


def test_a_real_model_and_the_command(tiny_model: Path, capsys: pytest.CaptureFixture[str]) -> None:
    found = identify(str(tiny_model))
    assert found["source"] == "folder" and len(found["sha256"]) == 64
    names = {name for name, _ in model_files(str(tiny_model))}
    assert {"model.safetensors", "modules.json", "tokenizer.json", "1_Pooling/config.json"} <= names
    assert main([str(tiny_model)]) == 0
    assert json.loads(capsys.readouterr().out)["models"][0]["sha256"] == found["sha256"]
    assert main(["./no/such/model"]) == 0
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "model_not_found"
