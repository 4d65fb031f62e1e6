"""Config classes of the DDPM and DDIM samplers (no torch import)."""

from __future__ import annotations

from typing import Literal

import attrs

from forge.core.config import field

__all__ = [
    "PREDICTION_TYPES",
    "TIMESTEP_SPACINGS",
    "VARIANCE_TYPES",
    "DDIMConfig",
    "DDPMConfig",
    "PredictionType",
    "TimestepSpacing",
    "VarianceType",
]

PredictionType = Literal["epsilon", "sample", "v_prediction"]
TimestepSpacing = Literal["leading", "trailing", "linspace"]
VarianceType = Literal["fixed_small", "fixed_small_log", "fixed_large"]

PREDICTION_TYPES: tuple[str, ...] = ("epsilon", "sample", "v_prediction")
"""What a denoiser predicts: the noise, the clean sample ``x0``, or ``v = sqrt(A) eps - sqrt(1 - A) x0``."""
TIMESTEP_SPACINGS: tuple[str, ...] = ("leading", "trailing", "linspace")
"""How a sampler of fewer steps than the schedule picks its timesteps (Lin et al. 2023, table 2)."""
VARIANCE_TYPES: tuple[str, ...] = ("fixed_small", "fixed_small_log", "fixed_large")
"""The DDPM reverse-step variances: the posterior's (small) or ``beta_t`` (large); ``fixed_small_log``
computes the standard deviation through the log, as the original implementation does."""


@attrs.frozen
class DDPMConfig:
    """Ancestral DDPM sampling (Ho et al. 2020), optionally on a subset of the schedule's steps."""

    num_steps: int | None = field(None, help="Sampling steps (None: every step of the schedule).", ge=1)
    variance_type: VarianceType = field(
        "fixed_small",
        help="Reverse-step variance: 'fixed_small' (posterior variance), 'fixed_small_log' (the same via its "
        "log) or 'fixed_large' (beta_t).",
        one_of=VARIANCE_TYPES,
    )
    clip_sample: bool = field(True, help="Clamp the predicted x0 to [-clip_sample_range, clip_sample_range].")
    clip_sample_range: float = field(1.0, help="Bound of the x0 clamp.", gt=0)
    timestep_spacing: TimestepSpacing = field(
        "leading", help="Timesteps of a shortened loop: 'leading', 'trailing' or 'linspace'.", one_of=TIMESTEP_SPACINGS
    )
    steps_offset: int = field(0, help="Added to every 'leading' timestep (Stable Diffusion uses 1).", ge=0)


@attrs.frozen
class DDIMConfig:
    """DDIM sampling (Song et al. 2021): deterministic at ``eta = 0``, DDPM-like at ``eta = 1``."""

    num_steps: int = field(50, help="Sampling steps.", ge=1)
    eta: float = field(0.0, help="Noise scale: 0 is deterministic DDIM, 1 matches DDPM's posterior variance.", ge=0)
    clip_sample: bool = field(True, help="Clamp the predicted x0 to [-clip_sample_range, clip_sample_range].")
    clip_sample_range: float = field(1.0, help="Bound of the x0 clamp.", gt=0)
    timestep_spacing: TimestepSpacing = field(
        "leading", help="Timesteps of the loop: 'leading', 'trailing' or 'linspace'.", one_of=TIMESTEP_SPACINGS
    )
    steps_offset: int = field(0, help="Added to every 'leading' timestep (Stable Diffusion uses 1).", ge=0)
    set_alpha_to_one: bool = field(
        True, help="The final step goes to alpha_cumprod = 1 (a clean sample); false uses alpha_cumprod[0]."
    )
    use_clipped_model_output: bool = field(
        False, help="Recompute the noise from the clipped x0 (changes the step only when clipping acts)."
    )
