"""Declared schemas for batches and the check that refuses (or warns about) a batch breaking one.

A :class:`Schema` names the fields of a batch (``input``, ``target``, ...) and gives each a
:class:`TensorSpec`: its shape with symbolic dimensions, dtype, value range and class set. Shapes
describe *collated batches*, so the first dimension is the batch dimension: ``("N", 1, 8, 8)`` is a
batch of N single-channel 8x8 images, ``("N",)`` a batch of scalar labels. A symbolic dimension
(a string) must take the same size everywhere it appears in one batch, so ``("N", "C")`` inputs and
``("N",)`` targets must agree on N; ``None`` accepts any size.

Strict mode (industrial) raises :class:`~forge.core.errors.SchemaError` naming the field, the first
offending sample index and the rule; research mode emits a :class:`SchemaWarning` instead.

This module does not import torch at import time; the checks import it when they run.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from forge.core.errors import SchemaError

__all__ = ["Schema", "SchemaViolation", "SchemaWarning", "TensorSpec", "validate_batch", "validate_sample"]

Dim = int | str | None


class SchemaWarning(UserWarning):
    """A batch broke its schema while validation was not strict (research mode)."""


def _shape_converter(value: Sequence[Dim]) -> tuple[Dim, ...]:
    return tuple(value)


def _classes_converter(value: Sequence[int] | None) -> frozenset[int] | None:
    return None if value is None else frozenset(int(v) for v in value)


@attrs.frozen(kw_only=True)
class TensorSpec:
    """The declared form of one batch field.

    Attributes:
        shape: Batch shape; ints are exact, strings are symbolic (bound per batch), ``None`` is any.
            ``None`` for the whole shape skips the shape check.
        dtype: torch dtype name without the ``torch.`` prefix (``"float32"``, ``"int64"``), or ``None``.
        min: Smallest allowed value (inclusive), or ``None``.
        max: Largest allowed value (inclusive), or ``None``.
        classes: Allowed integer values (class ids), or ``None``.
        finite: Refuse NaN and infinities when true.
    """

    shape: tuple[Dim, ...] | None = attrs.field(default=None, converter=attrs.converters.optional(_shape_converter))
    dtype: str | None = None
    min: float | None = None
    max: float | None = None
    classes: frozenset[int] | None = attrs.field(default=None, converter=_classes_converter)
    finite: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able dictionary (classes sorted) that :meth:`from_dict` reads back."""
        return {
            "shape": None if self.shape is None else list(self.shape),
            "dtype": self.dtype,
            "min": self.min,
            "max": self.max,
            "classes": None if self.classes is None else sorted(self.classes),
            "finite": self.finite,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TensorSpec:
        """Build a spec from :meth:`to_dict` output.

        Raises:
            SchemaError: When ``data`` has unknown keys.
        """
        unknown = set(data) - {"shape", "dtype", "min", "max", "classes", "finite"}
        if unknown:
            raise SchemaError(f"unknown TensorSpec keys {sorted(unknown)}")
        return cls(**dict(data))


@attrs.frozen
class Schema:
    """Field name -> :class:`TensorSpec`; a tuple batch maps onto the fields in declaration order.

    Example:
        >>> schema = Schema({"input": TensorSpec(shape=("N", 1, 8, 8), dtype="float32"),
        ...                  "target": TensorSpec(shape=("N",), classes=range(10))})
    """

    fields: Mapping[str, TensorSpec]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able dictionary that :meth:`from_dict` reads back."""
        return {name: spec.to_dict() for name, spec in self.fields.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Mapping[str, Any]]) -> Schema:
        """Build a schema from :meth:`to_dict` output."""
        return cls({name: TensorSpec.from_dict(spec) for name, spec in data.items()})


@attrs.frozen
class SchemaViolation:
    """One broken rule: which field, which sample in the batch (``None`` for the whole batch), which rule."""

    field: str
    index: int | None
    rule: str
    detail: str

    def __str__(self) -> str:
        where = "the batch" if self.index is None else f"sample {self.index}"
        return f"field {self.field!r}, {where}: rule {self.rule!r} broken: {self.detail}"


def _fields_of(batch: Any, schema: Schema) -> list[tuple[str, Any]]:
    names = list(schema.fields)
    if isinstance(batch, Mapping):
        missing = [n for n in names if n not in batch]
        if missing:
            raise SchemaError(f"batch has no field(s) {missing} declared by the schema (has {sorted(batch)})")
        return [(n, batch[n]) for n in names]
    if isinstance(batch, (tuple, list)):
        if len(batch) < len(names):
            raise SchemaError(f"batch has {len(batch)} element(s) but the schema declares {names}")
        return list(zip(names, batch, strict=False))
    if len(names) != 1:
        raise SchemaError(f"batch is a single {type(batch).__name__} but the schema declares {names}")
    return [(names[0], batch)]


def _first_bad(mask: Any) -> int:
    """Index along dim 0 of the first sample where ``mask`` (batch-shaped bool tensor) is true."""
    per_sample = mask.reshape(mask.shape[0], -1).any(dim=1) if mask.dim() > 0 else mask.reshape(1)
    return int(per_sample.nonzero()[0, 0].item())


def _check_field(name: str, value: Any, spec: TensorSpec, bound: dict[str, int]) -> list[SchemaViolation]:
    import torch

    out: list[SchemaViolation] = []
    tensor = value if isinstance(value, torch.Tensor) else torch.as_tensor(value)
    if spec.dtype is not None:
        actual = str(tensor.dtype).removeprefix("torch.")
        if actual != spec.dtype:
            out.append(SchemaViolation(name, None, "dtype", f"expected {spec.dtype}, got {actual}"))
    if spec.shape is not None:
        shape = tuple(tensor.shape)
        if len(shape) != len(spec.shape):
            out.append(
                SchemaViolation(name, None, "shape", f"expected rank {len(spec.shape)} {spec.shape}, got {shape}")
            )
            return out  # value checks per sample are meaningless on a tensor of the wrong rank
        for axis, (want, got) in enumerate(zip(spec.shape, shape, strict=True)):
            if isinstance(want, int) and want != got:
                out.append(SchemaViolation(name, None, "shape", f"dim {axis} expected {want}, got {got} in {shape}"))
            elif isinstance(want, str):
                if want in bound and bound[want] != got:
                    out.append(
                        SchemaViolation(
                            name, None, "shape", f"dim {axis} ({want!r}) is {got} but {want!r}={bound[want]} elsewhere"
                        )
                    )
                bound.setdefault(want, got)
    if tensor.numel() == 0 or tensor.dim() == 0:
        # A 0-d value is a batch of one; give it a batch dim so per-sample indexing works.
        tensor = tensor.reshape(-1)
    if tensor.numel() == 0:
        return out
    if spec.finite and tensor.is_floating_point():
        bad = ~torch.isfinite(tensor)
        if bool(bad.any()):
            out.append(SchemaViolation(name, _first_bad(bad), "finite", "NaN or infinite value"))
    numeric = tensor.double() if not tensor.is_complex() else tensor.abs().double()
    if spec.min is not None:
        bad = numeric < spec.min
        if bool(bad.any()):
            i = _first_bad(bad)
            lowest = float(numeric[i].min())
            out.append(SchemaViolation(name, i, "range", f"value {lowest:g} < min {spec.min:g}"))
    if spec.max is not None:
        bad = numeric > spec.max
        if bool(bad.any()):
            i = _first_bad(bad)
            highest = float(numeric[i].max())
            out.append(SchemaViolation(name, i, "range", f"value {highest:g} > max {spec.max:g}"))
    if spec.classes is not None:
        allowed = torch.tensor(sorted(spec.classes), dtype=torch.float64)
        is_integral = bool((numeric == numeric.floor()).all()) and not bool(numeric.isnan().any())
        bad = ~torch.isin(numeric, allowed)
        if not is_integral or bool(bad.any()):
            i = _first_bad(bad | (numeric != numeric.floor()))
            values = sorted({v for v in numeric[i].reshape(-1).tolist() if math.isnan(v) or v not in spec.classes})
            out.append(
                SchemaViolation(
                    name, i, "classes", f"value(s) {values[:5]} not in the class set of {len(spec.classes)}"
                )
            )
    return out


def check_batch(batch: Any, schema: Schema) -> list[SchemaViolation]:
    """Return every rule ``batch`` breaks (empty when it conforms); never raises for violations.

    Args:
        batch: A collated batch: tuple/list mapped onto the schema's fields in order, a mapping by
            name, or a single tensor for a one-field schema.
        schema: The declared schema.

    Returns:
        The violations, in field order.

    Raises:
        SchemaError: When the batch's structure cannot be mapped onto the schema at all.
    """
    bound: dict[str, int] = {}
    out: list[SchemaViolation] = []
    for name, value in _fields_of(batch, schema):
        out.extend(_check_field(name, value, schema.fields[name], bound))
    return out


def validate_batch(batch: Any, schema: Schema, *, strict: bool = True) -> list[SchemaViolation]:
    """Refuse a batch that breaks ``schema`` (strict) or warn about it (not strict).

    Args:
        batch: A collated batch (see :func:`check_batch`).
        schema: The declared schema.
        strict: Raise on the first violation when true; otherwise emit one :class:`SchemaWarning`
            listing the violations.

    Returns:
        The violations found (always empty in strict mode, which raises instead).

    Raises:
        SchemaError: In strict mode, naming the field, the sample index and the rule broken.
    """
    violations = check_batch(batch, schema)
    if violations:
        message = "batch breaks its schema: " + "; ".join(str(v) for v in violations)
        if strict:
            raise SchemaError(message)
        warnings.warn(message, SchemaWarning, stacklevel=2)
    return violations


def validate_sample(sample: Any, schema: Schema, *, index: int = 0, strict: bool = True) -> list[SchemaViolation]:
    """Validate one uncollated sample by treating it as a batch of one.

    Args:
        sample: One sample (tuple, mapping or tensor) as a dataset returns it.
        schema: The declared (batch) schema.
        index: The sample's index in its dataset, used in messages.
        strict: As for :func:`validate_batch`.

    Returns:
        The violations found, with ``index`` as their sample index.

    Raises:
        SchemaError: In strict mode when the sample breaks the schema.
    """
    import torch

    def one(value: Any) -> Any:
        return (value if isinstance(value, torch.Tensor) else torch.as_tensor(value)).unsqueeze(0)

    if isinstance(sample, Mapping):
        batch: Any = {k: one(v) for k, v in sample.items()}
    elif isinstance(sample, (tuple, list)):
        batch = tuple(one(v) for v in sample)
    else:
        batch = one(sample)
    violations = [attrs.evolve(v, index=index) for v in check_batch(batch, schema)]
    if violations:
        message = f"sample {index} breaks its schema: " + "; ".join(str(v) for v in violations)
        if strict:
            raise SchemaError(message)
        warnings.warn(message, SchemaWarning, stacklevel=2)
    return violations
