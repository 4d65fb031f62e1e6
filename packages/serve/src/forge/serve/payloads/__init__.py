"""Request and response payloads."""

from __future__ import annotations

from typing import TYPE_CHECKING

from forge.core import lazy_exports

if TYPE_CHECKING:
    from forge.serve.payloads.configs import DTYPES as DTYPES
    from forge.serve.payloads.configs import JsonTensorConfig as JsonTensorConfig
    from forge.serve.payloads.tensor import JsonTensorCodec as JsonTensorCodec

__getattr__, __dir__ = lazy_exports(__name__, __file__)
