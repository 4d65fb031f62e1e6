"""DDPM and DDIM samplers: known values from the formulas, and step-for-step agreement with diffusers."""

from __future__ import annotations

import math

import pytest
import torch

from forge.core.errors import ConfigError, DataError
from forge.diffusion.samplers import DDIMSampler, DDPMSampler, spaced_timesteps, to_x0_and_eps
from forge.diffusion.schedules import NoiseSchedule

SCHEDULES = ("linear", "scaled_linear", "cosine")
PREDICTIONS = ("epsilon", "sample", "v_prediction")
SPACINGS = ("leading", "trailing", "linspace")


def test_ddpm_fixed_small_variance_known_values() -> None:
    # Linear 1000-step schedule, beta 1e-4..0.02: the posterior variance b_t (1 - A_{t-1}) / (1 - A_t).
    sampler = DDPMSampler(NoiseSchedule(num_timesteps=1000), "epsilon")
    assert sampler.variance(487) == pytest.approx(0.00979, abs=5e-6)
    assert sampler.variance(999) == pytest.approx(0.02, abs=1e-5)
    large = DDPMSampler(NoiseSchedule(num_timesteps=1000), "epsilon", variance_type="fixed_large")
    assert large.variance(487) == pytest.approx(1e-4 + 487 * (0.02 - 1e-4) / 999, rel=1e-9)


def _dummy_model(x: torch.Tensor, t: int) -> torch.Tensor:
    return torch.sin(x * 1.3 + t / 250.0) * 0.8


def _independent_ddim_loop(x: torch.Tensor) -> torch.Tensor:
    """DDIM (eta 0, leading spacing, set_alpha_to_one, clipping at 1) written out from the paper, in plain floats."""
    betas = [1e-4 + i * (0.02 - 1e-4) / 999 for i in range(1000)]
    alpha_bar = []
    prod = 1.0
    for b in betas:
        prod *= 1.0 - b
        alpha_bar.append(prod)
    ts = [900, 800, 700, 600, 500, 400, 300, 200, 100, 0]
    for i, t in enumerate(ts):
        eps = _dummy_model(x, t)
        a, a_prev = alpha_bar[t], (alpha_bar[ts[i + 1]] if i + 1 < len(ts) else 1.0)
        x0 = ((x - math.sqrt(1 - a) * eps) / math.sqrt(a)).clamp(-1, 1)
        x = math.sqrt(a_prev) * x0 + math.sqrt(1 - a_prev) * eps
    return x


def test_ddim_ten_step_deterministic_checksum() -> None:
    x = torch.randn(4, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    expected = _independent_ddim_loop(x.clone())
    sampler = DDIMSampler(NoiseSchedule(num_timesteps=1000), "epsilon", num_steps=10)
    assert sampler.timesteps == [900, 800, 700, 600, 500, 400, 300, 200, 100, 0]
    y = x.clone()
    for t in sampler.timesteps:
        y = sampler.step(_dummy_model(y, t), t, y).prev_sample
    assert float(y.sum()) == pytest.approx(float(expected.sum()), abs=1e-10)
    torch.testing.assert_close(y, expected, rtol=0, atol=1e-12)


def test_prediction_types_invert_the_forward_process() -> None:
    gen = torch.Generator().manual_seed(1)
    x0, eps = torch.randn(5, generator=gen, dtype=torch.float64), torch.randn(5, generator=gen, dtype=torch.float64)
    a = 0.37
    x_t = math.sqrt(a) * x0 + math.sqrt(1 - a) * eps
    v = math.sqrt(a) * eps - math.sqrt(1 - a) * x0
    for kind, out in (("epsilon", eps), ("sample", x0), ("v_prediction", v)):
        got_x0, got_eps = to_x0_and_eps(out, x_t, a, kind)
        torch.testing.assert_close(got_x0, x0)
        torch.testing.assert_close(got_eps, eps)
    with pytest.raises(DataError, match="shape"):
        to_x0_and_eps(eps[:3], x_t, a, "epsilon")


def test_sampler_errors_name_the_problem() -> None:
    schedule = NoiseSchedule(num_timesteps=100)
    with pytest.raises(ConfigError, match="num_steps"):
        DDIMSampler(schedule, "epsilon", num_steps=101)
    with pytest.raises(ConfigError, match="prediction_type"):
        DDPMSampler(schedule, "noise")
    with pytest.raises(ConfigError, match="not in this sampler's loop"):
        DDIMSampler(schedule, "epsilon", num_steps=10).step(torch.zeros(2), 55, torch.zeros(2))
    with pytest.raises(ConfigError, match="past the schedule"):
        spaced_timesteps(100, 10, "leading", steps_offset=20)


def test_full_ddpm_loop_ends_on_clean_step_without_noise() -> None:
    sampler = DDPMSampler(NoiseSchedule(num_timesteps=50), "sample", clip_sample=False)
    x = torch.randn(3, dtype=torch.float64)
    target = torch.tensor([0.5, -0.25, 0.1], dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    for t in sampler.timesteps:
        x = sampler.step(target.clone(), t, x, generator=gen).prev_sample
    # The last step (t = 0) goes to A = 1 with no noise: it returns the predicted x0 exactly.
    torch.testing.assert_close(x, target)


# -- agreement with diffusers ------------------------------------------------------------------

diffusers = pytest.importorskip("diffusers", reason="diffusers (the test extra) is not installed")

_DIFFUSERS_SCHEDULE = {"linear": "linear", "scaled_linear": "scaled_linear", "cosine": "squaredcos_cap_v2"}


def _schedule_kwargs(kind: str, total: int = 1000) -> dict[str, object]:
    start, end = NoiseSchedule(beta_schedule=kind, num_timesteps=total).config.beta_range
    return {
        "num_train_timesteps": total,
        "beta_schedule": _DIFFUSERS_SCHEDULE[kind],
        "beta_start": start,
        "beta_end": end,
    }


def _reference_betas(kind: str, total: int) -> torch.Tensor:
    """diffusers' beta formulas (``DDPMScheduler.__init__``, ``betas_for_alpha_bar``) evaluated in float64."""
    start, end = NoiseSchedule(beta_schedule=kind, num_timesteps=total).config.beta_range
    if kind == "linear":
        return torch.linspace(start, end, total, dtype=torch.float64)
    if kind == "scaled_linear":
        return torch.linspace(start**0.5, end**0.5, total, dtype=torch.float64) ** 2

    def alpha_bar(u: float) -> float:
        return math.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2

    return torch.tensor(
        [min(1 - alpha_bar((i + 1) / total) / alpha_bar(i / total), 0.999) for i in range(total)], dtype=torch.float64
    )


def _float64_tables(ref: object, kind: str) -> None:
    # diffusers keeps its tables in float32 (forge in float64), and 1 / sqrt(A_t) near the end of a
    # schedule amplifies float32 rounding far past 1e-6. Giving the reference its own formulas'
    # betas in float64 compares the step formulas at float64 precision; test_betas_match_diffusers
    # checks that these are diffusers' betas (at float32 precision).
    total = int(ref.config.num_train_timesteps)  # type: ignore[attr-defined]
    betas = _reference_betas(kind, total)
    ref.betas = betas  # type: ignore[attr-defined]
    ref.alphas = 1.0 - betas  # type: ignore[attr-defined]
    ref.alphas_cumprod = torch.cumprod(ref.alphas, 0)  # type: ignore[attr-defined]
    if hasattr(ref, "final_alpha_cumprod") and float(ref.final_alpha_cumprod) != 1.0:  # type: ignore[attr-defined]
        ref.final_alpha_cumprod = ref.alphas_cumprod[0]  # type: ignore[attr-defined]
    ref.one = torch.tensor(1.0, dtype=torch.float64)  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", SCHEDULES)
def test_betas_match_diffusers(kind: str) -> None:
    ref = diffusers.DDPMScheduler(**_schedule_kwargs(kind))
    ours = NoiseSchedule(beta_schedule=kind, num_timesteps=1000)
    torch.testing.assert_close(ours.betas.float(), ref.betas, rtol=1e-6, atol=1e-9)
    torch.testing.assert_close(_reference_betas(kind, 1000).float(), ref.betas, rtol=1e-6, atol=1e-9)
    torch.testing.assert_close(ours.betas, _reference_betas(kind, 1000), rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(ours.alphas_cumprod.float(), ref.alphas_cumprod, rtol=2e-5, atol=1e-7)


@pytest.mark.parametrize("kind", SCHEDULES)
def test_add_noise_matches_diffusers(kind: str) -> None:
    ref = diffusers.DDPMScheduler(**_schedule_kwargs(kind))
    _float64_tables(ref, kind)
    ours = NoiseSchedule(beta_schedule=kind, num_timesteps=1000)
    gen = torch.Generator().manual_seed(3)
    x0 = torch.randn(6, 2, 4, 4, generator=gen, dtype=torch.float64)
    noise = torch.randn(6, 2, 4, 4, generator=gen, dtype=torch.float64)
    t = torch.tensor([0, 1, 250, 500, 998, 999])
    torch.testing.assert_close(ours.q_sample(x0, t, noise), ref.add_noise(x0, noise, t), rtol=0, atol=1e-6)


@pytest.mark.parametrize("variance", ["fixed_small", "fixed_small_log", "fixed_large"])
@pytest.mark.parametrize("prediction", PREDICTIONS)
@pytest.mark.parametrize("kind", SCHEDULES)
@pytest.mark.parametrize(
    ("num_steps", "spacing", "clip"),
    [
        (None, "leading", True),
        (20, "leading", False),
        (20, "trailing", True),
        (20, "linspace", True),
    ],
)
def test_ddpm_loop_matches_diffusers(
    kind: str, prediction: str, variance: str, num_steps: int | None, spacing: str, clip: bool
) -> None:
    total = 100 if num_steps is None else 1000
    ref = diffusers.DDPMScheduler(
        **_schedule_kwargs(kind, total),
        prediction_type=prediction,
        variance_type=variance,
        clip_sample=clip,
        clip_sample_range=1.5,
        timestep_spacing=spacing,
    )
    _float64_tables(ref, kind)
    ref.set_timesteps(num_steps if num_steps is not None else total)
    if num_steps is None:
        ref.num_inference_steps = None  # the full loop: previous timestep t - 1, as in training-time sampling
    ours = DDPMSampler(
        NoiseSchedule(beta_schedule=kind, num_timesteps=total),
        prediction,
        num_steps=num_steps,
        variance_type=variance,
        clip_sample=clip,
        clip_sample_range=1.5,
        timestep_spacing=spacing,
    )
    assert ours.timesteps == ref.timesteps.tolist()
    x_ref = x_ours = torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 1.2
    g_ref, g_ours = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    for t in ours.timesteps:
        a = ref.step(_dummy_model(x_ref, t), t, x_ref, generator=g_ref)
        b = ours.step(_dummy_model(x_ours, t), t, x_ours, generator=g_ours)
        torch.testing.assert_close(b.pred_original_sample, a.pred_original_sample, rtol=0, atol=1e-6)
        torch.testing.assert_close(b.prev_sample, a.prev_sample, rtol=0, atol=1e-6)
        x_ref, x_ours = a.prev_sample, b.prev_sample


@pytest.mark.parametrize("eta", [0.0, 0.7])
@pytest.mark.parametrize("prediction", PREDICTIONS)
@pytest.mark.parametrize("kind", SCHEDULES)
@pytest.mark.parametrize(
    ("spacing", "offset", "alpha_one", "clip"),
    [
        ("leading", 0, True, True),
        ("leading", 1, False, False),
        ("trailing", 0, True, True),
        ("trailing", 0, False, True),
        ("linspace", 0, True, True),
    ],
)
def test_ddim_loop_matches_diffusers(
    kind: str, prediction: str, eta: float, spacing: str, offset: int, alpha_one: bool, clip: bool
) -> None:
    n = 25
    ref = diffusers.DDIMScheduler(
        **_schedule_kwargs(kind),
        prediction_type=prediction,
        clip_sample=clip,
        set_alpha_to_one=alpha_one,
        steps_offset=offset,
        timestep_spacing=spacing,
    )
    _float64_tables(ref, kind)
    ref.set_timesteps(n)
    ours = DDIMSampler(
        NoiseSchedule(beta_schedule=kind, num_timesteps=1000),
        prediction,
        num_steps=n,
        eta=eta,
        clip_sample=clip,
        set_alpha_to_one=alpha_one,
        steps_offset=offset,
        timestep_spacing=spacing,
    )
    assert ours.timesteps == ref.timesteps.tolist()
    x_ref = x_ours = torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    g_ref, g_ours = torch.Generator().manual_seed(9), torch.Generator().manual_seed(9)
    for t in ours.timesteps:
        # diffusers steps back by T // n whatever the spacing; forge goes to its loop's next timestep,
        # which is the same for leading and trailing. For linspace the target is passed explicitly.
        prev = t - 1000 // n if spacing == "linspace" else None
        if prev is None:
            assert ours.previous_timestep(t) == max(t - 1000 // n, -1) or t - 1000 // n < 0
        a = ref.step(_dummy_model(x_ref, t), t, x_ref, eta=eta, generator=g_ref)
        b = ours.step(_dummy_model(x_ours, t), t, x_ours, generator=g_ours, prev_timestep=prev)
        torch.testing.assert_close(b.pred_original_sample, a.pred_original_sample, rtol=0, atol=1e-6)
        torch.testing.assert_close(b.prev_sample, a.prev_sample, rtol=0, atol=1e-6)
        x_ref, x_ours = a.prev_sample, b.prev_sample
