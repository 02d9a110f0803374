"""The sweep's data: features and target loaded from .npy, .csv or .parquet, checked,
split (a held-out part or K folds, seeded) and standardised on each training part.

Every problem is a `BadInput` naming the file, column or key (and the first bad row
where it helps), raised before any run folder exists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from headroom_runtime.trials.errors import BadInput
from headroom_runtime.trials.specs import Fold, Task, TrainData

FORMATS = {".npy": "npy", ".csv": "csv", ".parquet": "parquet"}
MIN_VAL_ROWS = 2  # a validation part needs two rows for R2 (binary: one of each class)
MIN_TRAIN_ROWS = 2
SAMPLE_ROWS = 5


@dataclass(frozen=True)
class Table:
    """Features [N, F] and target [N], as float64, with the features' names."""

    x: np.ndarray
    y: np.ndarray
    names: tuple[str, ...]
    task: Task


def data_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise BadInput(
            f"{path.name}: unsupported format {path.suffix or '(no suffix)'!r}; use .npy, .csv or .parquet"
        )
    return fmt


def _exists(path: Path, what: str) -> None:
    if path.is_file():
        return
    if path.is_dir():
        raise BadInput(f"{what} file {str(path)!r} is a folder; give a file")
    if path.exists():  # a FIFO, socket or device: reading it could block or never end
        raise BadInput(f"{what} file {str(path)!r} is not a regular file")
    raise BadInput(f"{what} file {str(path)!r} does not exist")


def _load_npy(path: Path) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise BadInput(f"{path.name}: not a readable .npy file ({exc})") from None
    if not isinstance(array, np.ndarray):
        raise BadInput(f"{path.name}: not a single array")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise BadInput(f"{path.name}: holds {array.dtype} values, not numbers")
    return array


def _read_table(path: Path, fmt: str) -> Any:
    import pandas as pd  # type: ignore[import-untyped]

    try:
        if fmt == "csv":
            return pd.read_csv(path)
        return pd.read_parquet(path)
    except Exception as exc:  # pandas and pyarrow raise many kinds for a bad file
        raise BadInput(f"{path.name}: not a readable {fmt} table ({type(exc).__name__}: {exc})") from None


def _some(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _numeric_column(frame: Any, name: str, path: Path, role: str) -> np.ndarray:
    import pandas as pd  # type: ignore[import-untyped]

    column = frame[name]
    if not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)):
        raise BadInput(f"{path.name}: {role} column {name!r} is not numeric (dtype {column.dtype})")
    try:
        return np.asarray(column.to_numpy(dtype="float64", na_value=np.nan), dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise BadInput(f"{path.name}: {role} column {name!r} is not numeric ({exc})") from None


def _check_finite(values: np.ndarray, names: tuple[str, ...], source: str, role: str) -> None:
    bad = ~np.isfinite(values)
    if not bad.any():
        return
    if values.ndim == 1:
        row = int(np.argmax(bad))
        raise BadInput(f"{source}: {role} {names[0]!r} has a NaN or infinite value (first at row {row})")
    rows, cols = np.nonzero(bad)
    col = int(cols.min())
    row = int(rows[cols == col].min())
    raise BadInput(f"{source}: {role} column {names[col]!r} has a NaN or infinite value (first at row {row})")


def resolve_task(y: np.ndarray, task: Task | None, source: str) -> Task:
    values = np.unique(y)
    if values.size < 2:
        raise BadInput(
            f"{source}: the target is constant ({values[0] if values.size else 'no rows'}); nothing to learn"
        )
    binary = values.size == 2 and values[0] == 0 and values[1] == 1
    if task == "binary" and not binary:
        shown = ", ".join(f"{v:g}" for v in values[:5]) + (", ..." if values.size > 5 else "")
        raise BadInput(
            f"{source}: task binary needs a target of exactly 0 and 1; "
            f"it holds {values.size} values ({shown})"
        )
    if task is None:
        return "binary" if binary else "regression"
    return task


def load(data: str, target: str, task: Task | None) -> Table:
    """Features and target, checked (formats, columns, NaN/inf, row counts, the task)."""
    data_path = Path(data)
    _exists(data_path, "data")
    fmt = data_format(data_path)
    target_is_file = target.lower().endswith(".npy")
    if fmt == "npy":
        x = _load_npy(data_path)
        if x.ndim != 2:
            raise BadInput(
                f"{data_path.name}: features must be a 2-D array [rows, features]; "
                f"its shape is {list(x.shape)}"
            )
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise BadInput(f"{data_path.name}: no {'rows' if x.shape[0] == 0 else 'feature columns'}")
        names = tuple(f"x{j}" for j in range(x.shape[1]))
        x = x.astype(np.float64)
        if not target_is_file:
            raise BadInput(
                f"target {target!r}: a .npy data file has no named columns; give the target as a .npy file"
            )
    else:
        frame = _read_table(data_path, fmt)
        columns = [str(c) for c in frame.columns]
        frame.columns = columns
        if len(frame) == 0:  # a header alone: say so, not that its (empty, object) columns are not numeric
            raise BadInput(f"{data_path.name}: no rows (columns {_some(columns)})")
        if target_is_file:
            features = columns
        else:
            if target not in columns:
                raise BadInput(
                    f"{data_path.name}: no column {target!r} for the target; columns include {_some(columns)}"
                )
            features = [c for c in columns if c != target]
        if not features:
            raise BadInput(f"{data_path.name}: no feature columns besides the target {target!r}")
        names = tuple(features)
        x = (
            np.column_stack([_numeric_column(frame, c, data_path, "feature") for c in features])
            if len(frame)
            else np.zeros((0, len(features)))
        )
        if not target_is_file:
            y = _numeric_column(frame, target, data_path, "target")
            _check_finite(x, names, data_path.name, "feature")
            _check_finite(y, (target,), data_path.name, "target")
            return Table(x, y, names, resolve_task(y, task, f"{data_path.name} column {target!r}"))
    target_path = Path(target)
    _exists(target_path, "target")
    y = _load_npy(target_path)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise BadInput(
            f"{target_path.name}: the target must be 1-D (or [rows, 1]); its shape is {list(y.shape)}"
        )
    y = y.astype(np.float64)
    if y.shape[0] != x.shape[0]:
        raise BadInput(
            f"row counts differ: {data_path.name} has {x.shape[0]} rows, {target_path.name} has {y.shape[0]}"
        )
    _check_finite(x, names, data_path.name, "feature")
    _check_finite(y, (target_path.name,), target_path.name, "target")
    return Table(x, y, names, resolve_task(y, task, target_path.name))


def split_indices(
    table: Table, folds: int | None, val_fraction: float, seed: int, source: str
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, validation) row indices: K folds (stratified for binary), or one held-out part."""
    n = table.x.shape[0]
    binary = table.task == "binary"
    if folds is not None:
        if n < folds * MIN_VAL_ROWS:
            raise BadInput(
                f"{source}: {n} rows are too few for {folds} folds (at least {folds * MIN_VAL_ROWS})"
            )
        if binary:
            from sklearn.model_selection import StratifiedKFold  # type: ignore[import-untyped]

            fewest = int(min(np.sum(table.y == 0), np.sum(table.y == 1)))
            if fewest < folds:
                raise BadInput(
                    f"{source}: the rarer class has {fewest} rows, too few for {folds} stratified folds"
                )
            splitter: Any = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        else:
            from sklearn.model_selection import KFold  # type: ignore[import-untyped]

            splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
        return [(np.sort(a), np.sort(b)) for a, b in splitter.split(table.x, table.y)]
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(table.y == 0), np.flatnonzero(table.y == 1)] if binary else [np.arange(n)]
    train, val = [], []
    for group in groups:  # binary: each class split on its own, so both parts hold both classes
        order = rng.permutation(group)
        n_val = round(len(order) * val_fraction)
        n_val = min(max(n_val, 1 if binary else MIN_VAL_ROWS), len(order) - 1)
        val.append(order[:n_val])
        train.append(order[n_val:])
    train_rows, val_rows = np.sort(np.concatenate(train)), np.sort(np.concatenate(val))
    if len(val_rows) < MIN_VAL_ROWS or len(train_rows) < MIN_TRAIN_ROWS or n < MIN_VAL_ROWS + MIN_TRAIN_ROWS:
        raise BadInput(
            f"{source}: {n} rows are too few for a validation part of {val_fraction:g} "
            f"(at least {MIN_TRAIN_ROWS} training and {MIN_VAL_ROWS} validation rows)"
        )
    return [(train_rows, val_rows)]


def standardise(x_train: np.ndarray, x_val: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both parts scaled with the training part's mean and std (a constant column: std 1)."""
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return (x_train - mean) / std, (x_val - mean) / std


def prepare(
    table: Table, folds: int | None, val_fraction: float, seed: int, device: str, source: str
) -> TrainData:
    import torch

    out = []
    for train_rows, val_rows in split_indices(table, folds, val_fraction, seed, source):
        x_train, x_val = standardise(table.x[train_rows], table.x[val_rows])

        def tensor(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).to(device)

        # A regression target is standardised too (on the training part): a raw target of 25..346
        # trained badly and stopped late; metrics are taken back in the target's units (sweep.py).
        mean, scale = 0.0, 1.0
        if table.task == "regression":
            y_train = table.y[train_rows]
            mean, scale = float(np.mean(y_train)), float(np.std(y_train))
            scale = scale if scale > 0 else 1.0
        out.append(
            Fold(
                tensor(x_train),
                tensor((table.y[train_rows] - mean) / scale),
                tensor(x_val),
                tensor((table.y[val_rows] - mean) / scale),
                target_mean=mean,
                target_scale=scale,
            )
        )
    return TrainData(table.task, tuple(out))


# --- inspect_data: a form's preview, reading no more than it needs ---


def _cell(value: Any) -> float | int | str | None:
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    text = str(value)
    return text[:200]


def inspect(path_text: str) -> dict[str, Any]:
    """The `data_inspected` event for a file: its format, rows and columns (name, dtype, first values)."""
    path = Path(path_text)
    _exists(path, "data")
    fmt = data_format(path)
    columns: list[dict[str, Any]] = []
    if fmt == "npy":
        try:
            array = np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise BadInput(f"{path.name}: not a readable .npy file ({exc})") from None
        if array.ndim not in (1, 2):
            raise BadInput(f"{path.name}: a 1-D or 2-D array expected; its shape is {list(array.shape)}")
        matrix = array.reshape(array.shape[0], -1) if array.ndim == 2 else array.reshape(-1, 1)
        head = np.asarray(matrix[:SAMPLE_ROWS])
        for j in range(matrix.shape[1]):
            columns.append(
                {"name": f"x{j}", "dtype": str(array.dtype), "sample": [_cell(v) for v in head[:, j]]}
            )
        rows = int(array.shape[0])
    elif fmt == "parquet":
        import pyarrow.parquet as pq  # type: ignore[import-untyped]

        try:
            handle = pq.ParquetFile(path)
        except Exception as exc:
            raise BadInput(
                f"{path.name}: not a readable parquet file ({type(exc).__name__}: {exc})"
            ) from None
        rows = int(handle.metadata.num_rows)
        schema = handle.schema_arrow
        batch = next(handle.iter_batches(batch_size=SAMPLE_ROWS), None)
        for i, field in enumerate(schema):
            sample = batch.column(i).to_pylist()[:SAMPLE_ROWS] if batch is not None else []
            columns.append(
                {"name": str(field.name), "dtype": str(field.type), "sample": [_cell(v) for v in sample]}
            )
    else:
        import pandas as pd  # type: ignore[import-untyped]

        try:
            head_frame = pd.read_csv(path, nrows=1000)
            rows = sum(len(chunk) for chunk in pd.read_csv(path, usecols=[0], chunksize=1 << 16))
        except Exception as exc:
            raise BadInput(f"{path.name}: not a readable csv table ({type(exc).__name__}: {exc})") from None
        for name in head_frame.columns:
            sample = head_frame[name].head(SAMPLE_ROWS).tolist()
            columns.append(
                {
                    "name": str(name),
                    "dtype": str(head_frame[name].dtype),
                    "sample": [_cell(v) for v in sample],
                }
            )
    return {"type": "data_inspected", "path": str(path), "format": fmt, "rows": rows, "columns": columns}
