"""DDPM and DDIM samplers over a :class:`~forge.diffusion.schedules.NoiseSchedule` (imports torch)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from forge.core import lazy_exports

if TYPE_CHECKING:
    from forge.diffusion.samplers.configs import PREDICTION_TYPES as PREDICTION_TYPES
    from forge.diffusion.samplers.configs import TIMESTEP_SPACINGS as TIMESTEP_SPACINGS
    from forge.diffusion.samplers.configs import VARIANCE_TYPES as VARIANCE_TYPES
    from forge.diffusion.samplers.configs import DDIMConfig as DDIMConfig
    from forge.diffusion.samplers.configs import DDPMConfig as DDPMConfig
    from forge.diffusion.samplers.ddim import DDIMSampler as DDIMSampler
    from forge.diffusion.samplers.ddpm import DDPMSampler as DDPMSampler
    from forge.diffusion.samplers.ddpm import StepOutput as StepOutput
    from forge.diffusion.samplers.ddpm import draw_noise as draw_noise
    from forge.diffusion.samplers.timesteps import spaced_timesteps as spaced_timesteps
    from forge.diffusion.samplers.timesteps import to_x0_and_eps as to_x0_and_eps

__getattr__, __dir__ = lazy_exports(__name__, __file__)
