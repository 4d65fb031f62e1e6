"""Config classes of the payload codecs (no torch import)."""

from __future__ import annotations

import attrs

from forge.core.config import field

__all__ = ["DTYPES", "JsonTensorConfig"]

DTYPES = ("float16", "bfloat16", "float32", "float64", "uint8", "int8", "int16", "int32", "int64", "bool")
"""Tensor dtypes a payload may carry, by their torch names."""


@attrs.frozen
class JsonTensorConfig:
    """What a tensor in a request must look like, and limits that keep one request from exhausting a server."""

    dtype: str = field("float32", help="The tensor's dtype; a payload naming another dtype is refused.", one_of=DTYPES)
    shape: tuple[int, ...] | None = field(
        None,
        help="Expected shape, -1 for a free dimension (e.g. [-1, 3, 224, 224]); None accepts any shape.",
        ge=-1,
    )
    max_elements: int = field(1_000_000, help="Most elements a payload may carry.", ge=1)
    allow_nonfinite: bool = field(False, help="Accept NaN and infinity in floating-point payloads.")
    binary: bool = field(False, help="Encode responses as base64 little-endian bytes instead of nested lists.")
