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

from typing import TYPE_CHECKING

from forge.core import lazy_exports

if TYPE_CHECKING:
    from forge.vision.explain.overlay import COLORMAPS as COLORMAPS
    from forge.vision.explain.overlay import colorize as colorize
    from forge.vision.explain.overlay import heatmap as heatmap
    from forge.vision.explain.overlay import render_overlay as render_overlay
    from forge.vision.explain.run_image import Explanation as Explanation
    from forge.vision.explain.run_image import explain_run_image as explain_run_image
    from forge.vision.explain.saliency import METHODS as METHODS
    from forge.vision.explain.saliency import explain as explain
    from forge.vision.explain.saliency import last_conv_layer as last_conv_layer

__getattr__, __dir__ = lazy_exports(__name__, __file__)
