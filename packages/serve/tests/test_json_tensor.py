"""The JSON tensor payload codec: exact round trips and a clear error for every broken rule."""

from __future__ import annotations

import base64
import json

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from forge.core.data._compose import from_config
from forge.core.errors import ConfigError, SchemaError
from forge.serve.payloads import DTYPES, JsonTensorCodec


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("binary", [False, True])
def test_every_dtype_round_trips_through_json(dtype: str, binary: bool) -> None:
    gen = torch.Generator().manual_seed(0)
    tensor = (torch.randn(2, 3, 2, generator=gen) * 50).to(getattr(torch, dtype))
    codec = JsonTensorCodec(dtype=dtype, binary=binary)
    payload = json.loads(json.dumps(codec.encode(tensor)))
    assert ("b64" in payload) == binary
    back = codec.decode(payload)
    assert back.dtype == tensor.dtype and torch.equal(back, tensor)


@given(st.lists(st.lists(st.integers(-(2**31), 2**31 - 1), min_size=2, max_size=2), max_size=5))
def test_int_lists_decode_to_the_same_values(rows: list[list[int]]) -> None:
    codec = JsonTensorCodec(dtype="int32")
    out = codec.decode({"data": rows, "shape": [len(rows), 2] if rows else [0]})
    assert out.tolist() == rows


def test_shape_rules_name_the_field() -> None:
    codec = JsonTensorCodec(shape=(-1, 3))
    assert codec({"data": [[1, 2, 3]]}).shape == (1, 3)
    with pytest.raises(SchemaError, match=r"inputs\.shape: expected \[-1, 3\] \(-1: any size\), got \[1, 2\]"):
        codec({"data": [[1, 2]]})
    with pytest.raises(SchemaError, match=r"inputs\.data\[1\]: expected a list of 3 values, got a list of 2"):
        codec({"data": [[1, 2, 3], [4, 5]]})
    with pytest.raises(SchemaError, match=r"inputs\.data\[0\]\[1\]: expected a value, got a list"):
        JsonTensorCodec().decode({"data": [[1, [2]], [3, 4]]})
    with pytest.raises(SchemaError, match="declared \\[2, 3\\] but 'data' is nested as \\[1, 3\\]"):
        codec({"data": [[1, 2, 3]], "shape": [2, 3]})


def test_value_rules_name_the_element() -> None:
    with pytest.raises(SchemaError, match=r"x\.data\[1\]: expected a number for dtype float32, got 'a'"):
        JsonTensorCodec().decode({"data": [1, "a"]}, where="x")
    with pytest.raises(SchemaError, match=r"data\[0\]: expected an integer"):
        JsonTensorCodec(dtype="int64").decode({"data": [1.5]})
    with pytest.raises(SchemaError, match="outside the int8 range"):
        JsonTensorCodec(dtype="int8").decode({"data": [200]})
    with pytest.raises(SchemaError, match="expected true or false"):
        JsonTensorCodec(dtype="bool").decode({"data": [1]})
    with pytest.raises(SchemaError, match=r"data\[0\]\[1\]: non-finite"):
        JsonTensorCodec().decode({"data": [[1.0, float("nan")]]})
    with pytest.raises(SchemaError, match="too large for float16"):
        JsonTensorCodec(dtype="float16").decode({"data": [1e6]})
    assert torch.isnan(JsonTensorCodec(allow_nonfinite=True).decode({"data": [float("nan")]})).all()


def test_envelope_rules() -> None:
    codec = JsonTensorCodec()
    with pytest.raises(SchemaError, match="expected an object"):
        codec([1, 2])
    with pytest.raises(SchemaError, match="unknown key\\(s\\) values"):
        codec({"values": [1]})
    with pytest.raises(SchemaError, match="exactly one of"):
        codec({"data": [1], "b64": ""})
    with pytest.raises(SchemaError, match="dtype: expected 'float32', got 'int64'"):
        codec({"data": [1], "dtype": "int64"})
    with pytest.raises(SchemaError, match="shape: required with 'b64'"):
        codec({"b64": "AAAA"})


def test_size_limits_apply_before_allocation() -> None:
    codec = JsonTensorCodec(max_elements=10)
    with pytest.raises(SchemaError, match="more than the limit of 10"):
        codec({"data": [[0.0] * 4] * 3})
    with pytest.raises(SchemaError, match="more than the limit of 10"):
        codec({"b64": "", "shape": [1000, 1000]})
    with pytest.raises(SchemaError, match="characters is more than"):
        codec({"b64": "A" * 10_000, "shape": [2]})


def test_bad_base64_is_refused() -> None:
    codec = JsonTensorCodec(dtype="uint8")
    with pytest.raises(SchemaError, match="not valid base64"):
        codec({"b64": "!!!!", "shape": [3]})
    with pytest.raises(SchemaError, match="2 bytes, but shape \\[3\\]"):
        codec({"b64": base64.b64encode(b"ab").decode(), "shape": [3]})
    with pytest.raises(SchemaError, match="must be 0 or 1"):
        JsonTensorCodec(dtype="bool").decode({"b64": base64.b64encode(b"\x02").decode(), "shape": [1]})


def test_deeply_nested_payload_is_refused_without_recursion_error() -> None:
    deep: list[object] = [1.0]
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(SchemaError, match="expected"):
        JsonTensorCodec(shape=(-1,)).decode({"data": deep})
    assert JsonTensorCodec().decode({"data": deep}).numel() == 1


def test_scalars_and_config() -> None:
    codec = JsonTensorCodec(dtype="float64")
    assert codec.decode({"data": 2.5}).shape == ()
    assert codec.encode(torch.tensor(2.5, dtype=torch.float64)) == {"dtype": "float64", "shape": [], "data": 2.5}
    with pytest.raises(ConfigError, match="dtype"):
        JsonTensorCodec(dtype="complex64")
    with pytest.raises(SchemaError, match="cannot be encoded"):
        codec.encode(torch.zeros(2, dtype=torch.complex64))
    again = from_config(JsonTensorCodec(shape=(-1, 4), dtype="int64").to_config())
    assert isinstance(again, JsonTensorCodec) and again.config.shape == (-1, 4)
