"""The Open Inference Protocol (KServe v2 REST), with the binary tensor data extension.

Request bodies are JSON (``{"inputs": [{"name", "shape", "datatype", "data"}], "outputs": [...]}``)
or, with the binary extension, a JSON header of ``Inference-Header-Content-Length`` bytes followed
by the raw little-endian bytes of each input whose ``parameters.binary_data_size`` is set, in
order. Responses use the binary extension when the request asks for it
(``outputs[i].parameters.binary_data`` or ``parameters.binary_data_output``).
This module only translates; the routes live in :mod:`forge.serve.app`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from forge.core.errors import SchemaError
from forge.serve.codecs import _from_bytes, dtype_name, encode_raw
from forge.serve.payloads import JsonTensorCodec
from forge.serve.schema import InputSchema

__all__ = ["DATATYPES", "HEADER_LENGTH", "InferRequest", "encode_infer_response", "parse_infer_request"]

HEADER_LENGTH = "Inference-Header-Content-Length"

DATATYPES = {
    "BOOL": "bool",
    "UINT8": "uint8",
    "INT8": "int8",
    "INT16": "int16",
    "INT32": "int32",
    "INT64": "int64",
    "FP16": "float16",
    "BF16": "bfloat16",
    "FP32": "float32",
    "FP64": "float64",
}
"""Protocol datatypes and the torch dtypes they map to (``BYTES`` is not served: forge models take tensors)."""

_TO_PROTOCOL = {v: k for k, v in DATATYPES.items()}


def protocol_datatype(dtype: str) -> str:
    """``"float32"`` -> ``"FP32"``."""
    return _TO_PROTOCOL[dtype]


class InferRequest:
    """A parsed inference request: the input tensor, its id, and how outputs are wanted."""

    def __init__(self, tensor: Tensor, request_id: str | None, binary_outputs: set[str] | bool, wanted: list[str]):
        self.tensor = tensor
        self.id = request_id
        self.binary_outputs = binary_outputs
        self.wanted = wanted


def parse_infer_request(
    body: bytes, header_length: str | None, schema: InputSchema, *, max_elements: int
) -> InferRequest:
    """Parse and validate a v2 infer request for a model taking one input.

    Raises:
        SchemaError: the JSON is malformed, an input's shape, datatype or data is wrong, or the
            binary section does not add up (each message names the input and field).
    """
    if header_length is not None:
        try:
            n = int(header_length)
        except ValueError:
            raise SchemaError(f"{HEADER_LENGTH}: expected an integer, got {header_length!r}") from None
        if not 0 < n <= len(body):
            raise SchemaError(f"{HEADER_LENGTH}: {n} is not within the body's {len(body)} bytes")
        head, binary = body[:n], memoryview(body)[n:]
    else:
        head, binary = body, memoryview(b"")
    try:
        request = json.loads(head)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SchemaError(f"body: malformed JSON ({exc})") from None
    if not isinstance(request, dict):
        raise SchemaError("body: expected a JSON object with 'inputs'")
    inputs = request.get("inputs")
    if not isinstance(inputs, list) or len(inputs) != 1:
        got = len(inputs) if isinstance(inputs, list) else type(inputs).__name__
        raise SchemaError(f"inputs: this model takes exactly one input, got {got}")
    tensor = _input_tensor(inputs[0], binary, schema, max_elements=max_elements)
    request_id = request.get("id")
    params = request.get("parameters") or {}
    outputs = request.get("outputs") or []
    if not isinstance(outputs, list) or not all(
        isinstance(o, Mapping) and isinstance(o.get("name"), str) for o in outputs
    ):
        raise SchemaError("outputs: expected a list of {'name': ...} objects")
    binary_outputs: set[str] | bool = bool(isinstance(params, Mapping) and params.get("binary_data_output"))
    if not binary_outputs:
        binary_outputs = {str(o["name"]) for o in outputs if (o.get("parameters") or {}).get("binary_data")}
    return InferRequest(
        tensor, str(request_id) if request_id is not None else None, binary_outputs, [o["name"] for o in outputs]
    )


def _input_tensor(spec: Any, binary: memoryview, schema: InputSchema, *, max_elements: int) -> Tensor:
    if not isinstance(spec, Mapping):
        raise SchemaError("inputs[0]: expected an object with name, shape, datatype and data")
    name = spec.get("name", "input")
    where = f"inputs[{name!r}]"
    shape = spec.get("shape")
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        raise SchemaError(f"{where}.shape: expected a list of non-negative integers, got {shape!r}")
    datatype = spec.get("datatype")
    dtype = DATATYPES.get(str(datatype))
    if dtype is None:
        raise SchemaError(f"{where}.datatype: {datatype!r} is not supported; use one of {', '.join(DATATYPES)}")
    schema.check_dtype(dtype, f"{where}.datatype")
    schema.check_shape(tuple(shape), f"{where}.shape", max_elements=max_elements)
    size = (spec.get("parameters") or {}).get("binary_data_size")
    if size is not None:
        if "data" in spec:
            raise SchemaError(f"{where}: give 'data' or parameters.binary_data_size, not both")
        if not isinstance(size, int) or size != len(binary):
            raise SchemaError(f"{where}.parameters.binary_data_size: {size!r}, but {len(binary)} binary bytes follow")
        tensor = _from_bytes(binary, dtype, tuple(shape), f"{where} binary data")
    else:
        if len(binary):
            raise SchemaError(f"{where}: {len(binary)} binary bytes follow but no input sets binary_data_size")
        data = spec.get("data")
        if data is None:
            raise SchemaError(f"{where}: needs 'data' or parameters.binary_data_size")
        codec = JsonTensorCodec(dtype=dtype, max_elements=max_elements, allow_nonfinite=True)
        count = math.prod(shape)
        if isinstance(data, list) and len(data) == count and (count == 0 or not isinstance(data[0], list)):
            tensor = codec.decode({"data": data}, where=where).reshape(shape)  # flat row-major data
        else:
            tensor = codec.decode({"data": data, "shape": shape}, where=where)
    return schema.check_values(tensor, f"{where}.data")


def encode_infer_response(
    model: str,
    version: str,
    outputs: Sequence[tuple[str, Tensor]],
    request: InferRequest,
) -> tuple[bytes, dict[str, str]]:
    """Encode a v2 infer response (JSON, or JSON header + binary data when asked); returns body and headers.

    Raises:
        SchemaError: a requested output does not exist.
    """
    names = [n for n, _ in outputs]
    missing = [n for n in request.wanted if n not in names]
    if missing:
        raise SchemaError(f"outputs: model {model} has no output(s) {', '.join(missing)}; it has {', '.join(names)}")
    chosen = [(n, t) for n, t in outputs if not request.wanted or n in request.wanted]
    entries: list[dict[str, Any]] = []
    blobs: list[bytes] = []
    for name, tensor in chosen:
        dtype = dtype_name(tensor.dtype)
        if dtype not in _TO_PROTOCOL:
            tensor, dtype = tensor.to(torch.float32), "float32"
        entry: dict[str, Any] = {"name": name, "datatype": _TO_PROTOCOL[dtype], "shape": list(tensor.shape)}
        binary = request.binary_outputs is True or (
            isinstance(request.binary_outputs, set) and name in request.binary_outputs
        )
        if binary:
            raw, _ = encode_raw(tensor)
            entry["parameters"] = {"binary_data_size": len(raw)}
            blobs.append(raw)
        else:
            entry["data"] = tensor.reshape(-1).tolist()
        entries.append(entry)
    response: dict[str, Any] = {"model_name": model, "model_version": version, "outputs": entries}
    if request.id is not None:
        response["id"] = request.id
    head = json.dumps(response, separators=(",", ":")).encode()
    if not blobs:
        return head, {"Content-Type": "application/json"}
    return head + b"".join(blobs), {"Content-Type": "application/octet-stream", HEADER_LENGTH: str(len(head))}
