"""Datasets for generation: generated 2-D clouds and the bundled 8x8 digits (imports torch)."""

from __future__ import annotations

from forge.diffusion.datasets.configs import DigitsConfig, Toy2DConfig
from forge.diffusion.datasets.digits import build_digits, load_digits_images
from forge.diffusion.datasets.tensors import Conditioned, GenerativePairs
from forge.diffusion.datasets.toy2d import build_toy2d, toy2d_points

__all__ = [
    "Conditioned",
    "DigitsConfig",
    "GenerativePairs",
    "Toy2DConfig",
    "build_digits",
    "build_toy2d",
    "load_digits_images",
    "toy2d_points",
]
