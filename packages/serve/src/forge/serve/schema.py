"""A served model's declared input: shape, dtype, value range and token limits, and the check against it.

A run directory declares its model's input in ``lineage.json`` (``dataset.schema.input``, written by
the dataset: ``{"shape": ["N", 1, null, null], "dtype": "float32", "min": null, "max": null,
"finite": true}``); :func:`schema_from_lineage` reads it. Every request tensor is checked against
it before it is queued, so a bad input is answered with a 4xx naming what was wrong and never
reaches a batch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from forge.core.errors import SchemaError

if TYPE_CHECKING:
    from torch import Tensor

__all__ = ["InputSchema", "schema_from_lineage"]

_DTYPES = ("float16", "bfloat16", "float32", "float64", "uint8", "int8", "int16", "int32", "int64", "bool")
_FLOAT = ("float16", "bfloat16", "float32", "float64")


@attrs.frozen
class InputSchema:
    """What one sample of a model's input must look like (the batch dimension is not part of ``shape``).

    Attributes:
        shape: Per-sample shape; ``-1`` is a free dimension.
        dtype: torch dtype name; requests in another dtype are converted only from a wider-safe
            kind (integers to floats), never silently narrowed.
        min_value: Smallest allowed value (None: no bound).
        max_value: Largest allowed value (None: no bound).
        finite: Refuse NaN and infinity.
        max_tokens: For integer (token) inputs, most elements one sample may hold.
        classes: Class names of the model's outputs, for responses (from the run's lineage).
    """

    shape: tuple[int, ...]
    dtype: str = "float32"
    min_value: float | None = None
    max_value: float | None = None
    finite: bool = True
    max_tokens: int | None = None
    classes: tuple[str, ...] | None = None

    def __attrs_post_init__(self) -> None:
        if self.dtype not in _DTYPES:
            raise SchemaError(f"input schema: dtype {self.dtype!r} is not one of {', '.join(_DTYPES)}")
        if any(d < -1 or d == 0 for d in self.shape):
            raise SchemaError(f"input schema: shape {list(self.shape)} has a size that is neither -1 nor >= 1")

    @property
    def is_float(self) -> bool:
        """Whether the input is floating point."""
        return self.dtype in _FLOAT

    def describe(self) -> dict[str, Any]:
        """The schema as JSON (what ``GET /v1/models/{name}`` shows), with ``-1`` for the batch dimension."""
        return {
            "shape": [-1, *self.shape],
            "dtype": self.dtype,
            "min": self.min_value,
            "max": self.max_value,
            "finite": self.finite,
            "max_tokens": self.max_tokens,
        }

    def check_shape(self, shape: tuple[int, ...], where: str, *, max_elements: int) -> None:
        """Check a request tensor's shape (batch dimension first) before its data is read.

        Raises:
            SchemaError: wrong rank, a fixed size that differs, an empty batch, or too many elements.
        """
        want = (-1, *self.shape)
        if len(shape) != len(want):
            raise SchemaError(
                f"{where}: expected {len(want)} dimensions {list(want)} (batch first, -1: any size), "
                f"got {len(shape)} {list(shape)}"
            )
        for i, (w, s) in enumerate(zip(want, shape, strict=True)):
            if w != -1 and w != s:
                raise SchemaError(
                    f"{where}: dimension {i} must be {w}, got {s} (expected {list(want)}, got {list(shape)})"
                )
        if shape[0] < 1:
            raise SchemaError(f"{where}: the batch dimension is empty")
        count = math.prod(shape)
        if count > max_elements:
            raise SchemaError(f"{where}: {list(shape)} holds {count} elements, more than the limit of {max_elements}")
        if self.max_tokens is not None and not self.is_float and count // shape[0] > self.max_tokens:
            raise SchemaError(
                f"{where}: {count // shape[0]} tokens per sample, more than the limit of {self.max_tokens}"
            )

    def check_dtype(self, dtype: str, where: str) -> None:
        """Check that a request dtype can be taken for this schema's dtype without losing information.

        Raises:
            SchemaError: the dtype is unknown or would be narrowed (a float for an integer input, say).
        """
        if dtype not in _DTYPES:
            raise SchemaError(f"{where}: unknown dtype {dtype!r}; expected {self.dtype}")
        if dtype == self.dtype:
            return
        if self.is_float and dtype not in ("bool",):
            return  # integers and other float widths convert to the model's float dtype
        raise SchemaError(f"{where}: expected dtype {self.dtype}, got {dtype}")

    def check_values(self, tensor: Tensor, where: str) -> Tensor:
        """Check a decoded tensor's values and convert it to the schema's dtype.

        Args:
            tensor: A ``torch.Tensor`` whose shape passed :meth:`check_shape`.
            where: The input's name in the request, for messages.

        Returns:
            The tensor in the schema's dtype.

        Raises:
            SchemaError: a non-finite value where none is allowed, or a value out of range (naming
                the first offending sample and index).
        """
        import torch

        target = getattr(torch, self.dtype)
        if tensor.dtype != target:
            tensor = tensor.to(target)
        if self.is_float and self.finite:
            bad = ~torch.isfinite(tensor)
            if bool(bad.any()):
                index = _first(bad)
                raise SchemaError(f"{where}{index}: non-finite value (NaN or infinity) is not allowed")
        if self.min_value is not None:
            low = tensor < self.min_value
            if bool(low.any()):
                index = _first(low)
                raise SchemaError(f"{where}{index}: value below the minimum {self.min_value}")
        if self.max_value is not None:
            high = tensor > self.max_value
            if bool(high.any()):
                index = _first(high)
                raise SchemaError(f"{where}{index}: value above the maximum {self.max_value}")
        return tensor


def _first(mask: Tensor) -> str:
    import torch

    flat = int(mask.reshape(-1).nonzero()[0])
    pos = torch.unravel_index(torch.tensor(flat), mask.shape)
    return "".join(f"[{int(i)}]" for i in pos)


def schema_from_lineage(lineage: Mapping[str, Any], *, where: str = "lineage.json") -> InputSchema:
    """Read a run's declared input schema from its lineage record (``dataset.schema.input``).

    ``"N"`` (the batch) is dropped and ``null`` sizes become ``-1``; the class names come from
    ``dataset.extra.classes`` when recorded.

    Raises:
        SchemaError: the lineage declares no input schema, or an invalid one (naming the key).
    """
    dataset = lineage.get("dataset") or {}
    declared = ((dataset.get("schema") or {}).get("input")) if isinstance(dataset, Mapping) else None
    if not isinstance(declared, Mapping):
        raise SchemaError(f"{where}: no dataset.schema.input; declare the input with --input-shape/--input-dtype")
    raw_shape = declared.get("shape")
    if not isinstance(raw_shape, list) or not raw_shape:
        raise SchemaError(f"{where}: dataset.schema.input.shape must be a non-empty list, got {raw_shape!r}")
    dims = raw_shape[1:] if raw_shape[0] in ("N", None, -1) else raw_shape
    shape: list[int] = []
    for i, d in enumerate(dims):
        if d is None or isinstance(d, str):
            shape.append(-1)
        elif isinstance(d, int) and not isinstance(d, bool) and d >= 1:
            shape.append(d)
        else:
            raise SchemaError(f"{where}: dataset.schema.input.shape[{i + 1}] must be a size, null or a name, got {d!r}")
    extra = dataset.get("extra") or {}
    classes = extra.get("classes") if isinstance(extra, Mapping) else None
    return InputSchema(
        shape=tuple(shape),
        dtype=str(declared.get("dtype") or "float32"),
        min_value=declared.get("min"),
        max_value=declared.get("max"),
        finite=bool(declared.get("finite", True)),
        classes=tuple(str(c) for c in classes) if isinstance(classes, list) else None,
    )
