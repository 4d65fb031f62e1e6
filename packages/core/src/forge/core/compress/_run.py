"""``forge compress``: a compressed copy of a run, as a new run directory with lineage to its parent.

- ``dynamic_int8`` / ``static_int8``: post-training quantization of the parent's best weights.
  The new folder holds the parent's config, the quantized model as a ``torch.export`` program
  (``model.pt2``, verified against the quantized model in memory) and ``compress.json``.
- ``prune``: a fine-tuning run initialised from the parent (``core.init_from``) with the
  ``core.pruning`` callback, a normal run directory.
- ``distill``: a student run (``core.distill`` model, ``core.kd`` loss) taught by the parent.
- ``qat``: quantization-aware training, a fine-tuning run initialised from the parent with the
  ``core.qat`` callback (int8 fake quantization of the linear layers); its last weights are then
  converted to int8 for real and written as ``model.pt2`` beside the run's checkpoints.

Every method evaluates the result on the parent recipe's test split (val when it has none) with
the recipe's metrics and records the figures before and after, sizes and the parent's lineage.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
import torch
from torch import nn

from forge.core._atomic import write_json
from forge.core._logging import get_logger
from forge.core._run import RunDir, config_hash, find_checkpoint
from forge.core._runner import load_model, run_loaders, run_recipe
from forge.core.compress._configs import DynamicInt8Config
from forge.core.compress._prune import sparsity
from forge.core.compress._qat import convert_qat
from forge.core.compress._quantize import model_size_bytes, quantize_dynamic, quantize_static
from forge.core.errors import ConfigError, ExportError

__all__ = ["METHODS", "CompressResult", "compress_run", "evaluate_model"]

METHODS = ("dynamic_int8", "static_int8", "prune", "distill", "qat")
REPORT = "compress.json"
_log = get_logger("forge.compress")


@attrs.frozen
class CompressResult:
    """A compressed run on disk and its report (``compress.json``)."""

    run_dir: Path
    report: dict[str, Any]


def _inputs(batch: Any) -> tuple[torch.Tensor, ...]:
    x = batch[0] if isinstance(batch, (tuple, list)) else batch
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def evaluate_model(model: Any, loader: Iterable[Any], metrics: Mapping[str, Any]) -> dict[str, float]:
    """The recipe's metrics of ``model`` (called on positional inputs) over ``loader``, on the CPU."""
    for m in metrics.values():
        m.reset()
    with torch.no_grad():
        for batch in loader:
            out = model(*_inputs(batch))
            target = batch[1]
            for m in metrics.values():
                m.update(out, target)
    return {name: float(m.compute()) for name, m in metrics.items()}


def _metrics(resolved: Any) -> dict[str, Any]:
    return {m.ref.name.rsplit(".", 1)[-1]: m.build() for m in resolved.metrics}


def _target(run_dir: Path, method: str, out: str | os.PathLike[str] | None, overwrite: bool) -> Path:
    target = Path(out) if out is not None else run_dir.parent / f"{run_dir.name}-{method}"
    if target.exists() and any(target.iterdir()) and not overwrite:
        raise ConfigError(f"{target} already exists and is not empty: pass --overwrite or another --out")
    return target


def _lineage(run_dir: Path, which: str) -> dict[str, Any]:
    ckpt = find_checkpoint(run_dir, which)  # type: ignore[arg-type]  # "best" or "last", checked by callers
    where = ckpt.path.relative_to(run_dir) if ckpt.path.is_relative_to(run_dir) else ckpt.path
    return {
        "parent": str(run_dir.resolve()),
        "parent_config_hash": config_hash(RunDir(run_dir).read_config()),
        "parent_checkpoint": str(where),
        "parent_step": ckpt.manifest.get("trainer", {}).get("global_step"),
    }


def _post_training(
    run_dir: Path, method: str, target: Path, which: str, calibration_batches: int, options: Mapping[str, Any]
) -> dict[str, Any]:
    resolved, train, val, test = run_loaders(run_dir)
    loader = test if test is not None else val
    if loader is None:
        raise ConfigError(f"{run_dir}: the recipe's dataset has no test or val split to evaluate on")
    metrics = _metrics(resolved)
    model = load_model(run_dir, which)  # type: ignore[arg-type]
    example = _inputs(next(iter(loader)))
    before = evaluate_model(model, loader, metrics)
    quantized: Any
    extra: dict[str, Any] = {}
    if method == "dynamic_int8":
        try:
            settings = DynamicInt8Config(**options)
        except TypeError as exc:  # an unknown key (bad values raise ConfigError from the config itself)
            raise ConfigError(f"dynamic_int8: bad options {dict(options)}: {exc} (known: backend)") from exc
        quantized = quantize_dynamic(model, example, backend=settings.backend)
        extra["backend"] = quantized.forge_int8_backend
    else:
        calibration = (_inputs(b) for i, b in zip(range(calibration_batches), train, strict=False))
        quantized = quantize_static(model, example, calibration)
    after = evaluate_model(quantized, loader, metrics)
    target.mkdir(parents=True, exist_ok=True)
    artifact = _write_program(quantized, example, target, method)
    RunDir(target).write_config(RunDir(run_dir).read_config())
    return {
        "metrics_before": before,
        "metrics_after": after,
        "size_bytes_before": model_size_bytes(model),
        **artifact,
        "size_bytes_after_state_dict": model_size_bytes(quantized),
        **extra,
    }


def _write_program(quantized: Any, example: tuple[torch.Tensor, ...], target: Path, method: str) -> dict[str, Any]:
    """Save ``quantized`` as ``model.pt2`` (dynamic batch) and check the reloaded program against it."""
    dims = tuple({0: torch.export.Dim.DYNAMIC} for _ in example)
    try:
        program = torch.export.export(quantized, example, dynamic_shapes=dims)
        torch.export.save(program, str(target / "model.pt2"))
        reloaded = torch.export.load(str(target / "model.pt2")).module()
        with torch.no_grad():
            agree = float((reloaded(*example) - quantized(*example)).abs().max())
    except Exception as exc:
        raise ExportError(f"{method}: the quantized model could not be exported as a .pt2 program: {exc}") from exc
    return {
        "size_bytes_after": (target / "model.pt2").stat().st_size,
        "artifact": "model.pt2",
        "artifact_max_abs_diff": agree,
    }


def _train_variant(
    run_dir: Path, method: str, target: Path, which: str, options: Mapping[str, Any], overrides: Iterable[str]
) -> dict[str, Any]:
    config = RunDir(run_dir).read_config()
    parent_model = load_model(run_dir, which)  # type: ignore[arg-type]
    resolved, _, val, test = run_loaders(run_dir)
    loader = test if test is not None else val
    metrics = _metrics(resolved)
    if method == "qat" and loader is None:
        raise ConfigError(f"{run_dir}: the recipe's dataset has no test or val split to evaluate the QAT model on")
    if method == "qat" and not any(isinstance(m, nn.Linear) for m in parent_model.modules()):
        raise ConfigError(
            f"qat: {type(parent_model).__name__} has no nn.Linear layer to fake-quantize "
            "(torchao's QAT covers linear layers; use static_int8 for convolutional models)"
        )
    before = evaluate_model(parent_model, loader, metrics) if loader is not None else {}
    ours = ("core.init_from", "core.pruning", "core.qat")
    callbacks = [c for c in config.get("callbacks", []) if c.get("name") not in ours]
    if method in ("prune", "qat"):
        tuning = {"name": "core.pruning" if method == "prune" else "core.qat", **options}
        init = {"name": "core.init_from", "run_dir": str(run_dir.resolve()), "which": which}
        config["callbacks"] = [init, tuning, *callbacks]
    else:
        student = options.get("student")
        if not isinstance(student, Mapping) or "name" not in student:
            raise ConfigError("distill: options.student must be a model section, e.g. {name = 'vision.resnet18'}")
        config["model"] = {"name": "core.distill", "student": dict(student), "teacher_run": str(run_dir.resolve())}
        config["loss"] = {
            "name": "core.kd",
            "temperature": float(options.get("temperature", 4.0)),
            "alpha": float(options.get("alpha", 0.9)),
        }
        config["callbacks"] = callbacks
    with tempfile.TemporaryDirectory() as tmp:
        recipe_file = Path(tmp) / f"{method}.json"
        recipe_file.write_text(json.dumps(config), encoding="utf-8")
        result = run_recipe(recipe_file, list(overrides), run_dir=target, overwrite=True)
    model: nn.Module = load_model(result.run_dir, "last")
    report: dict[str, Any] = {
        "metrics_before": before,
        "size_bytes_before": model_size_bytes(parent_model),
        "parameters_before": sum(p.numel() for p in parent_model.parameters()),
        "parameters_after": sum(p.numel() for p in model.parameters()),
        "steps": result.fit.global_step,
    }
    if method == "qat":
        report.update(_qat_figures(parent_model, model, loader, metrics, result.run_dir))
        return report
    report["metrics_after"] = evaluate_model(model, loader, metrics) if loader is not None else {}
    report["size_bytes_after"] = model_size_bytes(model)
    if method == "prune":
        report["sparsity"] = sparsity(model, str(options.get("layers", "conv_linear")))
    return report


def _qat_figures(
    parent_model: nn.Module, trained: nn.Module, loader: Iterable[Any] | None, metrics: Mapping[str, Any], target: Path
) -> dict[str, Any]:
    """Convert the QAT-trained weights to int8, evaluate them, write ``model.pt2``; the parent's int8 to compare."""
    assert loader is not None  # checked before training
    quantized = convert_qat(trained)
    example = _inputs(next(iter(loader)))
    return {
        "metrics_after": evaluate_model(quantized, loader, metrics),
        # the trained weights run in float, and the parent quantized the same way without training:
        # what QAT bought over post-training quantization is metrics_after - metrics_post_training
        "metrics_after_float": evaluate_model(trained, loader, metrics),
        "metrics_post_training": evaluate_model(convert_qat(parent_model), loader, metrics),
        **_write_program(quantized, example, target, "qat"),
        "size_bytes_after_state_dict": model_size_bytes(quantized),
    }


def compress_run(
    run_dir: str | os.PathLike[str],
    method: str,
    *,
    out: str | os.PathLike[str] | None = None,
    which: str = "best",
    options: Mapping[str, Any] | None = None,
    overrides: Iterable[str] = (),
    calibration_batches: int = 16,
    overwrite: bool = False,
) -> CompressResult:
    """Compress a run into a new run directory (default ``<run_dir>-<method>`` beside it).

    Args:
        run_dir: The parent run.
        method: One of :data:`METHODS`.
        out: The new run directory.
        which: The parent's checkpoint ("best" or "last").
        options: Method settings: for ``prune`` the ``core.pruning`` fields (``sparsity``,
            ``structured``, ``start_step``, ``end_step``, ``every``, ``layers``); for ``dynamic_int8``
            ``backend`` (``"auto"``, ``"pt2e"`` or ``"torchao"``); for ``distill``
            ``student`` (a model section), ``temperature`` and ``alpha``; for ``qat`` the
            ``core.qat`` field ``start_step``.
        overrides: Recipe overrides for the training methods (``trainer.max_epochs=3``).
        calibration_batches: Training batches that calibrate ``static_int8``.
        overwrite: Replace a non-empty ``out``.

    Raises:
        ConfigError: unknown method or bad options; ``out`` exists; ``qat`` on a model without
            linear layers.
        ExportError: quantization or the ``.pt2`` export failed.
    """
    if method not in METHODS:
        raise ConfigError(f"method {method!r}: expected one of {', '.join(METHODS)}")
    if which not in ("best", "last"):
        raise ConfigError(f"which {which!r}: expected best or last")
    parent = RunDir(run_dir).path
    target = _target(parent, method, out, overwrite)
    lineage = _lineage(parent, which)
    if method in ("dynamic_int8", "static_int8"):
        if target.exists() and overwrite:
            import shutil

            shutil.rmtree(target)
        figures = _post_training(parent, method, target, which, calibration_batches, dict(options or {}))
    else:
        figures = _train_variant(parent, method, target, which, dict(options or {}), overrides)
    report = {
        "method": method,
        "options": dict(options or {}),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "lineage": lineage,
        **figures,
    }
    write_json(target / REPORT, report)
    _log.info(
        "compress.written",
        run_dir=str(target),
        method=method,
        **{f"after/{k}": v for k, v in report["metrics_after"].items()},
    )
    return CompressResult(run_dir=target, report=report)
