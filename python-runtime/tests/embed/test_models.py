from pathlib import Path

import pytest

from headroom_runtime.core.errors import BadModel, ModelNotFound
from headroom_runtime.embed import models
from headroom_runtime.embed.models import BundledModel, bundled_folder, resolve_model


def test_folder_resolves_as_folder(tiny_model: Path) -> None:
    resolved = resolve_model(str(tiny_model))
    assert resolved.source == "folder" and resolved.path == str(tiny_model)


def test_default_model_is_the_verified_bundled_wheel() -> None:
    resolved = resolve_model(models.DEFAULT_MODEL)
    assert resolved.source == "bundled"
    assert (Path(resolved.path) / "model.safetensors").is_file()


def test_unknown_hub_name_is_not_found_offline() -> None:
    with pytest.raises(ModelNotFound, match="local Hugging Face cache"):
        resolve_model("nobody-here/no-such-model")


def test_missing_folder_is_named() -> None:
    with pytest.raises(ModelNotFound, match="does not exist"):
        resolve_model("./no/such/folder")


def _fake_package(root: Path, monkeypatch: pytest.MonkeyPatch, *, extra: str | None, sha: str) -> str:
    package = root / "fake_model_pkg"
    (package / "model").mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('a bundled package is never imported')\n")
    (package / "model" / "model.safetensors").write_bytes(b"weights")
    if extra:
        (package / "model" / extra).write_bytes(b"pickle")
    monkeypatch.syspath_prepend(str(root))
    name = f"fake/{extra}-{sha[:4]}"
    monkeypatch.setitem(models.BUNDLED, name, BundledModel("fake_model_pkg", "model", sha))
    bundled_folder.cache_clear()
    return name


WEIGHTS_SHA = "2a8b6a5a8c2e5b1d7a5d40bd4bbcfe8f7d1c5e0f5f9a3b6b6d2d6e7c8f9a0b1c"


def test_bundled_package_with_pickle_weights_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = _fake_package(tmp_path, monkeypatch, extra="pytorch_model.bin", sha=WEIGHTS_SHA)
    with pytest.raises(BadModel, match="pickle"):
        resolve_model(name)


def test_bundled_package_with_other_weights_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = _fake_package(tmp_path, monkeypatch, extra=None, sha=WEIGHTS_SHA)
    with pytest.raises(BadModel, match="sha256"):
        resolve_model(name)
