"""The demo corpus: real English text with a long-tailed length distribution,
made from the docstrings of the Python standard library on this machine.

Source files are parsed, never imported, so nothing runs. Usage:
``python -m headroom_dev.demo_corpus OUT.jsonl [--count 3000]``
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import sysconfig
from collections.abc import Iterator
from pathlib import Path

MIN_CHARS = 40


def docstrings(stdlib: Path) -> Iterator[tuple[str, str]]:
    for path in sorted(stdlib.rglob("*.py")):
        relative = path.relative_to(stdlib)
        if any(part in {"site-packages", "test", "tests", "idlelib"} for part in relative.parts):
            continue
        module = ".".join(relative.with_suffix("").parts)
        try:
            tree = ast.parse(path.read_text("utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        nodes = [tree, *ast.walk(tree)]
        for node in nodes:
            if not isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            text = ast.get_docstring(node, clean=True)
            if text and len(text) >= MIN_CHARS:
                name = getattr(node, "name", "")
                yield (f"{module}:{name}" if name else module), text


def build(count: int) -> list[dict[str, str]]:
    seen_ids: set[str] = set()
    seen_texts: set[str] = set()
    records = []
    for doc_id, text in docstrings(Path(sysconfig.get_paths()["stdlib"])):
        if doc_id in seen_ids or text in seen_texts:
            continue
        seen_ids.add(doc_id)
        seen_texts.add(text)
        records.append({"id": doc_id, "text": text})
    # A stable, shuffled sample: the order of the corpus mixes modules and lengths.
    records.sort(key=lambda r: hashlib.sha256(r["id"].encode()).hexdigest())
    return records[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=3000)
    args = parser.parse_args()
    records = build(args.count)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    temporary = args.out.with_suffix(".tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    temporary.replace(args.out)
    lengths = sorted(len(r["text"]) for r in records)
    print(
        f"demo corpus: {len(records)} documents, chars median {lengths[len(lengths) // 2]}, "
        f"p99 {lengths[int(len(lengths) * 0.99)]}, max {lengths[-1]} -> {args.out}"
    )


if __name__ == "__main__":
    main()
