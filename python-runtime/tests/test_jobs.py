"""The registry of jobs and the package's layering: core imports no job, the runtime no dev tool."""

from __future__ import annotations

import ast
import io
import subprocess
import sys
from pathlib import Path

from conftest import RUNTIME_DIR, runtime_env

from headroom_runtime.core.protocol import EventWriter
from headroom_runtime.core.runtime import Runtime
from headroom_runtime.core.schema import COMMAND_TYPES
from headroom_runtime.jobs import JOBS

PACKAGE = RUNTIME_DIR / "headroom_runtime"


def test_the_registered_jobs_and_the_core_answer_every_command_of_the_schema_once() -> None:
    runtime = Runtime(EventWriter(io.StringIO()), JOBS)
    assert runtime.handled == set(COMMAND_TYPES)
    assert [entry.name for entry in JOBS] == ["embed", "trials"]


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def upward_imports(folder: Path, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{path.relative_to(folder)} imports {name}"
        for path in folder.rglob("*.py")
        for name in imports_of(path)
        if name.startswith(forbidden)
    )


def test_core_imports_no_job_and_the_runtime_imports_no_dev_tool() -> None:
    jobs = tuple(f"headroom_runtime.{p.name}" for p in PACKAGE.iterdir() if p.is_dir() and p.name != "core")
    assert "headroom_runtime.embed" in jobs
    assert upward_imports(PACKAGE / "core", (*jobs, "headroom_runtime.jobs", "headroom_dev")) == []
    assert upward_imports(PACKAGE, ("headroom_dev",)) == []


def test_the_layering_check_catches_a_planted_upward_import(tmp_path: Path) -> None:
    planted = tmp_path / "core"
    planted.mkdir()
    (planted / "bad.py").write_text("from headroom_runtime.embed.models import DEFAULT_MODEL\n")
    assert upward_imports(planted, ("headroom_runtime.embed",)) == [
        "bad.py imports headroom_runtime.embed.models",
        "bad.py imports headroom_runtime.embed.models.DEFAULT_MODEL",
    ]


def test_the_doctor_and_fingerprint_entry_points_load_no_torch() -> None:
    """`headroom doctor` reports a missing torch instead of crashing on it; the Engine
    fingerprints models without starting the runtime."""
    script = (
        "import sys\n"
        "import headroom_runtime.doctor, headroom_runtime.jobs, headroom_runtime.embed.fingerprint\n"
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'jsonschema') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=runtime_env(), check=True
    )
    assert out.stdout.strip() == "[]"
