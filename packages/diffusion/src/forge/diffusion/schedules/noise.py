"""DDPM noise schedules and the closed forms of the forward process.

With betas ``b_t`` (t = 0..T-1), ``a_t = 1 - b_t`` and ``A_t = a_0 a_1 ... a_t`` (``alphas_cumprod``):

* forward process: ``q(x_t | x_0) = N(sqrt(A_t) x_0, (1 - A_t) I)``;
* posterior: ``q(x_{t-1} | x_t, x_0) = N(c1_t x_0 + c2_t x_t, b_t (1 - A_{t-1}) / (1 - A_t) I)`` with
  ``c1_t = b_t sqrt(A_{t-1}) / (1 - A_t)`` and ``c2_t = (1 - A_{t-1}) sqrt(a_t) / (1 - A_t)``, ``A_{-1} = 1``.

Schedules (Ho et al. 2020; Nichol & Dhariwal 2021; Rombach et al. 2022):

* ``linear``: ``b_t`` evenly spaced from ``beta_start`` to ``beta_end``;
* ``scaled_linear``: ``sqrt(b_t)`` evenly spaced, then squared;
* ``cosine``: ``A_t = f(t + 1) / f(0)`` with ``f(u) = cos(((u / T + s) / (1 + s)) * pi / 2) ** 2``,
  ``b_t = min(1 - A_t / A_{t-1}, max_beta)``.

Every table is computed in float64 and cast to the data's dtype when used, so a float16 model
still gets accurate coefficients near ``A_t = 1``.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
from torch import Tensor

from forge.core.data import Transform, config_from_args
from forge.core.errors import DataError
from forge.diffusion.schedules.configs import NoiseScheduleConfig

__all__ = ["NoiseSchedule", "cosine_alphas_cumprod", "make_betas"]


def cosine_alphas_cumprod(num_timesteps: int, s: float = 0.008) -> Tensor:
    """The cosine schedule's ``A_t = f(t + 1) / f(0)`` for t = 0..T-1, before any beta clipping.

    Args:
        num_timesteps: T.
        s: The offset.

    Returns:
        A float64 tensor of length T.
    """
    steps = torch.arange(num_timesteps + 1, dtype=torch.float64)
    f = torch.cos(((steps / num_timesteps + s) / (1 + s)) * math.pi / 2) ** 2
    return f[1:] / f[0]


def make_betas(config: NoiseScheduleConfig) -> Tensor:
    """The betas of the schedule ``config`` describes.

    Returns:
        A float64 tensor of length ``config.num_timesteps``, every value in (0, 1).
    """
    n = config.num_timesteps
    start, end = config.beta_range
    if config.beta_schedule == "linear":
        return torch.linspace(start, end, n, dtype=torch.float64)
    if config.beta_schedule == "scaled_linear":
        return torch.linspace(start**0.5, end**0.5, n, dtype=torch.float64) ** 2
    alphas_cumprod = cosine_alphas_cumprod(n, config.cosine_s)
    previous = torch.cat([torch.ones(1, dtype=torch.float64), alphas_cumprod[:-1]])
    return (1 - alphas_cumprod / previous).clamp(max=config.max_beta)


class NoiseSchedule(Transform):
    """A noise schedule: the closed-form tables of the forward process, and the noising transform.

    As a transform it turns a clean sample into an epsilon-prediction training pair: called on a
    tensor ``x0`` it draws a timestep ``t`` uniformly and noise ``eps ~ N(0, I)`` and returns
    ``((x_t, t), eps)``; called on ``(x0, cond)`` it returns ``((x_t, t, cond), eps)``. A denoiser
    ``model(x_t, t)`` trained with an MSE loss on that pair is the DDPM objective.

    Attributes:
        betas, alphas, alphas_cumprod, alphas_cumprod_prev, sqrt_alphas_cumprod,
        sqrt_one_minus_alphas_cumprod, posterior_variance, posterior_log_variance_clipped,
        posterior_mean_coef1, posterior_mean_coef2: float64 tables of length T (see the module).

    Args:
        config: The schedule; leave it out for the defaults, or pass fields as keywords.
        **params: Config fields, when ``config`` is not given.

    Raises:
        ConfigError: A parameter is unknown or invalid.

    Example:
        >>> schedule = NoiseSchedule(beta_schedule="cosine", num_timesteps=100)
        >>> x_t = schedule.q_sample(torch.zeros(4, 3, 8, 8), torch.tensor([0, 10, 50, 99]))
        >>> x_t.shape
        torch.Size([4, 3, 8, 8])
    """

    name: ClassVar[str] = "diffusion.noise_schedule"
    config_class: ClassVar[type[NoiseScheduleConfig]] = NoiseScheduleConfig

    def __init__(self, config: NoiseScheduleConfig | None = None, /, **params: Any) -> None:
        self.config: NoiseScheduleConfig = config_from_args(self.name, NoiseScheduleConfig, config, params)
        betas = make_betas(self.config)
        alphas = 1.0 - betas
        alphas_cumprod = torch.cumprod(alphas, dim=0)
        prev = torch.cat([torch.ones(1, dtype=torch.float64), alphas_cumprod[:-1]])
        self.betas = betas
        self.alphas = alphas
        self.alphas_cumprod = alphas_cumprod
        self.alphas_cumprod_prev = prev
        self.sqrt_alphas_cumprod = alphas_cumprod.sqrt()
        self.sqrt_one_minus_alphas_cumprod = (1.0 - alphas_cumprod).sqrt()
        self.posterior_variance = betas * (1.0 - prev) / (1.0 - alphas_cumprod)
        # The posterior variance is 0 at t = 0; its log is clipped to the t = 1 value, as in DDPM.
        clipped = torch.cat([self.posterior_variance[1:2], self.posterior_variance[1:]])
        self.posterior_log_variance_clipped = clipped.log()
        self.posterior_mean_coef1 = betas * prev.sqrt() / (1.0 - alphas_cumprod)
        self.posterior_mean_coef2 = (1.0 - prev) * alphas.sqrt() / (1.0 - alphas_cumprod)

    @property
    def num_timesteps(self) -> int:
        """T, the number of diffusion steps."""
        return self.config.num_timesteps

    # -- indexing --------------------------------------------------------------------------
    def _timesteps(self, t: int | Tensor, x: Tensor) -> Tensor:
        t = torch.as_tensor(t)
        if t.is_floating_point() or t.is_complex() or t.dim() > 1:
            raise DataError(
                f"{self.name}: timesteps must be an int or a 0-D/1-D integer tensor, got {t.dtype} {tuple(t.shape)}"
            )
        if t.dim() == 1 and (x.dim() == 0 or t.shape[0] != x.shape[0]):
            raise DataError(
                f"{self.name}: {t.shape[0]} timesteps for a batch of shape {tuple(x.shape)}; give one per sample"
            )
        if t.numel() and (int(t.min()) < 0 or int(t.max()) >= self.num_timesteps):
            raise DataError(f"{self.name}: timestep out of range 0..{self.num_timesteps - 1}: {t.tolist()}")
        return t.long()

    def extract(self, table: Tensor, t: int | Tensor, x: Tensor) -> Tensor:
        """Pick ``table[t]`` and shape it to broadcast against ``x``.

        Args:
            table: One of the length-T tables.
            t: A timestep, or one per sample of the batch ``x`` (first dimension).
            x: The data the result multiplies.

        Returns:
            ``table[t]`` in ``x``'s dtype and device, of shape ``(B, 1, ..., 1)`` for a batch of
            timesteps, or 0-D for a single one.

        Raises:
            DataError: ``t`` is out of range, not integer, or does not match the batch size.
        """
        idx = self._timesteps(t, x)
        values = table[idx.cpu()].to(device=x.device, dtype=x.dtype)
        return values.reshape(-1, *([1] * (x.dim() - 1))) if idx.dim() == 1 else values

    # -- forward process -------------------------------------------------------------------
    def q_mean_variance(self, x0: Tensor, t: int | Tensor) -> tuple[Tensor, Tensor]:
        """Mean and variance of ``q(x_t | x_0)``: ``(sqrt(A_t) x0, (1 - A_t))`` (variance broadcastable)."""
        return self.extract(self.sqrt_alphas_cumprod, t, x0) * x0, self.extract(1.0 - self.alphas_cumprod, t, x0)

    def q_sample(
        self, x0: Tensor, t: int | Tensor, noise: Tensor | None = None, *, generator: torch.Generator | None = None
    ) -> Tensor:
        """Draw ``x_t ~ q(x_t | x_0)``: ``sqrt(A_t) x0 + sqrt(1 - A_t) noise``.

        Args:
            x0: Clean data; with a 1-D ``t``, a batch whose first dimension matches it.
            t: One timestep or one per sample.
            noise: The standard normal noise to use (drawn when None).
            generator: CPU generator for the drawn noise (so a seed gives the same noise on any device).

        Returns:
            ``x_t``, shaped like ``x0``.

        Raises:
            DataError: ``noise`` does not match ``x0``'s shape, or ``t`` is invalid.
        """
        if noise is None:
            noise = torch.randn(x0.shape, generator=generator, dtype=x0.dtype).to(x0.device)
        elif noise.shape != x0.shape:
            raise DataError(f"{self.name}: noise shape {tuple(noise.shape)} differs from x0 shape {tuple(x0.shape)}")
        return (
            self.extract(self.sqrt_alphas_cumprod, t, x0) * x0
            + self.extract(self.sqrt_one_minus_alphas_cumprod, t, x0) * noise
        )

    def q_posterior(self, x0: Tensor, x_t: Tensor, t: int | Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Mean, variance and clipped log-variance of ``q(x_{t-1} | x_t, x_0)``.

        Raises:
            DataError: ``x0`` and ``x_t`` differ in shape, or ``t`` is invalid.
        """
        if x0.shape != x_t.shape:
            raise DataError(f"{self.name}: x0 shape {tuple(x0.shape)} differs from x_t shape {tuple(x_t.shape)}")
        mean = (
            self.extract(self.posterior_mean_coef1, t, x_t) * x0 + self.extract(self.posterior_mean_coef2, t, x_t) * x_t
        )
        return (
            mean,
            self.extract(self.posterior_variance, t, x_t),
            self.extract(self.posterior_log_variance_clipped, t, x_t),
        )

    def predict_x0(self, x_t: Tensor, t: int | Tensor, noise: Tensor) -> Tensor:
        """Invert :meth:`q_sample`: the ``x0`` that ``noise`` and ``x_t`` imply at step ``t``."""
        return (x_t - self.extract(self.sqrt_one_minus_alphas_cumprod, t, x_t) * noise) / self.extract(
            self.sqrt_alphas_cumprod, t, x_t
        )

    def snr(self, t: int | Tensor) -> Tensor:
        """Signal-to-noise ratio ``A_t / (1 - A_t)`` at ``t`` (float64)."""
        idx = self._timesteps(t, torch.empty(torch.as_tensor(t).numel()))
        return self.alphas_cumprod[idx] / (1.0 - self.alphas_cumprod[idx])

    def sample_timesteps(self, n: int, *, generator: torch.Generator | None = None) -> Tensor:
        """``n`` timesteps drawn uniformly from 0..T-1 (``int64``, on the CPU)."""
        return torch.randint(0, self.num_timesteps, (n,), generator=generator)

    # -- transform -------------------------------------------------------------------------
    def __call__(self, sample: Any, *, generator: torch.Generator | None = None) -> Any:
        """Turn a clean sample into a noised training pair.

        Args:
            sample: A float tensor ``x0``, or ``(x0, cond)``.
            generator: CPU generator for the timestep and the noise.

        Returns:
            ``((x_t, t), eps)`` or ``((x_t, t, cond), eps)``, ``t`` a 0-D ``int64`` tensor.

        Raises:
            DataError: ``x0`` is not a floating-point tensor.
        """
        cond: tuple[Any, ...] = ()
        x0 = sample
        if isinstance(sample, tuple) and len(sample) == 2:
            x0, cond = sample[0], (sample[1],)
        if not isinstance(x0, Tensor) or not x0.is_floating_point():
            raise DataError(
                f"{self.name}: expected a float tensor x0 or an (x0, cond) tuple, got {type(sample).__name__}"
                + (f" of {x0.dtype}" if isinstance(x0, Tensor) else "")
            )
        t = self.sample_timesteps(1, generator=generator)[0]
        noise = torch.randn(x0.shape, generator=generator, dtype=x0.dtype).to(x0.device)
        return (self.q_sample(x0, t, noise), t, *cond), noise
