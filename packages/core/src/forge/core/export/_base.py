"""What an exporter is, and how an exported artifact is checked against the eager model.

An :class:`Exporter` turns an eager model and an example batch into files in a directory and
returns an :class:`Artifact`: the files plus a callable that runs them. :func:`verify_artifact`
runs that callable and the eager model on fresh random inputs (other batch sizes than the
example's, to exercise the dynamic batch dimension) and compares every output.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import attrs
import torch

from forge.core.errors import ExportError

__all__ = ["Artifact", "Exporter", "OutputDiff", "Verification", "fresh_inputs", "verify_artifact"]


@attrs.frozen
class Artifact:
    """An exported model on disk and a way to run it.

    Attributes:
        format: The exporter's format name (``"onnx"``, ``"torch_export"``, ...).
        files: The files written, relative to the export directory.
        run: Runs the artifact on positional input tensors; returns a tensor or a sequence of them.
        details: Format facts for the manifest (opset, method, runtime, ...).
    """

    format: str
    files: tuple[str, ...]
    run: Callable[..., Any]
    details: Mapping[str, Any] = attrs.field(factory=dict)


@runtime_checkable
class Exporter(Protocol):
    """Builds an artifact from an eager model (what an ``exporter`` component's builder returns)."""

    format: str
    """Short format name, used for the export's folder and manifest."""

    def export(self, model: torch.nn.Module, example: tuple[torch.Tensor, ...], directory: Path) -> Artifact:
        """Write ``model`` (in eval mode, on CPU) into ``directory``, batch dimension dynamic.

        Args:
            model: The eager model.
            example: One example batch (positional inputs; batch size at least 2).
            directory: An empty directory to write into.

        Raises:
            ExportError: the model cannot be exported in this format (saying why).
        """
        ...


@attrs.frozen
class OutputDiff:
    """How far one output of the artifact is from eager's, over every verification input."""

    name: str
    shape: tuple[int, ...]
    max_abs: float
    max_rel: float
    ok: bool


@attrs.frozen
class Verification:
    """The result of running an artifact against eager PyTorch."""

    ok: bool
    rtol: float
    atol: float
    batch_sizes: tuple[int, ...]
    outputs: tuple[OutputDiff, ...]

    def to_json(self) -> dict[str, Any]:
        """Plain data for the manifest."""
        return attrs.asdict(self)


def _flatten(out: Any) -> list[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, Mapping):
        return [t for v in out.values() for t in _flatten(v)]
    if isinstance(out, (list, tuple)):
        return [t for v in out for t in _flatten(v)]
    if hasattr(out, "numpy") or type(out).__module__.startswith("numpy"):
        return [torch.as_tensor(out)]
    raise ExportError(f"an output of type {type(out).__name__} is not a tensor or a sequence/mapping of tensors")


def fresh_inputs(
    example: Sequence[torch.Tensor], batch_size: int, generator: torch.Generator
) -> tuple[torch.Tensor, ...]:
    """Random inputs shaped like ``example`` but with ``batch_size`` rows.

    Floating inputs are normal with the example's mean and standard deviation; integer inputs
    (token ids, say) are uniform over the range the example covers; booleans are random.
    """
    out = []
    for x in example:
        shape = (batch_size, *x.shape[1:])
        if x.dtype.is_floating_point:
            std = float(x.float().std()) if x.numel() > 1 else 1.0
            mean = float(x.float().mean())
            t = torch.randn(shape, generator=generator) * (std or 1.0) + mean
            out.append(t.to(x.dtype))
        elif x.dtype == torch.bool:
            out.append(torch.rand(shape, generator=generator) < 0.5)
        else:
            low, high = int(x.min()), int(x.max())
            out.append(torch.randint(low, high + 1, shape, generator=generator, dtype=x.dtype))
    return tuple(out)


def verify_artifact(
    model: torch.nn.Module,
    artifact: Artifact,
    example: Sequence[torch.Tensor],
    *,
    batch_sizes: Sequence[int] = (3, 5),
    rtol: float = 1e-3,
    atol: float = 1e-4,
    seed: int = 0,
) -> Verification:
    """Run ``artifact`` and ``model`` on fresh random inputs and compare each output.

    An output passes when ``|a - e| <= atol + rtol * |e|`` element-wise for every input batch.
    ``max_rel`` is ``max |a - e| / max(|e|, atol)``, so it stays finite where eager's output is 0.

    Raises:
        ExportError: the artifact fails to run, or returns a different number or shape of outputs.
    """
    gen = torch.Generator().manual_seed(seed)
    names: list[str] = []
    shapes: list[tuple[int, ...]] = []
    abs_err: list[float] = []
    rel_err: list[float] = []
    ok: list[bool] = []
    for b in batch_sizes:
        args = fresh_inputs(example, b, gen)
        with torch.no_grad():
            expected = _flatten(model(*args))
            try:
                got = _flatten(artifact.run(*args))
            except ExportError:
                raise
            except Exception as exc:
                raise ExportError(f"{artifact.format}: the exported model failed on a batch of {b}: {exc}") from exc
        if len(got) != len(expected):
            raise ExportError(f"{artifact.format}: {len(got)} outputs, eager gives {len(expected)}")
        for i, (e, a) in enumerate(zip(expected, got, strict=True)):
            a = torch.as_tensor(a).to(e.device)
            if tuple(a.shape) != tuple(e.shape):
                got_shape, want = tuple(a.shape), tuple(e.shape)
                raise ExportError(
                    f"{artifact.format}: output {i} has shape {got_shape} on a batch of {b}, eager {want}"
                )
            e64, a64 = e.double(), a.double()
            diff = (a64 - e64).abs()
            max_abs = float(diff.max()) if diff.numel() else 0.0
            max_rel = float((diff / e64.abs().clamp_min(atol)).max()) if diff.numel() else 0.0
            good = bool(torch.all(diff <= atol + rtol * e64.abs()))
            if len(names) <= i:
                names.append(f"output_{i}")
                shapes.append(tuple(e.shape[1:]))
                abs_err.append(max_abs)
                rel_err.append(max_rel)
                ok.append(good)
            else:
                abs_err[i], rel_err[i], ok[i] = max(abs_err[i], max_abs), max(rel_err[i], max_rel), ok[i] and good
    outputs = tuple(
        OutputDiff(name=n, shape=s, max_abs=a, max_rel=r, ok=g)
        for n, s, a, r, g in zip(names, shapes, abs_err, rel_err, ok, strict=True)
    )
    return Verification(
        ok=all(o.ok for o in outputs), rtol=rtol, atol=atol, batch_sizes=tuple(batch_sizes), outputs=outputs
    )
