"""Explain one image with the model of a run directory and write the overlay PNG."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import attrs
import torch
from torch import nn

from forge.core import get_logger
from forge.core.errors import CheckpointError, ConfigError, DataError
from forge.vision.datasets.image_folder import load_image
from forge.vision.datasets.in_memory import build_transform
from forge.vision.explain.overlay import render_overlay
from forge.vision.explain.saliency import explain
from forge.vision.transforms.geometric import resize_images

__all__ = ["Explanation", "explain_run_image", "preprocessing_of"]

_log = get_logger(__name__)


@attrs.frozen
class Explanation:
    """What :func:`explain_run_image` explained and wrote.

    Attributes:
        path: The overlay PNG.
        target: The explained class index.
        class_name: Its name, as the run's dataset recorded it (the index as text otherwise).
        probability: The model's softmax probability of that class on the image.
    """

    path: Path
    target: int
    class_name: str
    probability: float


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


def _class_names(run_dir: Path) -> list[str] | None:
    lineage_path = run_dir / "lineage.json"
    if not lineage_path.exists():
        return None
    dataset = json.loads(lineage_path.read_text(encoding="utf-8")).get("dataset") or {}
    classes = (dataset.get("extra") or {}).get("classes")
    return [str(c) for c in classes] if isinstance(classes, list) else None


def _model_name(run_dir: Path) -> str:
    config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    model = config.get("model") or {}
    return str(model.get("name", "?")) if isinstance(model, dict) else "?"


def _class_scores(model: nn.Module, x: torch.Tensor, what: str) -> torch.Tensor:
    """The model's logits ``(1, K)`` on the image ``x``; a clear DataError when it is no image classifier."""
    try:
        with torch.no_grad():
            out = model(x.unsqueeze(0))
    except (RuntimeError, ValueError, TypeError, IndexError) as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        raise DataError(
            f"cannot explain {what}: it does not take this image as input (a {tuple(x.shape)} image, batched "
            f"to {(1, *x.shape)}): {type(exc).__name__}: {first}. forge explain explains image classifiers "
            "trained on image datasets"
        ) from None
    if not isinstance(out, torch.Tensor) or out.dim() != 2 or out.shape[0] != 1 or out.shape[1] < 2:
        got = f"a tensor of shape {tuple(out.shape)}" if isinstance(out, torch.Tensor) else type(out).__name__
        raise DataError(
            f"cannot explain {what}: it returns {got}, not class scores of shape (1, K); forge explain "
            "explains image classifiers"
        )
    return out


def explain_run_image(
    run_dir: str | Path,
    image_path: str | Path,
    *,
    method: str = "integrated_gradients",
    target: int | None = None,
    out: str | Path | None = None,
    which: str = "best",
) -> Explanation:
    """Load a run's model, explain its prediction on one image file, and write the overlay PNG.

    The image is decoded in the run's colour mode, resized to the run's image size (when the
    lineage records one), and passed through the run's ``data.eval_transform``. The PNG shows the
    image and the overlay side by side, under a title naming the method, the class and the model's
    probability for it, above a colour bar. Warnings Captum raises while attributing are logged at
    debug level instead of reaching the user.

    Args:
        run_dir: The run directory (read through :func:`forge.core._runner.load_model`).
        image_path: An image file Pillow can read.
        method: An attribution method of :func:`~forge.vision.explain.explain`.
        target: Class to explain; None explains the predicted class.
        out: PNG path; defaults to ``RUN_DIR/explain/<image stem>-<method>.png``.
        which: "best" or "last" checkpoint.

    Returns:
        The :class:`Explanation`: PNG path, class index and name, probability.

    Raises:
        CheckpointError: if the run has no loadable model.
        DataError: if the image cannot be read, or the run's model is not an image classifier that
            takes it (the message says so, instead of a traceback from inside the model).
        ConfigError: ``target`` is not one of the model's classes, or Grad-CAM was asked of a model
            without a convolution.
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
    what = f"the model of {run} ({_model_name(run)})"
    scores = _class_scores(model, x, what)
    num_classes = scores.shape[1]
    if target is None:
        target = int(scores.argmax(-1)[0])
    elif not 0 <= target < num_classes:
        raise ConfigError(f"--target {target}: {what} has classes 0 to {num_classes - 1}")
    probability = float(torch.softmax(scores.float(), -1)[0, target])
    names = _class_names(run)
    class_name = names[target] if names is not None and len(names) == num_classes else str(target)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            attribution = explain(model, x, target, method=method)
        except ConfigError as exc:
            raise ConfigError(
                f"cannot explain {what} with {method}: {exc}; try --method integrated_gradients"
            ) from None
        except (RuntimeError, ValueError, TypeError) as exc:
            first = (str(exc).strip().splitlines() or [""])[0]
            raise DataError(f"cannot explain {what} with {method}: {type(exc).__name__}: {first}") from None
    for warning in caught:
        _log.debug("explain.warning", category=warning.category.__name__, message=str(warning.message))
    path = Path(out) if out is not None else run / "explain" / f"{Path(image_path).stem}-{method}.png"
    if attribution.shape[-2:] != raw.shape[-2:]:
        raise DataError(
            f"{image_path}: the eval transform changed the image size to {tuple(attribution.shape[-2:])}; "
            "the overlay is drawn on the transformed image"
        )
    label = class_name if class_name == str(target) else f"{class_name!r} (class {target})"
    title = f"{method.replace('_', ' ')}: {label}, p = {probability:.3f}"
    render_overlay(raw, attribution, path, title=title, colorbar=True)
    return Explanation(path=path, target=target, class_name=class_name, probability=probability)
