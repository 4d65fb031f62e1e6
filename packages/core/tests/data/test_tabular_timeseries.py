"""Tabular encoding fitted on train only; time-series windows and time-ordered splits."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from forge.core.data._configs import SineWaveConfig, TabularConfig
from forge.core.data._tabular import TabularDataset, TabularPreprocessor, build_tabular, read_table
from forge.core.data._timeseries import WindowDataset, build_sine_wave, time_split, window_splits
from forge.core.errors import DataError


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [20.0, 30.0, 40.0, 1000.0],
            "city": ["paris", "oslo", "paris", "lima"],
            "zip": ["007", "010", "007", "999"],
            "label": ["no", "yes", "no", "yes"],
        }
    )


def test_fit_on_train_only_and_unknown_category() -> None:
    data = frame()
    prep = TabularPreprocessor(numeric=["age"], categorical=["city"], target="label").fit(data.iloc[:3])
    assert prep.means["age"] == pytest.approx(30.0)  # the 1000 outlier in row 4 is not seen
    x, y = prep.transform(data)
    assert isinstance(x, torch.Tensor) and x.shape == (4, 1 + 3)  # age + [<unk>, oslo, paris]
    assert x[3, 1:].tolist() == [1.0, 0.0, 0.0]  # lima is unknown -> index 0
    assert y.tolist() == [0, 1, 0, 1]
    again = TabularPreprocessor.from_dict(json.loads(json.dumps(prep.to_dict())))
    rebuilt = again.transform(data)[0]
    assert isinstance(rebuilt, torch.Tensor) and torch.equal(rebuilt, x)


def test_index_encoding_and_unseen_target() -> None:
    prep = TabularPreprocessor(numeric=[], categorical=["zip"], target="label", encoding="index").fit(frame())
    x, _ = prep.transform(frame())
    assert isinstance(x, dict) and x["categorical"][:, 0].tolist() == [1, 2, 1, 3]
    bad = frame().assign(label=["no", "maybe", "no", "yes"])
    with pytest.raises(DataError, match="'maybe'"):
        prep.transform(bad)


def test_csv_keeps_categorical_strings_and_checks_columns(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    frame().to_csv(path, index=False)
    table = read_table(path, numeric=["age"], categorical=["zip"])
    assert table["zip"].tolist() == ["007", "010", "007", "999"]
    with pytest.raises(DataError, match="lacks declared column"):
        read_table(path, numeric=["height"])
    frame().assign(age=["x", "1", "2", "3"]).to_csv(path, index=False)
    with pytest.raises(DataError, match="numeric column 'age'"):
        read_table(path, numeric=["age"])


def test_build_tabular_from_parquet(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    big = pd.concat([frame()] * 10, ignore_index=True)
    big.to_parquet(path)
    config = TabularConfig(path=str(path), target="label", numeric=["age"], categorical=["city"], seed=1)
    splits = build_tabular(config)
    assert splits.train is not None and splits.val is not None and splits.test is not None
    assert isinstance(splits.train, TabularDataset)
    assert isinstance(splits.val, TabularDataset) and isinstance(splits.test, TabularDataset)
    assert len(splits.train) + len(splits.val) + len(splits.test) == 40
    x, y = splits.train[0]
    assert x.shape == (5,) and splits.info.num_classes == 2  # age + [<unk>, lima, oslo, paris]
    assert splits.info.extra["preprocessing"]["vocab"]["city"][0] == "<unk>"
    assert build_tabular(config).info.fingerprint == splits.info.fingerprint


def test_windows_geometry() -> None:
    series = torch.arange(20, dtype=torch.float32)
    ds = WindowDataset(series, lookback=4, horizon=2, stride=3)
    x, y = ds[0]
    assert x.squeeze(1).tolist() == [0, 1, 2, 3] and y.squeeze(1).tolist() == [4, 5]
    assert ds.starts == [4, 7, 10, 13, 16]  # the last window ends exactly at 18 <= 20
    with pytest.raises(DataError):
        WindowDataset(series, lookback=0, horizon=1)


def test_time_splits_never_share_targets_and_normalize_on_train() -> None:
    series = torch.arange(100, dtype=torch.float32).unsqueeze(1)
    train, val, test, stats = window_splits(series, lookback=5, horizon=3, val_fraction=0.2, test_fraction=0.2)
    a, b = time_split(100, 0.2, 0.2)
    assert (a, b) == (60, 80)
    assert stats["mean"] == [pytest.approx(29.5)]  # mean of steps 0..59 only

    def target_steps(ds: WindowDataset) -> set[int]:
        return {t + h for t in ds.starts for h in range(3)}

    tr, va, te = target_steps(train), target_steps(val), target_steps(test)
    assert max(tr) < a <= min(va) and max(va) < b <= min(te) and max(te) == 99


def test_sine_wave_builder() -> None:
    splits = build_sine_wave(SineWaveConfig(length=300, channels=3, lookback=10, horizon=4))
    assert splits.train is not None
    x, y = splits.train[0]
    assert x.shape == (10, 3) and y.shape == (4, 3)
    assert splits.info.task == "forecasting"
    assert build_sine_wave(SineWaveConfig(length=300, channels=3)).info.fingerprint == splits.info.fingerprint
