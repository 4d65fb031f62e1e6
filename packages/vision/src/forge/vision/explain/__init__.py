"""Saliency maps for image models, and PNG overlays a person can look at.

::

    from forge.vision.explain import explain, render_overlay
    attr = explain(model, image, target=3, method="integrated_gradients")   # Captum underneath
    render_overlay(image, attr, "ig.png")

Methods: ``gradients``, ``integrated_gradients``, ``smoothgrad``, ``grad_cam``. From the command
line: ``forge explain RUN_DIR IMAGE --method grad_cam --out cam.png``. Importing this package is
light; the functions load torch and Captum on first access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from forge.vision.explain.overlay import COLORMAPS, colorize, heatmap, render_overlay
    from forge.vision.explain.run_image import explain_run_image
    from forge.vision.explain.saliency import METHODS, explain, last_conv_layer

__all__ = [
    "COLORMAPS",
    "METHODS",
    "colorize",
    "explain",
    "explain_run_image",
    "heatmap",
    "last_conv_layer",
    "render_overlay",
]

_WHERE = {
    "COLORMAPS": "overlay",
    "colorize": "overlay",
    "heatmap": "overlay",
    "render_overlay": "overlay",
    "explain_run_image": "run_image",
    "METHODS": "saliency",
    "explain": "saliency",
    "last_conv_layer": "saliency",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
