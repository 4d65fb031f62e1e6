"""Sampling from diffusion models and run directories, and writing PNGs.

Light: this package face imports nothing heavy; import :mod:`forge.diffusion.sampling.generate`
or :mod:`forge.diffusion.sampling.run` (which import torch) for the functions.
"""

from __future__ import annotations

__all__: list[str] = []
