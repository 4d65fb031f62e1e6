"""Config classes of the noise schedules (no torch import)."""

from __future__ import annotations

import attrs

from forge.core.config import field

__all__ = ["BETA_SCHEDULES", "DEFAULT_BETA_RANGE", "NoiseScheduleConfig"]

BETA_SCHEDULES = ("linear", "cosine", "scaled_linear")
"""The schedules :class:`NoiseScheduleConfig` can name."""

DEFAULT_BETA_RANGE: dict[str, tuple[float, float]] = {
    "linear": (1e-4, 0.02),  # Ho et al. 2020
    "scaled_linear": (0.00085, 0.012),  # Stable Diffusion (Rombach et al. 2022)
}
"""``(beta_start, beta_end)`` used when the config leaves them out."""


@attrs.frozen
class NoiseScheduleConfig:
    """A discrete DDPM noise schedule of ``num_timesteps`` steps."""

    beta_schedule: str = field(
        "linear",
        help="How betas grow: 'linear' (Ho et al.), 'cosine' (Nichol & Dhariwal), 'scaled_linear' (Stable Diffusion).",
        one_of=BETA_SCHEDULES,
    )
    num_timesteps: int = field(1000, help="Number of diffusion steps T.", ge=1)
    beta_start: float | None = field(
        None,
        help="First beta of the (scaled) linear schedules (None: 1e-4 linear, 0.00085 scaled_linear).",
        gt=0,
        lt=1,
    )
    beta_end: float | None = field(
        None,
        help="Last beta of the (scaled) linear schedules (None: 0.02 linear, 0.012 scaled_linear).",
        gt=0,
        lt=1,
    )
    cosine_s: float = field(0.008, help="Offset s of the cosine schedule, keeping early betas from vanishing.", ge=0)
    max_beta: float = field(
        0.999,
        help="Upper clip of the cosine schedule's betas (avoids a singular last step).",
        gt=0,
        lt=1,
    )

    def __attrs_post_init__(self) -> None:
        start, end = self.beta_range
        if self.beta_schedule != "cosine" and start > end:
            raise ValueError(
                f"beta_start, beta_end: beta_start {start} must not exceed beta_end {end} "
                f"(for the {self.beta_schedule} schedule, with its defaults filled in)"
            )

    @property
    def beta_range(self) -> tuple[float, float]:
        """``(beta_start, beta_end)`` with the schedule's defaults filled in (unused by cosine)."""
        default = DEFAULT_BETA_RANGE.get(self.beta_schedule, DEFAULT_BETA_RANGE["linear"])
        return (
            self.beta_start if self.beta_start is not None else default[0],
            self.beta_end if self.beta_end is not None else default[1],
        )
