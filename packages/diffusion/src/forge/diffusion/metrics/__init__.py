"""Sample-quality measures: distances between point sets and the digits classifier judge (imports torch)."""

from __future__ import annotations

from forge.diffusion.metrics.digits_judge import DigitsJudge, DigitsScore
from forge.diffusion.metrics.distances import energy_distance, mmd_rbf

__all__ = ["DigitsJudge", "DigitsScore", "energy_distance", "mmd_rbf"]
