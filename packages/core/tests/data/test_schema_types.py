"""Schema validation and the dataset metadata types."""

from __future__ import annotations

import json
import warnings

import pytest
import torch

from forge.core.data._schema import Schema, SchemaWarning, TensorSpec, check_batch, validate_batch, validate_sample
from forge.core.data._types import DatasetInfo, DatasetSplits
from forge.core.errors import DataError, SchemaError

SCHEMA = Schema(
    {
        "input": TensorSpec(shape=("N", 1, 8, 8), dtype="float32", min=0.0, max=1.0, finite=True),
        "target": TensorSpec(shape=("N",), dtype="int64", classes=range(10)),
    }
)


def good_batch(n: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.rand(n, 1, 8, 8), torch.arange(n) % 10


def test_conforming_batch_passes() -> None:
    assert validate_batch(good_batch(), SCHEMA, strict=True) == []


def test_range_violation_names_sample_index_and_rule() -> None:
    x, y = good_batch(5)
    x[3, 0, 2, 2] = 1.5
    with pytest.raises(SchemaError, match=r"field 'input', sample 3: rule 'range'.*1.5 > max 1"):
        validate_batch((x, y), SCHEMA, strict=True)


def test_class_set_violation_names_sample() -> None:
    x, y = good_batch(5)
    y[2] = 12
    with pytest.raises(SchemaError, match=r"sample 2: rule 'classes'.*\[12"):
        validate_batch((x, y), SCHEMA)


def test_symbolic_dim_must_agree_across_fields() -> None:
    x, _ = good_batch(4)
    violations = check_batch((x, torch.zeros(3, dtype=torch.long)), SCHEMA)
    assert [v.rule for v in violations] == ["shape"]
    assert "'N'=4" in violations[0].detail


def test_dtype_and_rank_are_checked() -> None:
    rules = {v.rule for v in check_batch((torch.rand(4, 8, 8).double(), torch.zeros(4, dtype=torch.long)), SCHEMA)}
    assert rules == {"dtype", "shape"}


def test_nan_is_refused_when_finite() -> None:
    x, y = good_batch(3)
    x[1, 0, 0, 0] = float("nan")
    assert [(v.rule, v.index) for v in check_batch((x, y), SCHEMA)] == [("finite", 1)]


def test_not_strict_warns_instead_of_raising() -> None:
    x, y = good_batch(2)
    y[0] = -1
    with pytest.warns(SchemaWarning, match="sample 0"):
        violations = validate_batch((x, y), SCHEMA, strict=False)
    assert violations[0].rule == "classes"


def test_dict_batch_and_missing_field() -> None:
    x, y = good_batch(2)
    assert validate_batch({"input": x, "target": y}, SCHEMA) == []
    with pytest.raises(SchemaError, match="no field"):
        validate_batch({"input": x}, SCHEMA)


def test_validate_sample_uses_dataset_index() -> None:
    with pytest.raises(SchemaError, match="sample 41 breaks"):
        validate_sample((torch.rand(1, 8, 8) + 2, 3), SCHEMA, index=41)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        validate_sample((torch.rand(1, 8, 8), 3), SCHEMA, index=0)


def test_schema_round_trips_through_json() -> None:
    data = json.loads(json.dumps(SCHEMA.to_dict()))
    assert Schema.from_dict(data) == SCHEMA


def test_dataset_info_refuses_blank_fingerprint() -> None:
    with pytest.raises(DataError, match="fingerprint"):
        DatasetInfo(name="x", fingerprint=" ")


def test_lineage_is_json_and_describes_splits() -> None:
    train = torch.utils.data.TensorDataset(torch.zeros(5, 2))
    info = DatasetInfo(name="d", fingerprint="abc", schema=SCHEMA, num_classes=10, task="classification")
    record = DatasetSplits(train=train, test=train, info=info).lineage()
    assert json.loads(json.dumps(record)) == record
    assert record["splits"] == {"train": {"kind": "map", "size": 5}, "test": {"kind": "map", "size": 5}}
    assert record["fingerprint"] == "abc" and record["schema"]["target"]["classes"] == list(range(10))
