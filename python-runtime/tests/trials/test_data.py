"""Data loading, checks, splits and standardisation: real files, tiny data."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from headroom_runtime.trials import data
from headroom_runtime.trials.errors import BadInput


def frame(rows: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = pd.DataFrame(
        {"a": rng.normal(size=rows), "b": rng.normal(5, 3, size=rows), "c": np.arange(rows) % 3}
    )
    out["y"] = out["a"] * 2 + rng.normal(size=rows) * 0.1
    out["label"] = (out["a"] > 0).astype(int)
    return out


def bad(match: str, *args: object) -> None:
    with pytest.raises(BadInput, match=match):
        data.load(*args)  # type: ignore[arg-type]


def test_csv_parquet_and_npy_load_with_task_auto(tmp_path: Path) -> None:
    table = frame()
    table.to_csv(tmp_path / "t.csv", index=False)
    table.to_parquet(tmp_path / "t.parquet")
    csv = data.load(str(tmp_path / "t.csv"), "y", None)
    assert csv.names == ("a", "b", "c", "label") and csv.x.shape == (60, 4) and csv.task == "regression"
    parquet = data.load(str(tmp_path / "t.parquet"), "label", None)
    assert parquet.task == "binary" and parquet.names == ("a", "b", "c", "y")
    np.save(tmp_path / "x.npy", table[["a", "b"]].to_numpy())
    np.save(tmp_path / "y.npy", table["label"].to_numpy().reshape(-1, 1))
    npy = data.load(str(tmp_path / "x.npy"), str(tmp_path / "y.npy"), None)
    assert npy.task == "binary" and npy.names == ("x0", "x1") and npy.y.shape == (60,)
    with_file_target = data.load(str(tmp_path / "t.csv"), str(tmp_path / "y.npy"), "binary")
    assert with_file_target.x.shape == (60, 5)


def test_every_bad_input_names_the_file_column_or_row(tmp_path: Path) -> None:
    table = frame()
    csv = tmp_path / "t.csv"
    table.to_csv(csv, index=False)
    bad(r"data file .*nope\.csv.* does not exist", str(tmp_path / "nope.csv"), "y", None)
    (tmp_path / "t.txt").write_text("a,b\n")
    bad(r"t\.txt: unsupported format '\.txt'", str(tmp_path / "t.txt"), "y", None)
    (tmp_path / "broken.npy").write_bytes(b"not an array")
    bad(
        r"broken\.npy: not a readable \.npy", str(tmp_path / "broken.npy"), str(tmp_path / "broken.npy"), None
    )
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 nope")
    bad(r"broken\.parquet: not a readable parquet", str(tmp_path / "broken.parquet"), "y", None)
    bad(r"no column 'nope' for the target; columns include 'a', 'b', 'c', 'y'", str(csv), "nope", None)

    nan = table.copy()
    nan.loc[17, "b"] = np.nan
    nan.to_csv(tmp_path / "nan.csv", index=False)
    bad(
        r"nan\.csv: feature column 'b' has a NaN or infinite value \(first at row 17\)",
        str(tmp_path / "nan.csv"),
        "y",
        None,
    )
    inf = table.copy()
    inf.loc[9, "y"] = np.inf
    inf.to_parquet(tmp_path / "inf.parquet")
    bad(
        r"inf\.parquet: target 'y' has a NaN or infinite value \(first at row 9\)",
        str(tmp_path / "inf.parquet"),
        "y",
        None,
    )
    text = table.copy()
    text["c"] = ["x"] * len(text)
    text.to_csv(tmp_path / "text.csv", index=False)
    bad(r"text\.csv: feature column 'c' is not numeric", str(tmp_path / "text.csv"), "y", None)

    np.save(tmp_path / "x.npy", np.ones((60, 2)) * np.arange(60)[:, None])
    np.save(tmp_path / "y50.npy", np.arange(50.0))
    bad(
        r"row counts differ: x\.npy has 60 rows, y50\.npy has 50",
        str(tmp_path / "x.npy"),
        str(tmp_path / "y50.npy"),
        None,
    )
    np.save(tmp_path / "x3.npy", np.ones((60, 2, 2)))
    bad(r"x3\.npy: features must be a 2-D array", str(tmp_path / "x3.npy"), str(tmp_path / "y50.npy"), None)
    x_nan = np.zeros((60, 3))
    x_nan[41, 2] = np.nan
    x_nan[50, 1] = np.inf
    np.save(tmp_path / "xnan.npy", x_nan)
    np.save(tmp_path / "y60.npy", np.arange(60.0))
    bad(
        r"xnan\.npy: feature column 'x1' has a NaN or infinite value \(first at row 50\)",
        str(tmp_path / "xnan.npy"),
        str(tmp_path / "y60.npy"),
        None,
    )
    bad(r"a \.npy data file has no named columns", str(tmp_path / "x.npy"), "y", None)
    np.save(tmp_path / "yconst.npy", np.full(60, 3.0))
    bad(r"yconst\.npy: the target is constant", str(tmp_path / "x.npy"), str(tmp_path / "yconst.npy"), None)
    bad(
        r"t\.csv column 'c'.*task binary needs a target of exactly 0 and 1; it holds 3 values \(0, 1, 2\)",
        str(csv),
        "c",
        "binary",
    )


def test_too_few_rows_for_the_folds_or_the_validation_part(tmp_path: Path) -> None:
    small = frame(7)
    small.to_csv(tmp_path / "s.csv", index=False)
    loaded = data.load(str(tmp_path / "s.csv"), "y", None)
    with pytest.raises(BadInput, match=r"s\.csv: 7 rows are too few for 5 folds"):
        data.split_indices(loaded, 5, 0.2, 0, "s.csv")
    tiny = frame(3)
    tiny.to_csv(tmp_path / "tiny.csv", index=False)
    with pytest.raises(BadInput, match=r"tiny\.csv: 3 rows are too few for a validation part of 0\.2"):
        data.split_indices(data.load(str(tmp_path / "tiny.csv"), "y", None), None, 0.2, 0, "tiny.csv")
    skewed = frame(40)
    skewed["label"] = 0
    skewed.loc[:2, "label"] = 1
    skewed.to_csv(tmp_path / "k.csv", index=False)
    with pytest.raises(BadInput, match=r"k\.csv: the rarer class has 3 rows, too few for 4 stratified folds"):
        data.split_indices(data.load(str(tmp_path / "k.csv"), "label", None), 4, 0.2, 0, "k.csv")


def test_folds_cover_every_row_once_and_are_seeded(tmp_path: Path) -> None:
    frame(60).to_csv(tmp_path / "t.csv", index=False)
    table = data.load(str(tmp_path / "t.csv"), "label", None)
    splits = data.split_indices(table, 4, 0.2, 7, "t.csv")
    vals = np.concatenate([v for _, v in splits])
    assert sorted(vals.tolist()) == list(range(60))
    for train, val in splits:
        assert not set(train) & set(val) and len(train) + len(val) == 60
        assert set(table.y[val].tolist()) == {0.0, 1.0}  # stratified
    again = data.split_indices(table, 4, 0.2, 7, "t.csv")
    other = data.split_indices(table, 4, 0.2, 8, "t.csv")
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(splits, again, strict=True))
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(splits, other, strict=True))
    (held,) = data.split_indices(table, None, 0.25, 3, "t.csv")
    assert len(held[1]) == 15 and set(table.y[held[1]].tolist()) == {0.0, 1.0}


def test_standardisation_is_fitted_on_the_training_part_only(tmp_path: Path) -> None:
    table = frame(80)
    table["const"] = 4.0
    table.to_csv(tmp_path / "t.csv", index=False)
    loaded = data.load(str(tmp_path / "t.csv"), "y", None)
    prepared = data.prepare(loaded, None, 0.25, 0, "cpu", "t.csv")
    ((train_rows, val_rows),) = data.split_indices(loaded, None, 0.25, 0, "t.csv")
    (fold,) = prepared.folds
    x_train = fold.x_train.numpy().astype(np.float64)
    assert str(fold.x_train.dtype) == "torch.float32"
    np.testing.assert_allclose(x_train[:, :4].mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(x_train[:, :4].std(axis=0), 1, atol=1e-5)
    assert np.all(fold.x_train.numpy()[:, 4] == 0) and np.all(
        fold.x_val.numpy()[:, 4] == 0
    )  # constant: std 1
    raw = loaded.x
    mean, std = raw[train_rows].mean(axis=0), raw[train_rows].std(axis=0)
    expected_val = (raw[val_rows, :4] - mean[:4]) / std[:4]
    np.testing.assert_allclose(fold.x_val.numpy()[:, :4], expected_val, rtol=1e-5, atol=1e-5)
    all_mean = raw[:, :4].mean(axis=0)
    assert not np.allclose(mean[:4], all_mean)  # the validation rows would have moved it
    # a regression target is standardised with the training part's mean and std, kept to undo it
    y_mean, y_std = loaded.y[train_rows].mean(), loaded.y[train_rows].std()
    assert (fold.target_mean, fold.target_scale) == (float(y_mean), float(y_std))
    np.testing.assert_allclose(fold.y_train.numpy().mean(), 0, atol=1e-6)
    expected_y = ((loaded.y[val_rows] - y_mean) / y_std).astype(np.float32)
    np.testing.assert_array_equal(fold.y_val.numpy(), expected_y)


def test_inspect_reads_columns_rows_and_samples(tmp_path: Path) -> None:
    table = frame(12)
    table["name"] = [f"n{i}" for i in range(12)]
    table.loc[1, "a"] = np.nan
    table.to_csv(tmp_path / "t.csv", index=False)
    table.to_parquet(tmp_path / "t.parquet")
    csv = data.inspect(str(tmp_path / "t.csv"))
    assert csv["format"] == "csv" and csv["rows"] == 12
    assert [c["name"] for c in csv["columns"]] == ["a", "b", "c", "y", "label", "name"]
    first = csv["columns"][0]
    assert first["dtype"] == "float64" and len(first["sample"]) == 5 and first["sample"][1] is None
    assert csv["columns"][-1]["sample"][:2] == ["n0", "n1"]
    parquet = data.inspect(str(tmp_path / "t.parquet"))
    assert (
        parquet["rows"] == 12
        and parquet["format"] == "parquet"
        and parquet["columns"][2]["sample"] == [0, 1, 2, 0, 1]
    )
    np.save(tmp_path / "x.npy", np.arange(30.0).reshape(10, 3))
    npy = data.inspect(str(tmp_path / "x.npy"))
    assert npy["rows"] == 10 and [c["name"] for c in npy["columns"]] == ["x0", "x1", "x2"]
    assert npy["columns"][1]["sample"] == [1.0, 4.0, 7.0, 10.0, 13.0]
    with pytest.raises(BadInput, match="does not exist"):
        data.inspect(str(tmp_path / "none.parquet"))


def test_a_folder_a_fifo_a_header_alone_and_an_empty_array_are_named(tmp_path: Path) -> None:
    (tmp_path / "d.csv").mkdir()
    bad(r"data file .*d\.csv' is a folder", str(tmp_path / "d.csv"), "y", None)
    fifo = tmp_path / "f.csv"
    os.mkfifo(fifo)
    bad(r"data file .*f\.csv' is not a regular file", str(fifo), "y", None)  # refused, never opened
    with pytest.raises(BadInput, match="is not a regular file"):
        data.inspect(str(fifo))
    (tmp_path / "h.csv").write_text("a,b,y\n")
    bad(r"h\.csv: no rows \(columns 'a', 'b', 'y'\)", str(tmp_path / "h.csv"), "y", None)
    np.save(tmp_path / "x0.npy", np.zeros((0, 3)))
    np.save(tmp_path / "y0.npy", np.zeros(0))
    bad(r"x0\.npy: no rows", str(tmp_path / "x0.npy"), str(tmp_path / "y0.npy"), None)
    np.save(tmp_path / "xw.npy", np.zeros((5, 0)))
    bad(r"xw\.npy: no feature columns", str(tmp_path / "xw.npy"), str(tmp_path / "y0.npy"), None)
