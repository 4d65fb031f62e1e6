"""Noise schedules and the forward diffusion process."""

from __future__ import annotations

from forge.diffusion.schedules.configs import BETA_SCHEDULES, NoiseScheduleConfig
from forge.diffusion.schedules.noise import NoiseSchedule, cosine_alphas_cumprod, make_betas

__all__ = ["BETA_SCHEDULES", "NoiseSchedule", "NoiseScheduleConfig", "cosine_alphas_cumprod", "make_betas"]
