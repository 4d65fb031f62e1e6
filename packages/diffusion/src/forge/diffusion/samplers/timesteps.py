"""Timestep sequences of shortened sampling loops, and the conversions between prediction types.

Both are pure formulas shared by the DDPM and DDIM samplers; they follow the conventions of Lin et
al. 2023 ("Common diffusion noise schedules and sample steps are flawed", table 2) and of the
diffusers library, so schedules trained elsewhere sample the same way here.
"""

from __future__ import annotations

import math

from torch import Tensor

from forge.core.errors import ConfigError, DataError

__all__ = ["spaced_timesteps", "to_x0_and_eps"]


def spaced_timesteps(num_train_timesteps: int, num_steps: int, spacing: str, steps_offset: int = 0) -> list[int]:
    """The descending timesteps a loop of ``num_steps`` visits on a schedule of ``num_train_timesteps``.

    * ``leading``: ``0, r, 2r, ...`` with ``r = T // n``, plus ``steps_offset`` (DDIM's original choice);
    * ``trailing``: ``round(T - k T / n) - 1`` for k = 0..n-1, so the loop starts at ``T - 1``;
    * ``linspace``: ``n`` values evenly spaced over ``[0, T - 1]``, rounded.

    Args:
        num_train_timesteps: T, the schedule's length.
        num_steps: n, the loop's length (at most T).
        spacing: ``"leading"``, ``"trailing"`` or ``"linspace"``.
        steps_offset: Added to every ``leading`` timestep.

    Returns:
        ``n`` timesteps, largest first.

    Raises:
        ConfigError: ``num_steps`` is out of ``1..T``, the spacing is unknown, or the offset pushes
            a timestep past ``T - 1``.
    """
    t_total = num_train_timesteps
    if not 1 <= num_steps <= t_total:
        raise ConfigError(f"sampler num_steps must lie in 1..{t_total} (the schedule's length), got {num_steps}")
    if spacing == "leading":
        ratio = t_total // num_steps
        steps = [k * ratio + steps_offset for k in range(num_steps)]
    elif spacing == "trailing":
        ratio_f = t_total / num_steps
        # np.arange(T, 0, -r) then round: round half to even, as numpy does.
        steps = [round(t_total - k * ratio_f) - 1 for k in range(num_steps)]
        steps.reverse()
    elif spacing == "linspace":
        if num_steps == 1:
            steps = [0]
        else:
            step = (t_total - 1) / (num_steps - 1)
            steps = [round(k * step) for k in range(num_steps)]
    else:
        raise ConfigError(f"sampler timestep_spacing must be leading, trailing or linspace, got {spacing!r}")
    if steps[-1] >= t_total:
        raise ConfigError(
            f"sampler steps_offset {steps_offset} puts timestep {steps[-1]} past the schedule's last step {t_total - 1}"
        )
    return steps[::-1]


def to_x0_and_eps(
    model_output: Tensor, sample: Tensor, alpha_prod: float, prediction_type: str
) -> tuple[Tensor, Tensor]:
    """The clean sample and the noise a denoiser's output implies at a step with ``A_t = alpha_prod``.

    With ``x_t = sqrt(A) x0 + sqrt(1 - A) eps`` and ``v = sqrt(A) eps - sqrt(1 - A) x0``:

    * ``epsilon``: ``x0 = (x_t - sqrt(1 - A) eps) / sqrt(A)``;
    * ``sample``: ``eps = (x_t - sqrt(A) x0) / sqrt(1 - A)``;
    * ``v_prediction``: ``x0 = sqrt(A) x_t - sqrt(1 - A) v``, ``eps = sqrt(A) v + sqrt(1 - A) x_t``.

    Raises:
        DataError: the output and sample shapes differ.
        ConfigError: the prediction type is unknown.
    """
    if model_output.shape != sample.shape:
        raise DataError(
            f"denoiser output shape {tuple(model_output.shape)} differs from the sample's {tuple(sample.shape)}"
        )
    a = math.sqrt(alpha_prod)
    b = math.sqrt(1.0 - alpha_prod)
    if prediction_type == "epsilon":
        return (sample - b * model_output) / a, model_output
    if prediction_type == "sample":
        return model_output, (sample - a * model_output) / b
    if prediction_type == "v_prediction":
        return a * sample - b * model_output, a * model_output + b * sample
    raise ConfigError(f"prediction_type must be epsilon, sample or v_prediction, got {prediction_type!r}")
