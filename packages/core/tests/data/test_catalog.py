"""The catalog registers importable builders/configs, stays light, and every entry builds."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from forge.core.config import structure
from forge.core.data._catalog import register_datasets, register_transforms
from forge.core.data._compose import BUILTIN_TRANSFORMS, from_config
from forge.core.data._types import DatasetSplits


def collect(fn: Any) -> dict[str, dict[str, Any]]:
    entries: dict[str, dict[str, Any]] = {}

    def register(name: str, **kwargs: Any) -> None:
        assert name not in entries
        entries[name] = kwargs

    fn(register)
    return entries


def resolve(ref: str) -> Any:
    module, _, attr = ref.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def test_catalog_and_light_modules_do_not_import_torch() -> None:
    code = (
        "import sys; import forge.core.data, forge.core.data._catalog, forge.core.data._configs;"
        "import forge.core.data._compose, forge.core.data._pii, forge.core.data._text;"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_transforms_build_from_defaults_and_match_builtins() -> None:
    entries = collect(register_transforms)
    required = {"normalize": {"mean": [0.0], "std": [1.0]}, "random_crop": {"size": [2, 2]}}
    for name, spec in entries.items():
        assert BUILTIN_TRANSFORMS[f"core.{name}"] == (spec["builder"], spec["config"])
        config = structure(required.get(name, {}), resolve(spec["config"]))
        transform = resolve(spec["builder"])(config)
        assert transform.to_config()["name"] == f"core.{name}"
        assert from_config(json.loads(json.dumps(transform.to_config()))).to_config() == transform.to_config()


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("synthetic_classification", {"num_samples": 64, "input_shape": [1, 4, 4], "imbalance": 4.0}),
        ("sine_wave", {"length": 200}),
    ],
)
def test_generated_datasets_build_and_validate(name: str, params: dict[str, Any]) -> None:
    import torch

    from forge.core.data._schema import validate_batch

    spec = collect(register_datasets)[name]
    splits = resolve(spec["builder"])(structure(params, resolve(spec["config"])))
    assert isinstance(splits, DatasetSplits) and splits.train is not None and splits.info.schema is not None
    batch = next(iter(torch.utils.data.DataLoader(splits.train, batch_size=8)))
    assert validate_batch(batch, splits.info.schema, strict=True) == []
    assert json.loads(json.dumps(splits.lineage()))["fingerprint"] == splits.info.fingerprint


def test_file_datasets_build(tmp_path: Path) -> None:
    import pandas as pd

    entries = collect(register_datasets)
    (tmp_path / "a.jsonl").write_text('{"text": "hi", "label": 1}\n', encoding="utf-8")
    jsonl = resolve(entries["jsonl_text"]["builder"])(
        structure({"train": [str(tmp_path / "a.jsonl")]}, resolve(entries["jsonl_text"]["config"]))
    )
    assert list(jsonl.train) == [("hi", 1)]
    pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0] * 3, "y": [0, 1, 0, 1] * 3}).to_csv(tmp_path / "t.csv", index=False)
    table = resolve(entries["tabular"]["builder"])(
        structure(
            {"path": str(tmp_path / "t.csv"), "target": "y", "numeric": ["x"]}, resolve(entries["tabular"]["config"])
        )
    )
    assert table.info.num_classes == 2
