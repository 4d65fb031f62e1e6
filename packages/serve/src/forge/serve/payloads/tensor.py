"""Tensors in JSON request and response bodies, validated before they reach a model.

A tensor payload is a JSON object::

    {"dtype": "float32", "shape": [2, 3], "data": [[1, 2, 3], [4, 5, 6]]}
    {"dtype": "float32", "shape": [2, 3], "b64": "<base64 of the little-endian bytes>"}

``data`` (nested lists, the shape read from the nesting) or ``b64`` (compact, needs ``shape``) is
required, exactly one of them; ``dtype`` is optional and must match the codec's when given. Every
rule a payload can break raises :class:`~forge.core.errors.SchemaError` naming the request field
(``inputs.data[1][2]``), what was expected and what came, so a server can return it as a 400
response verbatim. Size limits are checked before any large allocation.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from torch import Tensor

from forge.core.data import Transform, config_from_args
from forge.core.errors import SchemaError
from forge.serve.payloads.configs import DTYPES, JsonTensorConfig

__all__ = ["JsonTensorCodec"]

_KEYS = frozenset({"dtype", "shape", "data", "b64"})


def _torch_dtype(name: str) -> torch.dtype:
    dtype = getattr(torch, name)
    assert isinstance(dtype, torch.dtype)  # names come from DTYPES, all torch dtypes
    return dtype


def _index(path: tuple[int, ...]) -> str:
    return "".join(f"[{i}]" for i in path)


class JsonTensorCodec(Transform):
    """Decode a JSON tensor payload into a tensor (checking dtype, shape, size, values), and encode one back.

    Called on a payload mapping it returns the decoded tensor, so it also works as a transform.

    Args:
        config: What the tensor must look like; leave it out for the defaults, or pass fields as keywords.
        **params: Config fields, when ``config`` is not given.

    Raises:
        ConfigError: A parameter is unknown or invalid.

    Example:
        >>> codec = JsonTensorCodec(shape=(-1, 2))
        >>> codec.decode({"data": [[1, 2], [3, 4.5]]})
        tensor([[1.0000, 2.0000],
                [3.0000, 4.5000]])
        >>> codec.encode(torch.tensor([1.5, 2.0]))
        {'dtype': 'float32', 'shape': [2], 'data': [1.5, 2.0]}
    """

    name: ClassVar[str] = "serve.json_tensor"
    config_class: ClassVar[type[JsonTensorConfig]] = JsonTensorConfig

    def __init__(self, config: JsonTensorConfig | None = None, /, **params: Any) -> None:
        self.config: JsonTensorConfig = config_from_args(self.name, JsonTensorConfig, config, params)
        self.dtype = _torch_dtype(self.config.dtype)

    # -- decoding --------------------------------------------------------------------------
    def decode(self, payload: Any, *, where: str = "inputs") -> Tensor:
        """Decode and validate one tensor payload.

        Args:
            payload: The parsed JSON object.
            where: The payload's field path in the request, for error messages.

        Returns:
            A CPU tensor of the configured dtype.

        Raises:
            SchemaError: The payload is malformed or breaks a rule (names the field).
        """
        if not isinstance(payload, Mapping):
            raise SchemaError(f"{where}: expected an object with 'data' or 'b64', got {type(payload).__name__}")
        unknown = sorted(set(map(str, payload)) - _KEYS)
        if unknown:
            raise SchemaError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_KEYS))}")
        declared = payload.get("dtype")
        if declared is not None and declared != self.config.dtype:
            raise SchemaError(f"{where}.dtype: expected {self.config.dtype!r}, got {declared!r}")
        shape = self._declared_shape(payload.get("shape"), where)
        if ("data" in payload) == ("b64" in payload):
            raise SchemaError(f"{where}: give exactly one of 'data' (nested lists) or 'b64' (base64 bytes)")
        if "b64" in payload:
            if shape is None:
                raise SchemaError(f"{where}.shape: required with 'b64'")
            tensor = self._from_b64(payload["b64"], shape, where)
        else:
            tensor = self._from_lists(payload["data"], shape, where)
        if tensor.is_floating_point() and not self.config.allow_nonfinite:
            bad = (~torch.isfinite(tensor)).reshape(-1).nonzero()
            if bad.numel():
                flat = int(bad[0])
                pos = (
                    tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), tensor.shape)) if tensor.dim() else ()
                )
                raise SchemaError(
                    f"{where}.data{_index(pos)}: non-finite value {float(tensor.reshape(-1)[flat])} "
                    f"(NaN/infinity, or too large for {self.config.dtype}) is not allowed"
                )
        return tensor

    def __call__(self, sample: Any) -> Tensor:
        """Decode ``sample`` (a payload mapping) with :meth:`decode`."""
        return self.decode(sample)

    def _declared_shape(self, raw: Any, where: str) -> tuple[int, ...] | None:
        if raw is None:
            return None
        if not isinstance(raw, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in raw):
            raise SchemaError(f"{where}.shape: expected a list of non-negative integers, got {raw!r}")
        shape = tuple(raw)
        self._check_shape(shape, where)
        return shape

    def _check_shape(self, shape: tuple[int, ...], where: str) -> None:
        count = math.prod(shape)
        if count > self.config.max_elements:
            raise SchemaError(
                f"{where}.shape: {list(shape)} holds {count} elements, "
                f"more than the limit of {self.config.max_elements}"
            )
        want = self.config.shape
        if want is None:
            return
        if len(shape) != len(want) or any(w not in (-1, s) for w, s in zip(want, shape, strict=False)):
            raise SchemaError(f"{where}.shape: expected {list(want)} (-1: any size), got {list(shape)}")

    def _check_scalar(self, value: Any, where: str) -> None:
        kind = self.config.dtype
        if kind == "bool":
            if not isinstance(value, bool):
                raise SchemaError(f"{where}: expected true or false for dtype bool, got {value!r}")
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SchemaError(f"{where}: expected a number for dtype {kind}, got {value!r}")
        elif not self.dtype.is_floating_point:
            if not isinstance(value, int):
                raise SchemaError(f"{where}: expected an integer for dtype {kind}, got {value!r}")
            info = torch.iinfo(self.dtype)
            if not info.min <= value <= info.max:
                raise SchemaError(f"{where}: {value} is outside the {kind} range {info.min}..{info.max}")

    def _from_lists(self, data: Any, declared: tuple[int, ...] | None, where: str) -> Tensor:
        shape: list[int] = []
        node = data
        while isinstance(node, list):
            shape.append(len(node))
            if not node:
                break
            node = node[0]
        self._check_shape(tuple(shape), where)
        if declared is not None and declared != tuple(shape):
            raise SchemaError(f"{where}.shape: declared {list(declared)} but 'data' is nested as {shape}")
        flat: list[Any] = []
        # Explicit stack rather than recursion: a hostile payload may nest deeper than Python's recursion limit.
        stack: list[tuple[Any, tuple[int, ...]]] = [(data, ())]
        while stack:
            item, path = stack.pop()
            level = len(path)
            if level == len(shape):
                if isinstance(item, list):
                    raise SchemaError(f"{where}.data{_index(path)}: expected a value, got a list (ragged nesting)")
                self._check_scalar(item, f"{where}.data{_index(path)}")
                flat.append(item)
                continue
            if not isinstance(item, list) or len(item) != shape[level]:
                got = f"a list of {len(item)}" if isinstance(item, list) else repr(item)
                raise SchemaError(f"{where}.data{_index(path)}: expected a list of {shape[level]} values, got {got}")
            stack.extend((child, (*path, i)) for i, child in reversed(list(enumerate(item))))
        return torch.tensor(flat, dtype=self.dtype).reshape(shape)

    def _from_b64(self, text: Any, shape: tuple[int, ...], where: str) -> Tensor:
        if not isinstance(text, str):
            raise SchemaError(f"{where}.b64: expected a base64 string, got {type(text).__name__}")
        itemsize = torch.empty(0, dtype=self.dtype).element_size()
        expected = math.prod(shape) * itemsize
        # Refuse oversized text before decoding it: base64 takes 4 characters per 3 bytes.
        if len(text) > 4 * (expected // 3 + 1):
            raise SchemaError(
                f"{where}.b64: {len(text)} characters is more than {list(shape)} {self.config.dtype} needs"
            )
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SchemaError(f"{where}.b64: not valid base64 ({exc})") from None
        if len(raw) != expected:
            raise SchemaError(
                f"{where}.b64: {len(raw)} bytes, but shape {list(shape)} of {self.config.dtype} needs {expected}"
            )
        if self.config.dtype == "bool" and any(b > 1 for b in raw):
            raise SchemaError(f"{where}.b64: bool bytes must be 0 or 1")
        # Bytes are little-endian on the wire; every platform torch ships for is little-endian too.
        flat = torch.frombuffer(bytearray(raw), dtype=self.dtype) if raw else torch.empty(0, dtype=self.dtype)
        return flat.reshape(shape)

    # -- encoding --------------------------------------------------------------------------
    def encode(self, tensor: Tensor, *, binary: bool | None = None) -> dict[str, Any]:
        """Encode a tensor as a JSON-able payload that :meth:`decode` reads back exactly.

        Args:
            tensor: Any tensor of a dtype in :data:`DTYPES` (on any device).
            binary: Base64 bytes instead of nested lists (default: the config's ``binary``).

        Returns:
            ``{"dtype", "shape", "data"}`` or ``{"dtype", "shape", "b64"}``.

        Raises:
            SchemaError: The tensor's dtype cannot be carried.
        """
        name = str(tensor.dtype).removeprefix("torch.")
        if name not in DTYPES:
            raise SchemaError(f"response tensor of dtype {name} cannot be encoded; supported: {', '.join(DTYPES)}")
        t = tensor.detach().to("cpu").contiguous()
        out: dict[str, Any] = {"dtype": name, "shape": list(t.shape)}
        if binary if binary is not None else self.config.binary:
            out["b64"] = base64.b64encode(t.reshape(-1).view(torch.uint8).numpy().tobytes()).decode("ascii")
        else:
            out["data"] = t.tolist()
        return out
