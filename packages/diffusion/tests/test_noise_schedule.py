"""Noise schedules: the beta formulas, the closed forms, and the forward process checked empirically."""

from __future__ import annotations

import math

import pytest
import torch

from forge.core.config import structure
from forge.core.data import from_config
from forge.core.errors import ConfigError, DataError
from forge.diffusion.schedules import NoiseSchedule, NoiseScheduleConfig, cosine_alphas_cumprod


def test_linear_and_scaled_linear_betas() -> None:
    lin = NoiseSchedule(num_timesteps=1000)
    assert float(lin.betas[0]) == pytest.approx(1e-4) and float(lin.betas[-1]) == pytest.approx(0.02)
    assert torch.allclose(lin.betas.diff(), torch.full((999,), (0.02 - 1e-4) / 999, dtype=torch.float64))
    sl = NoiseSchedule(beta_schedule="scaled_linear", num_timesteps=50)
    root = sl.betas.sqrt()
    assert float(sl.betas[0]) == pytest.approx(0.00085) and float(sl.betas[-1]) == pytest.approx(0.012)
    assert torch.allclose(root.diff(), root.diff()[0].expand(49))
    assert torch.allclose(lin.alphas_cumprod, torch.cumprod(1 - lin.betas, 0))


def test_cosine_alphas_cumprod_follows_the_formula_and_decreases() -> None:
    t_total, s = 1000, 0.008
    sched = NoiseSchedule(beta_schedule="cosine", num_timesteps=t_total)
    f = [math.cos(((u / t_total + s) / (1 + s)) * math.pi / 2) ** 2 for u in range(t_total + 1)]
    expected = torch.tensor([f[u + 1] / f[0] for u in range(t_total)], dtype=torch.float64)
    unclipped = sched.betas < 0.999
    assert int((~unclipped).sum()) <= 1  # only the final step hits max_beta
    torch.testing.assert_close(sched.alphas_cumprod[unclipped], expected[unclipped], rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(cosine_alphas_cumprod(t_total, s), expected)
    assert bool((sched.alphas_cumprod.diff() < 0).all())
    assert 0 < float(sched.alphas_cumprod[-1]) < 1e-4 and float(sched.alphas_cumprod[0]) > 0.9999
    assert bool((sched.betas > 0).all() and (sched.betas <= 0.999).all())


@pytest.mark.parametrize("kind", ["linear", "cosine", "scaled_linear"])
def test_posterior_variance_is_the_gaussian_conditional_variance(kind: str) -> None:
    s = NoiseSchedule(beta_schedule=kind, num_timesteps=200)
    # Bayes for two Gaussians: 1 / var = 1 / var(x_{t-1} | x_0) + a_t / b_t.
    t = torch.arange(1, 200)
    direct = 1.0 / (1.0 / (1.0 - s.alphas_cumprod[t - 1]) + s.alphas[t] / s.betas[t])
    torch.testing.assert_close(s.posterior_variance[1:], direct)
    assert float(s.posterior_variance[0]) == 0.0
    torch.testing.assert_close(s.posterior_log_variance_clipped[0], s.posterior_variance[1].log())


def test_forward_noising_has_the_closed_form_mean_and_variance() -> None:
    s = NoiseSchedule(beta_schedule="cosine", num_timesteps=100)
    gen = torch.Generator().manual_seed(0)
    x0 = torch.full((200_000,), 1.5, dtype=torch.float64)
    for t in (0, 30, 80):
        x_t = s.q_sample(x0, t, generator=gen)
        mean, var = s.q_mean_variance(x0[:1], t)
        assert float(x_t.mean()) == pytest.approx(float(mean[0]), abs=0.01)
        assert float(x_t.var()) == pytest.approx(float(var), rel=0.02)


def test_posterior_coefficients_match_an_empirical_regression() -> None:
    s = NoiseSchedule(num_timesteps=100)
    gen = torch.Generator().manual_seed(1)
    t, n, c = 40, 400_000, 0.7
    x0 = torch.full((n,), c, dtype=torch.float64)
    x_prev = s.q_sample(x0, t - 1, generator=gen)
    x_t = s.alphas[t].sqrt() * x_prev + s.betas[t].sqrt() * torch.randn(n, generator=gen, dtype=torch.float64)
    # With x0 fixed, E[x_{t-1} | x_t] is linear in x_t: its slope is coef2 and the residual variance the posterior's.
    cov = torch.cov(torch.stack([x_prev, x_t]))
    slope = cov[0, 1] / cov[1, 1]
    residual = cov[0, 0] - slope * cov[0, 1]
    assert float(slope) == pytest.approx(float(s.posterior_mean_coef2[t]), rel=0.01)
    assert float(residual) == pytest.approx(float(s.posterior_variance[t]), rel=0.02)
    mean, _, _ = s.q_posterior(x0[:3], x_t[:3], t)
    intercept = x_prev.mean() - slope * x_t.mean()
    torch.testing.assert_close(mean, intercept + slope * x_t[:3], atol=5e-3, rtol=0)


def test_batched_timesteps_and_inversion() -> None:
    s = NoiseSchedule(num_timesteps=10)
    x0 = torch.randn(3, 2, 4, generator=torch.Generator().manual_seed(2))
    noise = torch.randn(3, 2, 4, generator=torch.Generator().manual_seed(3))
    t = torch.tensor([0, 5, 9])
    x_t = s.q_sample(x0, t, noise)
    for i in range(3):
        torch.testing.assert_close(x_t[i], s.q_sample(x0[i], int(t[i]), noise[i]))
    torch.testing.assert_close(s.predict_x0(x_t, t, noise), x0)
    torch.testing.assert_close(s.snr(t), s.alphas_cumprod[t] / (1 - s.alphas_cumprod[t]))
    with pytest.raises(DataError, match="out of range"):
        s.q_sample(x0, torch.tensor([0, 1, 10]))
    with pytest.raises(DataError, match="one per sample"):
        s.q_sample(x0, torch.tensor([0, 1]))


def test_transform_makes_a_reproducible_training_pair() -> None:
    s = NoiseSchedule(num_timesteps=50)
    x0 = torch.rand(3, 4, 4)
    (x_t, t, label), noise = s((x0, 7), generator=torch.Generator().manual_seed(5))
    assert label == 7 and t.dtype == torch.int64 and t.dim() == 0
    torch.testing.assert_close(x_t, s.q_sample(x0, t, noise))
    (x_t2, t2), noise2 = s(x0, generator=torch.Generator().manual_seed(5))
    assert torch.equal(x_t, x_t2) and int(t) == int(t2) and torch.equal(noise, noise2)
    with pytest.raises(DataError, match="float tensor"):
        s(torch.ones(3, dtype=torch.int64))


def test_config_validation_and_serialization() -> None:
    with pytest.raises(ConfigError, match="beta_schedule"):
        structure({"beta_schedule": "quadratic"}, NoiseScheduleConfig)
    with pytest.raises(ConfigError, match="must not exceed"):
        NoiseSchedule(beta_start=0.1, beta_end=0.01)
    s = NoiseSchedule(beta_schedule="cosine", num_timesteps=20)
    again = from_config(s.to_config())
    assert isinstance(again, NoiseSchedule) and torch.equal(again.betas, s.betas)
