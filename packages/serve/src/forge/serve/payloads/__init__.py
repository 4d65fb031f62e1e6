"""Request and response payloads."""

from __future__ import annotations

from forge.serve.payloads.configs import DTYPES, JsonTensorConfig
from forge.serve.payloads.tensor import JsonTensorCodec

__all__ = ["DTYPES", "JsonTensorCodec", "JsonTensorConfig"]
