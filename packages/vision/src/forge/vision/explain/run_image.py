"""Explain one image with the model of a run directory and write the overlay PNG."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from forge.core.errors import CheckpointError, DataError
from forge.vision.datasets.image_folder import load_image
from forge.vision.datasets.in_memory import build_transform
from forge.vision.explain.overlay import render_overlay
from forge.vision.explain.saliency import explain
from forge.vision.transforms.geometric import resize_images

__all__ = ["explain_run_image", "preprocessing_of"]


def preprocessing_of(run_dir: Path) -> tuple[str, tuple[int, int] | None, dict[str, Any] | None]:
    """How a run's images were prepared: Pillow mode, image size, and the eval transform dict.

    Reads ``config.json`` (``data.eval_transform``) and ``lineage.json``
    (``dataset.extra.channels`` and ``dataset.extra.image_size``, which the vision datasets record).

    Args:
        run_dir: The run directory.

    Returns:
        ``(mode, size or None, eval transform dict or None)``.

    Raises:
        CheckpointError: if the run directory has no config.json.
    """
    config_path = run_dir / "config.json"
    if not config_path.exists():
        raise CheckpointError(f"{run_dir}: not a run directory (no config.json)")
    config = json.loads(config_path.read_text(encoding="utf-8"))
    data = config.get("data") or {}
    params = data.get("params", data) if isinstance(data, dict) else {}
    eval_transform = params.get("eval_transform") if isinstance(params, dict) else None
    mode, size = "RGB", None
    lineage_path = run_dir / "lineage.json"
    if lineage_path.exists():
        dataset = json.loads(lineage_path.read_text(encoding="utf-8")).get("dataset") or {}
        extra = dataset.get("extra") or {}
        if extra.get("channels") == 1:
            mode = "L"
        if isinstance(extra.get("image_size"), list) and len(extra["image_size"]) == 2:
            size = (int(extra["image_size"][0]), int(extra["image_size"][1]))
    return mode, size, eval_transform


def explain_run_image(
    run_dir: str | Path,
    image_path: str | Path,
    *,
    method: str = "integrated_gradients",
    target: int | None = None,
    out: str | Path | None = None,
    which: str = "best",
) -> tuple[Path, int]:
    """Load a run's model, explain its prediction on one image file, and write the overlay PNG.

    The image is decoded in the run's colour mode, resized to the run's image size (when the
    lineage records one), and passed through the run's ``data.eval_transform``.

    Args:
        run_dir: The run directory (read through :func:`forge.core._runner.load_model`).
        image_path: An image file Pillow can read.
        method: An attribution method of :func:`~forge.vision.explain.explain`.
        target: Class to explain; None explains the predicted class.
        out: PNG path; defaults to ``RUN_DIR/explain/<image stem>-<method>.png``.
        which: "best" or "last" checkpoint.

    Returns:
        ``(png path, explained class)``.

    Raises:
        CheckpointError: if the run has no loadable model.
        DataError: if the image cannot be read.
    """
    from forge.core import load_model

    run = Path(run_dir)
    mode, size, eval_transform = preprocessing_of(run)
    model = load_model(run, which)  # type: ignore[arg-type]  # "best" | "last", checked by the CLI
    raw = load_image(image_path, mode)
    if size is not None:
        raw = resize_images(raw.unsqueeze(0), size, "bilinear", True)[0]
    transform = build_transform(eval_transform, f"{run}/config.json: data.eval_transform")
    x = transform(raw) if transform is not None else raw
    if target is None:
        with torch.no_grad():
            target = int(model(x.unsqueeze(0)).argmax(-1)[0])
    attribution = explain(model, x, target, method=method)
    path = Path(out) if out is not None else run / "explain" / f"{Path(image_path).stem}-{method}.png"
    if attribution.shape[-2:] != raw.shape[-2:]:
        raise DataError(
            f"{image_path}: the eval transform changed the image size to {tuple(attribution.shape[-2:])}; "
            "the overlay is drawn on the transformed image"
        )
    render_overlay(raw, attribution, path)
    return path, target
