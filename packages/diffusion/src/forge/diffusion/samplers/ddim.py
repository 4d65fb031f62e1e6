"""DDIM sampling (Song et al. 2021): the non-Markovian reverse step, deterministic at ``eta = 0``.

From ``t`` to the loop's next timestep ``t'`` (with ``A' = A_{t'}``, or the final alpha past the
end: 1 when ``set_alpha_to_one``, else ``A_0``):

    x0_hat, eps_hat = to_x0_and_eps(model_output)      (x0_hat clipped when asked)
    sigma = eta sqrt((1 - A') / (1 - A_t)) sqrt(1 - A_t / A')
    x_{t'} = sqrt(A') x0_hat + sqrt(1 - A' - sigma^2) eps_hat + sigma z

The loop goes to the next timestep of its own sequence. (diffusers' ``DDIMScheduler`` always
steps back by ``T // n``, which is the same for ``leading`` and ``trailing`` spacing when n divides
T, and differs for ``linspace``; :meth:`DDIMSampler.step` takes an explicit ``prev_timestep`` to
reproduce that.)
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from forge.core.data import config_from_args
from forge.core.errors import ConfigError
from forge.diffusion.samplers.configs import DDIMConfig
from forge.diffusion.samplers.ddpm import StepOutput, draw_noise
from forge.diffusion.samplers.timesteps import spaced_timesteps, to_x0_and_eps
from forge.diffusion.schedules.noise import NoiseSchedule

__all__ = ["DDIMSampler"]


class DDIMSampler:
    """The DDIM reverse process on a :class:`~forge.diffusion.schedules.NoiseSchedule`.

    Args:
        schedule: The noise schedule the denoiser was trained with.
        prediction_type: ``"epsilon"``, ``"sample"`` or ``"v_prediction"``.
        config: Sampling options; leave it out for the defaults or pass fields as keywords.
        **params: :class:`DDIMConfig` fields, when ``config`` is not given.

    Raises:
        ConfigError: an option is invalid (e.g. more steps than the schedule has).

    Example:
        >>> sampler = DDIMSampler(NoiseSchedule(num_timesteps=1000), "epsilon", num_steps=10)
        >>> sampler.timesteps[:3]
        [900, 800, 700]
    """

    name = "diffusion.ddim"

    def __init__(
        self,
        schedule: NoiseSchedule,
        prediction_type: str = "epsilon",
        config: DDIMConfig | None = None,
        /,
        **params: Any,
    ) -> None:
        self.config: DDIMConfig = config_from_args(self.name, DDIMConfig, config, params)
        if prediction_type not in ("epsilon", "sample", "v_prediction"):
            raise ConfigError(
                f"{self.name}: prediction_type must be epsilon, sample or v_prediction, got {prediction_type!r}"
            )
        self.schedule = schedule
        self.prediction_type = prediction_type
        self.alphas_cumprod: list[float] = schedule.alphas_cumprod.tolist()
        self.final_alpha_cumprod = 1.0 if self.config.set_alpha_to_one else self.alphas_cumprod[0]
        c = self.config
        self.timesteps: list[int] = spaced_timesteps(
            schedule.num_timesteps, c.num_steps, c.timestep_spacing, c.steps_offset
        )
        self._prev = {
            t: (self.timesteps[i + 1] if i + 1 < len(self.timesteps) else -1) for i, t in enumerate(self.timesteps)
        }

    def previous_timestep(self, t: int) -> int:
        """The timestep the loop goes to from ``t`` (-1 after the last one).

        Raises:
            ConfigError: ``t`` is not one of :attr:`timesteps`.
        """
        try:
            return self._prev[int(t)]
        except KeyError:
            raise ConfigError(
                f"{self.name}: timestep {t} is not in this sampler's loop {self.timesteps[:5]}..."
            ) from None

    def step(
        self,
        model_output: Tensor,
        t: int,
        sample: Tensor,
        *,
        generator: torch.Generator | None = None,
        noise: Tensor | None = None,
        prev_timestep: int | None = None,
    ) -> StepOutput:
        """Go one step back from ``t``.

        Args:
            model_output: The denoiser's output at ``(sample, t)``.
            t: The current timestep.
            sample: ``x_t``.
            generator: Draws the step's noise when ``eta > 0``.
            noise: The step's standard normal noise, instead of drawing it.
            prev_timestep: Where to step to (default: the loop's next timestep; negative: the end).

        Returns:
            The next sample and the predicted clean sample.

        Raises:
            ConfigError: ``t`` is not in the loop and no ``prev_timestep`` is given.
            DataError: shapes differ.
        """
        t = int(t)
        prev_t = self.previous_timestep(t) if prev_timestep is None else int(prev_timestep)
        a_t = self.alphas_cumprod[t]
        a_prev = self.alphas_cumprod[prev_t] if prev_t >= 0 else self.final_alpha_cumprod
        x0, eps = to_x0_and_eps(model_output, sample, a_t, self.prediction_type)
        c = self.config
        if c.clip_sample:
            x0 = x0.clamp(-c.clip_sample_range, c.clip_sample_range)
        variance = (1.0 - a_prev) / (1.0 - a_t) * (1.0 - a_t / a_prev)
        sigma = c.eta * math.sqrt(variance)
        if c.use_clipped_model_output:
            eps = (sample - math.sqrt(a_t) * x0) / math.sqrt(1.0 - a_t)
        prev = math.sqrt(a_prev) * x0 + math.sqrt(1.0 - a_prev - sigma**2) * eps
        if c.eta > 0:
            z = noise if noise is not None else draw_noise(model_output, generator)
            prev = prev + sigma * z
        return StepOutput(prev, x0)
