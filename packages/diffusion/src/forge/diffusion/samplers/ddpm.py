"""Ancestral DDPM sampling: ``x_{t'} ~ q(x_{t'} | x_t, x0_hat)`` step by step (Ho et al. 2020).

On a loop over timesteps ``... > t > t' > ...`` (every step, or a spaced subset) one step is, with
``A`` the cumulative alphas, ``A' = A_{t'}`` (1 past the end) and ``b = 1 - A_t / A'``:

    x0_hat = clip(to_x0(model_output))
    mean   = sqrt(A') b / (1 - A_t) * x0_hat + sqrt(1 - b) (1 - A') / (1 - A_t) * x_t
    x_{t'} = mean + sigma z,  z ~ N(0, I) (no noise at t = 0)

with ``sigma^2 = (1 - A') / (1 - A_t) b`` (``fixed_small``, the posterior variance) or ``b``
(``fixed_large``). Coefficients are Python floats computed in float64 from the schedule's tables,
so a step never reads a device tensor.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch
from torch import Tensor

from forge.core.data import config_from_args
from forge.core.errors import ConfigError
from forge.diffusion.samplers.configs import DDPMConfig
from forge.diffusion.samplers.timesteps import spaced_timesteps, to_x0_and_eps
from forge.diffusion.schedules.noise import NoiseSchedule

__all__ = ["DDPMSampler", "StepOutput", "draw_noise"]


class StepOutput(NamedTuple):
    """One sampler step: the next (less noisy) sample and the clean sample predicted on the way."""

    prev_sample: Tensor
    pred_original_sample: Tensor


def draw_noise(like: Tensor, generator: torch.Generator | None) -> Tensor:
    """Standard normal noise shaped like ``like``, drawn on the generator's device, then moved to ``like``'s.

    Drawing on the generator's device makes a CPU seed give the same noise whatever device samples.
    """
    device = generator.device if generator is not None else like.device
    return torch.randn(like.shape, generator=generator, device=device, dtype=like.dtype).to(like.device)


class DDPMSampler:
    """The DDPM reverse process on a :class:`~forge.diffusion.schedules.NoiseSchedule`.

    Args:
        schedule: The noise schedule the denoiser was trained with.
        prediction_type: What the denoiser predicts: ``"epsilon"``, ``"sample"`` or ``"v_prediction"``.
        config: Sampling options; leave it out for the defaults or pass fields as keywords.
        **params: :class:`DDPMConfig` fields, when ``config`` is not given.

    Raises:
        ConfigError: an option is invalid.

    Example:
        >>> sampler = DDPMSampler(NoiseSchedule(num_timesteps=100), "epsilon", num_steps=20)
        >>> x = torch.randn(2, 3)
        >>> for t in sampler.timesteps:
        ...     x = sampler.step(torch.zeros_like(x), t, x).prev_sample
    """

    name = "diffusion.ddpm"

    def __init__(
        self,
        schedule: NoiseSchedule,
        prediction_type: str = "epsilon",
        config: DDPMConfig | None = None,
        /,
        **params: Any,
    ) -> None:
        self.config: DDPMConfig = config_from_args(self.name, DDPMConfig, config, params)
        if prediction_type not in ("epsilon", "sample", "v_prediction"):
            raise ConfigError(
                f"{self.name}: prediction_type must be epsilon, sample or v_prediction, got {prediction_type!r}"
            )
        self.schedule = schedule
        self.prediction_type = prediction_type
        self.alphas_cumprod: list[float] = schedule.alphas_cumprod.tolist()
        total = schedule.num_timesteps
        n = self.config.num_steps if self.config.num_steps is not None else total
        if self.config.num_steps is None:
            self.timesteps: list[int] = list(range(total - 1, -1, -1))
        else:
            self.timesteps = spaced_timesteps(total, n, self.config.timestep_spacing, self.config.steps_offset)
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

    def _alphas(self, t: int, prev_t: int) -> tuple[float, float]:
        a_t = self.alphas_cumprod[t]
        a_prev = self.alphas_cumprod[prev_t] if prev_t >= 0 else 1.0
        return a_t, a_prev

    def variance(self, t: int) -> float:
        """The variance of the step from ``t``: the posterior's (``fixed_small``) or ``b`` (``fixed_large``)."""
        a_t, a_prev = self._alphas(t, self.previous_timestep(t))
        beta = 1.0 - a_t / a_prev
        if self.config.variance_type == "fixed_large":
            return beta
        return max((1.0 - a_prev) / (1.0 - a_t) * beta, 1e-20)

    def _std(self, t: int) -> float:
        var = self.variance(t)
        if self.config.variance_type == "fixed_small_log":
            return math.exp(0.5 * math.log(var))
        return math.sqrt(var)

    def step(
        self,
        model_output: Tensor,
        t: int,
        sample: Tensor,
        *,
        generator: torch.Generator | None = None,
        noise: Tensor | None = None,
    ) -> StepOutput:
        """Go one step back from ``t``.

        Args:
            model_output: The denoiser's output at ``(sample, t)``.
            t: The current timestep (one of :attr:`timesteps`).
            sample: ``x_t``.
            generator: Draws the step's noise (see :func:`draw_noise`).
            noise: The step's standard normal noise, instead of drawing it.

        Returns:
            The next sample and the predicted clean sample.

        Raises:
            ConfigError: ``t`` is not in the loop.
            DataError: shapes differ.
        """
        t = int(t)
        prev_t = self.previous_timestep(t)
        a_t, a_prev = self._alphas(t, prev_t)
        alpha = a_t / a_prev
        beta = 1.0 - alpha
        x0, _ = to_x0_and_eps(model_output, sample, a_t, self.prediction_type)
        if self.config.clip_sample:
            r = self.config.clip_sample_range
            x0 = x0.clamp(-r, r)
        x0_coeff = math.sqrt(a_prev) * beta / (1.0 - a_t)
        xt_coeff = math.sqrt(alpha) * (1.0 - a_prev) / (1.0 - a_t)
        prev = x0_coeff * x0 + xt_coeff * sample
        if t > 0:
            z = noise if noise is not None else draw_noise(model_output, generator)
            prev = prev + self._std(t) * z
        return StepOutput(prev, x0)
