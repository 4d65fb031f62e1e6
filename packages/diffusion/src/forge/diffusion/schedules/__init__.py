"""Noise schedules and the forward diffusion process."""

from __future__ import annotations

from typing import TYPE_CHECKING

from forge.core import lazy_exports

if TYPE_CHECKING:
    from forge.diffusion.schedules.configs import BETA_SCHEDULES as BETA_SCHEDULES
    from forge.diffusion.schedules.configs import NoiseScheduleConfig as NoiseScheduleConfig
    from forge.diffusion.schedules.noise import NoiseSchedule as NoiseSchedule
    from forge.diffusion.schedules.noise import cosine_alphas_cumprod as cosine_alphas_cumprod
    from forge.diffusion.schedules.noise import make_betas as make_betas

__getattr__, __dir__ = lazy_exports(__name__, __file__)
