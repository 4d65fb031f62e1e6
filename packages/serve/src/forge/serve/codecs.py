"""Request bodies to validated tensors, and tensors to response bodies.

forge's own routes take one input tensor per request, in any of these bodies (``Content-Type``):

``application/json``
    ``{"inputs": {"dtype": "float32", "shape": [1, 3], "data": [[...]]}}`` (the
    :class:`~forge.serve.payloads.JsonTensorCodec` payload; ``"b64"`` instead of ``"data"`` too).
``application/octet-stream``
    The tensor's raw little-endian bytes, C order, with headers ``X-Tensor-Shape: 4,3,64,64``
    and ``X-Tensor-Dtype: float32``: the hot path, no number is parsed from text.
``application/x-safetensors``
    A safetensors file holding one tensor (any name) or one named ``input``.
``image/png``, ``image/jpeg``, ``image/webp``
    An encoded image for image models: decoded in the run's colour mode, resized to its image
    size and passed through its evaluation transform (built through the registry).

Every shape and size check happens on the declared shape, before the data is copied; every
broken rule raises :class:`~forge.core.errors.SchemaError` naming the header or field.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

from forge.core.errors import SchemaError
from forge.serve.payloads import JsonTensorCodec
from forge.serve.schema import InputSchema

__all__ = [
    "IMAGE_TYPES",
    "decode_image",
    "decode_json",
    "decode_raw",
    "decode_safetensors",
    "dtype_name",
    "encode_raw",
    "parse_shape_header",
    "torch_dtype",
]

IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp")

_ST_DTYPES = {
    "F16": "float16",
    "BF16": "bfloat16",
    "F32": "float32",
    "F64": "float64",
    "U8": "uint8",
    "I8": "int8",
    "I16": "int16",
    "I32": "int32",
    "I64": "int64",
    "BOOL": "bool",
}


def torch_dtype(name: str) -> torch.dtype:
    """The torch dtype named ``name`` (one of the payload dtypes)."""
    dtype = getattr(torch, name, None)
    if not isinstance(dtype, torch.dtype):
        raise SchemaError(f"unknown dtype {name!r}")
    return dtype


def dtype_name(dtype: torch.dtype) -> str:
    """``torch.float32`` -> ``"float32"``."""
    return str(dtype).removeprefix("torch.")


def _itemsize(name: str) -> int:
    return torch.empty(0, dtype=torch_dtype(name)).element_size()


def parse_shape_header(text: str | None, where: str = "X-Tensor-Shape") -> tuple[int, ...]:
    """Parse ``"4,3,64,64"`` (or ``"[4, 3, 64, 64]"``) into a shape.

    Raises:
        SchemaError: missing, or not a comma-separated list of non-negative integers.
    """
    if text is None:
        raise SchemaError(f"{where}: header required with a binary tensor body (e.g. '{where}: 1,3,64,64')")
    parts = [p.strip() for p in text.strip().strip("[]").split(",") if p.strip()]
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        raise SchemaError(f"{where}: expected comma-separated integers, got {text!r}") from None
    if any(d < 0 for d in shape):
        raise SchemaError(f"{where}: sizes must be >= 0, got {text!r}")
    return shape


def _from_bytes(data: bytes | memoryview, dtype: str, shape: tuple[int, ...], where: str) -> Tensor:
    expected = math.prod(shape) * _itemsize(dtype)
    if len(data) != expected:
        raise SchemaError(f"{where}: {len(data)} bytes, but shape {list(shape)} of {dtype} needs {expected}")
    if dtype == "bool" and any(b > 1 for b in bytes(data)):
        raise SchemaError(f"{where}: bool bytes must be 0 or 1")
    if expected == 0:
        return torch.empty(shape, dtype=torch_dtype(dtype))
    # bytearray copies the immutable body, so the tensor owns writable memory that outlives the request.
    flat = torch.frombuffer(bytearray(data), dtype=torch_dtype(dtype))
    return flat.reshape(shape)


def decode_raw(
    body: bytes,
    shape_header: str | None,
    dtype_header: str | None,
    schema: InputSchema,
    *,
    max_elements: int,
    where: str = "body",
) -> Tensor:
    """Decode a raw little-endian tensor body described by its ``X-Tensor-Shape``/``X-Tensor-Dtype`` headers.

    Raises:
        SchemaError: a header is missing or malformed, the shape or dtype breaks the schema, the
            byte count does not match, or a value breaks the schema's range.
    """
    shape = parse_shape_header(shape_header)
    dtype = (dtype_header or schema.dtype).strip()
    schema.check_dtype(dtype, "X-Tensor-Dtype")
    schema.check_shape(shape, "X-Tensor-Shape", max_elements=max_elements)
    return schema.check_values(_from_bytes(body, dtype, shape, where), "input")


def decode_safetensors(body: bytes, schema: InputSchema, *, max_elements: int, name: str = "input") -> Tensor:
    """Decode a safetensors body holding one tensor (or one called ``name``), checking its header first.

    Raises:
        SchemaError: the body is not a safetensors file, holds no usable tensor, or the tensor breaks the schema.
    """
    if len(body) < 8:
        raise SchemaError("body: too short for a safetensors file (needs an 8-byte header length)")
    (header_len,) = struct.unpack("<Q", body[:8])
    if header_len > len(body) - 8 or header_len > 100 * 2**20:
        raise SchemaError(f"body: safetensors header length {header_len} is larger than the body")
    try:
        header = json.loads(body[8 : 8 + header_len])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SchemaError(f"body: safetensors header is not JSON ({exc})") from None
    if not isinstance(header, dict):
        raise SchemaError("body: safetensors header must be a JSON object")
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    if name in tensors:
        key = name
    elif len(tensors) == 1:
        key = next(iter(tensors))
    else:
        raise SchemaError(f"body: safetensors file must hold one tensor or one named {name!r}; has {sorted(tensors)}")
    info = tensors[key]
    where = f"safetensors[{key!r}]"
    if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= set(info):
        raise SchemaError(f"{where}: entry needs dtype, shape and data_offsets")
    dtype = _ST_DTYPES.get(str(info["dtype"]))
    if dtype is None:
        raise SchemaError(f"{where}.dtype: {info['dtype']!r} is not supported; use one of {', '.join(_ST_DTYPES)}")
    raw_shape, offsets = info["shape"], info["data_offsets"]
    if not isinstance(raw_shape, list) or not all(isinstance(d, int) and d >= 0 for d in raw_shape):
        raise SchemaError(f"{where}.shape: expected a list of sizes, got {raw_shape!r}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)):
        raise SchemaError(f"{where}.data_offsets: expected [begin, end], got {offsets!r}")
    shape = tuple(raw_shape)
    schema.check_dtype(dtype, f"{where}.dtype")
    schema.check_shape(shape, f"{where}.shape", max_elements=max_elements)
    start = 8 + header_len
    begin, end = start + offsets[0], start + offsets[1]
    if not start <= begin <= end <= len(body):
        raise SchemaError(f"{where}.data_offsets: {offsets} lie outside the body")
    return schema.check_values(_from_bytes(memoryview(body)[begin:end], dtype, shape, where), "input")


def decode_json(payload: Any, schema: InputSchema, *, max_elements: int) -> Tensor:
    """Decode ``{"inputs": <tensor payload>}`` (already parsed JSON).

    Raises:
        SchemaError: the envelope or the tensor payload is malformed or breaks the schema.
    """
    if not isinstance(payload, Mapping) or "inputs" not in payload:
        raise SchemaError('body: expected a JSON object {"inputs": {"shape": [...], "data": [...]}}')
    extra = sorted(set(payload) - {"inputs", "parameters"})
    if extra:
        raise SchemaError(f"body: unknown key(s) {', '.join(extra)}; allowed: inputs, parameters")
    inputs = payload["inputs"]
    if isinstance(inputs, Mapping) and inputs.get("dtype") not in (None, schema.dtype):
        schema.check_dtype(str(inputs["dtype"]), "inputs.dtype")
        dtype = str(inputs["dtype"])
    else:
        dtype = schema.dtype
    codec = JsonTensorCodec(dtype=dtype, max_elements=max_elements, allow_nonfinite=True)
    tensor = codec.decode(inputs, where="inputs")
    schema.check_shape(tuple(tensor.shape), "inputs.shape", max_elements=max_elements)
    return schema.check_values(tensor, "inputs.data")


def decode_image(
    body: bytes,
    schema: InputSchema,
    *,
    image_size: tuple[int, int] | None,
    transform: Callable[[Tensor], Tensor] | None,
) -> Tensor:
    """Decode an encoded image into a ``[1, C, H, W]`` float tensor the model takes.

    The image is converted to the schema's channel count (1: grayscale, 3: RGB), resized to
    ``image_size`` when given, scaled to [0, 1] and passed through ``transform`` (the run's
    evaluation transform) when given.

    Raises:
        SchemaError: the model does not take images, Pillow is not installed, or the bytes are not an image.
    """
    if len(schema.shape) != 3 or schema.shape[0] not in (1, 3) or not schema.is_float:
        raise SchemaError(
            f"body: this model takes {schema.dtype} tensors of shape {schema.describe()['shape']}, not images"
        )
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise SchemaError("body: image bodies need Pillow on the server (pip install pillow)") from None
    import io

    try:
        with Image.open(io.BytesIO(body)) as opened:
            img = opened.convert("L" if schema.shape[0] == 1 else "RGB")
        if image_size is not None and (img.height, img.width) != image_size:
            img = img.resize((image_size[1], image_size[0]), Image.Resampling.BILINEAR)
        raw = img.tobytes()
        height, width = img.height, img.width
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise SchemaError(f"body: not a readable image ({exc})") from None
    channels = schema.shape[0]
    x = torch.frombuffer(bytearray(raw), dtype=torch.uint8).reshape(height, width, channels)
    x = x.permute(2, 0, 1).to(torch.float32).div_(255.0)
    if transform is not None:
        x = transform(x)
    return x.unsqueeze(0).to(torch_dtype(schema.dtype))


def encode_raw(tensor: Tensor) -> tuple[bytes, dict[str, str]]:
    """A tensor's raw little-endian bytes and the headers that describe them."""
    t = tensor.detach().to("cpu").contiguous()
    data = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
    return data, {"X-Tensor-Shape": ",".join(map(str, t.shape)), "X-Tensor-Dtype": dtype_name(t.dtype)}
