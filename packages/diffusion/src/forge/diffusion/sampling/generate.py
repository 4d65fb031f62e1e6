"""Drawing samples from a trained :class:`~forge.diffusion.models.DiffusionModel`, with classifier-free guidance."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor

from forge.core.errors import ConfigError, DataError
from forge.diffusion.models.diffusion import DiffusionModel
from forge.diffusion.samplers.ddim import DDIMSampler
from forge.diffusion.samplers.ddpm import DDPMSampler, draw_noise

__all__ = ["generate", "make_sampler"]

SamplerName = Literal["ddpm", "ddim"]


def make_sampler(
    model: DiffusionModel,
    sampler: str = "ddim",
    steps: int | None = None,
    *,
    eta: float = 0.0,
    clip_sample: bool | None = None,
) -> DDPMSampler | DDIMSampler:
    """The sampler ``sampler`` for ``model``'s schedule and prediction type.

    Args:
        model: The diffusion model.
        sampler: ``"ddpm"`` (ancestral) or ``"ddim"``.
        steps: Loop length (None: every step for DDPM, 50 (at most T) for DDIM).
        eta: DDIM's noise scale.
        clip_sample: Clamp predicted clean samples to the model's ``diffusion.clip_sample_range``; None
            follows the model's ``diffusion.clip_sample``, and never clamps latents.

    Raises:
        ConfigError: an unknown sampler or an invalid step count.
    """
    if clip_sample is None:
        clip_sample = model.diffusion.clip_sample and model.latent_shape == model.sample_shape
    clip_range = model.diffusion.clip_sample_range
    if sampler == "ddpm":
        return DDPMSampler(
            model.schedule,
            model.prediction_type,
            num_steps=steps,
            clip_sample=clip_sample,
            clip_sample_range=clip_range,
            timestep_spacing="trailing" if steps is not None else "leading",
        )
    if sampler == "ddim":
        default = min(50, model.schedule.num_timesteps)
        return DDIMSampler(
            model.schedule,
            model.prediction_type,
            num_steps=default if steps is None else steps,
            eta=eta,
            clip_sample=clip_sample,
            clip_sample_range=clip_range,
            timestep_spacing="trailing",
        )
    raise ConfigError(f"sampler must be 'ddpm' or 'ddim', got {sampler!r}")


@torch.no_grad()
def generate(
    model: DiffusionModel,
    num: int,
    *,
    sampler: str | DDPMSampler | DDIMSampler = "ddim",
    steps: int | None = None,
    cond: Tensor | None = None,
    guidance: float = 1.0,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    clip_sample: bool | None = None,
    denoise: Callable[[Tensor, Tensor, Tensor | None], Tensor] | None = None,
) -> Tensor:
    """Draw ``num`` samples, starting from pure noise.

    With a condition and ``guidance != 1`` the prediction is classifier-free guided,
    ``uncond + guidance * (cond - uncond)``, both halves computed in one batched forward pass.

    Args:
        model: A diffusion model (put in eval mode here).
        num: How many samples.
        sampler: ``"ddpm"``, ``"ddim"``, or a sampler object.
        steps: Loop length when ``sampler`` is a name.
        cond: One condition per sample (class labels or vectors), or None.
        guidance: The guidance scale (1: plain conditional sampling; 0: unconditional).
        generator: Draws the initial noise and any step noise (a CPU generator reproduces on any device).
        device: Where to sample (default: the model's device).
        clip_sample: Clamp predicted clean samples; None follows the model (see :func:`make_sampler`).
        denoise: Replaces ``model.denoise`` (e.g. a compiled version of it).

    Returns:
        ``(num, *sample_shape)`` samples, decoded to data space.

    Raises:
        DataError: ``cond`` does not have one entry per sample, or guidance is asked of a model
            without a condition.
    """
    model.eval()
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    if cond is not None and cond.shape[0] != num:
        raise DataError(f"generate: {cond.shape[0]} conditions for {num} samples")
    s = sampler if not isinstance(sampler, str) else make_sampler(model, sampler, steps, clip_sample=clip_sample)
    guided = cond is not None and guidance != 1.0
    if guided and model.num_classes is None and model.cond_dim is None:
        raise DataError("generate: classifier-free guidance needs a conditional model")
    fn = denoise if denoise is not None else model.denoise
    param = next(model.parameters())
    x = draw_noise(torch.empty((num, *model.latent_shape), device=dev, dtype=param.dtype), generator)
    c = cond.to(dev) if cond is not None else None
    c_both = torch.cat([c, model.null_condition(c)]) if guided and c is not None else None
    for t in s.timesteps:
        tt = torch.full((num,), t, device=dev, dtype=torch.long)
        if c_both is not None:
            out_c, out_u = fn(torch.cat([x, x]), torch.cat([tt, tt]), c_both).chunk(2)
            out = out_u + guidance * (out_c - out_u)
        else:
            out = fn(x, tt, c)
        x = s.step(out, t, x, generator=generator).prev_sample
    return model.decode(x)
