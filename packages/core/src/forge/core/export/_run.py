"""Export a run's model: pick the example batch, export, verify, and write the manifest with lineage.

An export is written into a temporary folder beside its destination and moved into place only
after the artifact agreed with the eager model, so a folder named ``exports/<format>`` always
holds a verified export and its ``export.json`` manifest.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import torch
import torch.utils._pytree as pytree

from forge.core._atomic import atomic_directory
from forge.core._digest import directory_sha256, file_sha256
from forge.core._logging import get_logger
from forge.core._registry import registry
from forge.core._run import RunDir, Which, config_hash, find_checkpoint
from forge.core._runner import load_weights, saved_recipe
from forge.core.errors import ExportError, ForgeError
from forge.core.export._base import Exporter, Verification, as_example, input_leaves, verify_artifact

__all__ = ["MANIFEST", "ExportResult", "example_batch", "export_model", "export_run", "read_manifest"]

MANIFEST = "export.json"
_log = get_logger("forge.export")


@attrs.frozen
class ExportResult:
    """A verified export on disk."""

    directory: Path
    manifest: dict[str, Any]

    @property
    def verification(self) -> dict[str, Any]:
        """The verification report (per-output max abs/rel differences)."""
        report: dict[str, Any] = self.manifest["verification"]
        return report


def _exporter(name: str, options: Mapping[str, Any]) -> tuple[str, Exporter]:
    spec = registry.get("exporter", name)
    built = registry.build("exporter", spec.name, **dict(options))
    if not isinstance(built, Exporter):
        raise ExportError(f"exporter {spec.name}: its builder returned {type(built).__name__}, not an Exporter")
    return spec.name, built


def export_model(
    model: torch.nn.Module,
    example: Any,
    directory: str | os.PathLike[str],
    *,
    format: str = "onnx",
    options: Mapping[str, Any] | None = None,
    rtol: float = 1e-3,
    atol: float = 1e-4,
    overwrite: bool = False,
    lineage: Mapping[str, Any] | None = None,
) -> ExportResult:
    """Export ``model`` in ``format``, verify it against eager on fresh inputs, write ``export.json``.

    Args:
        model: The eager model (put in eval mode and on the CPU here).
        example: One example of the positional inputs (a tuple; a single tensor, mapping or
            registered pytree such as a ``Graph`` is the one input). A tensor's dimension 0 is
            dynamic (batch size at least 2); a pytree input that implements
            :class:`~forge.core.export.ExportableInput` names its own dynamic dimensions and
            draws the fresh inputs of the verification, otherwise it is verified on the example.
        directory: The folder to create for the export.
        format: An ``exporter`` component (``onnx``, ``torch_export``, ``aoti``, ``torchscript``,
            ``tensorrt`` or one a plugin registers).
        options: Config fields of the exporter (``{"opset": 17}``, ``{"method": "script"}``).
        rtol: Relative tolerance of the verification.
        atol: Absolute tolerance of the verification.
        overwrite: Replace an existing export in ``directory``.
        lineage: Where the model came from (recorded in the manifest).

    Raises:
        ExportError: the format cannot export this model, or the artifact disagrees with eager
            beyond the tolerance (nothing is written then).
    """
    name, exporter = _exporter(format, options or {})
    model = model.eval().cpu()
    example = pytree.tree_map(lambda t: t.cpu() if isinstance(t, torch.Tensor) else t, as_example(example))
    target = Path(directory)
    if target.exists() and not overwrite:
        raise ExportError(f"{target} already exists: pass --overwrite (overwrite=True) to replace it")
    with atomic_directory(target, overwrite=overwrite) as tmp:
        artifact = exporter.export(model, example, tmp)
        verification: Verification = verify_artifact(model, artifact, example, rtol=rtol, atol=atol)
        if not verification.ok:
            worst = max(verification.outputs, key=lambda o: o.max_rel)
            raise ExportError(
                f"{name}: the export disagrees with the eager model ({worst.name}: max abs diff "
                f"{worst.max_abs:.3g}, max rel diff {worst.max_rel:.3g}; tolerance rtol={rtol}, atol={atol}); "
                "nothing was written"
            )
        files: list[dict[str, Any]] = [
            {"name": f, "bytes": (tmp / f).stat().st_size, "sha256": file_sha256(tmp / f)} for f in artifact.files
        ]
        manifest: dict[str, Any] = {
            "format": artifact.format,
            "exporter": name,
            "options": dict(options or {}),
            "files": files,
            "inputs": [leaf.schema() for leaf in input_leaves(example)],
            "verification": verification.to_json(),
            "details": dict(artifact.details),
            "torch": torch.__version__,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "lineage": dict(lineage or {}),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8")
    size = sum(int(f["bytes"]) for f in files)
    _log.info("export.written", directory=str(target), format=artifact.format, bytes=size)
    return ExportResult(directory=target, manifest=manifest)


def _first_input(sample: Any) -> Any:
    if isinstance(sample, (tuple, list)):
        return sample[0]
    if isinstance(sample, Mapping):
        raise ExportError("the dataset yields mappings; pass the example batch to export_model yourself")
    return sample


def example_batch(run_dir: str | os.PathLike[str], size: int = 2) -> tuple[Any, ...]:
    """A batch of ``size`` real inputs from a run's dataset (test, else val, else train split).

    Falls back to the model's registered example input when the dataset cannot be built or its
    inputs are not tensors (a graph, say): the registered example holds only what the model
    reads, where a dataset's graph also carries labels and split masks.
    """
    recipe = saved_recipe(RunDir(run_dir))
    try:
        splits = recipe.data.resolve().build()
        split = next(s for s in (splits.test, splits.val, splits.train) if s is not None)
        rows = [_first_input(split[i]) for i in range(min(size, len(split)))]
        tensors = [r for r in rows if isinstance(r, torch.Tensor)]
        if len(tensors) == size:
            return (torch.stack(tensors),)
    except (ForgeError, StopIteration, TypeError, IndexError) as exc:
        _log.debug("export.example_from_data_failed", error=str(exc))
    component = recipe.model.resolve()
    spec = registry.get("model", component.ref.name)
    if spec.example is None:
        raise ExportError(f"model {spec.name} registers no example input and its dataset gave none")
    from forge.core._plugins import import_object

    example = import_object(spec.example, what=f"example of model {spec.name}")(component.config)
    return tuple(
        x.expand(size, *x.shape[1:]).clone() if isinstance(x, torch.Tensor) and x.shape[0] < size else x
        for x in as_example(example)
    )


def export_run(
    run_dir: str | os.PathLike[str],
    format: str = "onnx",
    *,
    which: Which = "best",
    out: str | os.PathLike[str] | None = None,
    options: Mapping[str, Any] | None = None,
    ema: bool | None = None,
    rtol: float = 1e-3,
    atol: float = 1e-4,
    overwrite: bool = False,
) -> ExportResult:
    """Export a run's best or last checkpoint into ``RUN_DIR/exports/<format>`` (or ``out``).

    The manifest's lineage names the run, its config hash, and the checkpoint (which, step, path
    and SHA-256 of its files), so every export leads back to the weights and config it came from.

    Raises:
        CheckpointError: the run has no loadable checkpoint.
        ExportError: see :func:`export_model`.
    """
    run = RunDir(run_dir)
    recipe = saved_recipe(run)
    model = recipe.model.resolve().build()
    ckpt = find_checkpoint(run.path, which)
    load_weights(model, run.path, which, ema=recipe.trainer.eval_with_ema if ema is None else ema)
    lineage = {
        "run_dir": str(run.path.resolve()),
        "config_hash": config_hash(run.read_config()),
        "model": recipe.model.name,
        "checkpoint": {
            "which": which,
            "path": str(ckpt.path.relative_to(run.path)) if ckpt.path.is_relative_to(run.path) else str(ckpt.path),
            "step": ckpt.manifest.get("trainer", {}).get("global_step"),
            "created": ckpt.created,
            "sha256": directory_sha256(ckpt.path),
        },
    }
    name = registry.get("exporter", format).short_name
    target = Path(out) if out is not None else run.path / "exports" / name
    return export_model(
        model,
        example_batch(run.path),
        target,
        format=format,
        options=options,
        rtol=rtol,
        atol=atol,
        overwrite=overwrite,
        lineage=lineage,
    )


def read_manifest(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``export.json`` of an export folder.

    Raises:
        ExportError: the folder holds no manifest, or it is damaged.
    """
    path = Path(directory) / MANIFEST
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExportError(f"{path}: no export manifest (is {directory} an export folder?)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ExportError(f"{path}: damaged export manifest: {exc}") from exc
    return data
