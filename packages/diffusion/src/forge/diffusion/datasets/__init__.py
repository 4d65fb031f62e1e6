"""Datasets for generation: generated 2-D clouds and the bundled 8x8 digits (imports torch)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from forge.core import lazy_exports

if TYPE_CHECKING:
    from forge.diffusion.datasets.configs import DigitsConfig as DigitsConfig
    from forge.diffusion.datasets.configs import Toy2DConfig as Toy2DConfig
    from forge.diffusion.datasets.digits import build_digits as build_digits
    from forge.diffusion.datasets.digits import load_digits_images as load_digits_images
    from forge.diffusion.datasets.tensors import Conditioned as Conditioned
    from forge.diffusion.datasets.tensors import GenerativePairs as GenerativePairs
    from forge.diffusion.datasets.toy2d import build_toy2d as build_toy2d
    from forge.diffusion.datasets.toy2d import toy2d_points as toy2d_points

__getattr__, __dir__ = lazy_exports(__name__, __file__)
