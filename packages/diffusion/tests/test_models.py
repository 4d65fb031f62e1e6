"""Denoisers, the diffusion training wrapper, the KL autoencoder and latent diffusion."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_model
from torch import Tensor, nn

from forge.core import registry
from forge.core.errors import ConfigError, DataError
from forge.diffusion.losses.denoising import DenoisingLoss, VAELoss
from forge.diffusion.models.configs import DiffusionConfig, UNetConfig
from forge.diffusion.models.diffusion import DiffusionModel, LatentDiffusionModel
from forge.diffusion.models.layers import AttentionBlock, group_norm, timestep_embedding
from forge.diffusion.models.unet import UNet
from forge.diffusion.sampling.generate import generate
from forge.diffusion.schedules.configs import NoiseScheduleConfig

SMALL = UNetConfig(
    in_channels=1,
    image_size=8,
    base_channels=16,
    channel_mults=(1, 2),
    num_res_blocks=1,
    attention_resolutions=(4,),
    num_heads=2,
    norm_groups=32,
)


def test_group_norm_uses_at_most_the_configured_groups_dividing_the_channels() -> None:
    assert group_norm(256, 32).num_groups == 32
    assert group_norm(16, 32).num_groups == 16
    assert group_norm(24, 32).num_groups == 24 and group_norm(24, 8).num_groups == 8
    assert group_norm(48, 32).num_groups == 24  # largest divisor of 48 not above 32


def test_timestep_embedding_is_sinusoidal() -> None:
    emb = timestep_embedding(torch.tensor([0, 7]), 6)
    freqs = [10000 ** (-i / 3) for i in range(3)]
    expected = [[math.cos(7 * f) for f in freqs] + [math.sin(7 * f) for f in freqs]]
    torch.testing.assert_close(emb[1:], torch.tensor(expected))
    assert timestep_embedding(torch.tensor([3]), 5).shape == (1, 5)


def test_unet_places_attention_at_the_chosen_resolutions_and_conditions_on_classes() -> None:
    unet = UNet(SMALL, num_classes=10)
    attn = [m for m in unet.modules() if isinstance(m, AttentionBlock)]
    assert len(attn) == 1 + 1 + 2  # one down block at 4x4, the middle, two up blocks at 4x4
    assert {m.norm.num_groups for m in attn} == {32}
    torch.manual_seed(0)
    for p in unet.conv_out.parameters():
        nn.init.normal_(p)  # the zero-initialized output would hide the condition
    x, t = torch.randn(2, 1, 8, 8), torch.tensor([10, 10])
    a, b = unet(x, t, torch.tensor([1, 1])), unet(x, t, torch.tensor([2, 2]))
    assert a.shape == x.shape and not torch.allclose(a, b)
    with pytest.raises(DataError, match="null class"):
        unet(x, t, torch.tensor([11, 0]))
    with pytest.raises(DataError, match=r"\(B, 1, H, W\)"):
        unet(torch.randn(2, 3, 8, 8), t)
    with pytest.raises(DataError, match="cond_dim"):
        unet(x, t, torch.randn(2, 4))


def test_unet_vector_conditioning() -> None:
    import attrs

    unet = UNet(attrs.evolve(SMALL, cond_dim=4))
    out = unet(torch.randn(3, 1, 8, 8), torch.tensor([1, 2, 3]), torch.randn(3, 4))
    assert out.shape == (3, 1, 8, 8)
    with pytest.raises(DataError, match=r"\(B, 4\)"):
        unet(torch.randn(3, 1, 8, 8), torch.tensor([1, 2, 3]), torch.randn(3, 5))


def test_unet_config_refuses_impossible_attention_resolutions() -> None:
    with pytest.raises(ConfigError, match="attention_resolutions"):
        registry.make_config("model", "diffusion.unet", {"unet": {"attention_resolutions": [3]}})


class _Spy(nn.Module):
    """A denoiser that records its inputs and returns a fixed function of them."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(()))
        self.calls: list[tuple[Tensor, Tensor, Tensor | None]] = []

    def forward(self, x: Tensor, t: Tensor, cond: Tensor | None = None) -> Tensor:
        self.calls.append((x, t, cond))
        return self.w * x * 0.5


@pytest.mark.parametrize("prediction", ["epsilon", "sample", "v_prediction"])
def test_forward_returns_the_prediction_and_its_target(prediction: str) -> None:
    spy = _Spy()
    diffusion = DiffusionConfig(schedule=NoiseScheduleConfig(num_timesteps=100), prediction_type=prediction)
    model = DiffusionModel(spy, diffusion, (3,))
    x0 = torch.randn(64, 3)
    torch.manual_seed(5)
    pred, target = model(x0)
    torch.manual_seed(5)
    t = torch.randint(0, 100, (64,))
    eps = torch.randn(64, 3)
    assert torch.equal(spy.calls[0][1], t)
    a = model.schedule.sqrt_alphas_cumprod[t].float()[:, None]
    s = model.schedule.sqrt_one_minus_alphas_cumprod[t].float()[:, None]
    x_t = a * x0 + s * eps
    torch.testing.assert_close(spy.calls[0][0], x_t)
    torch.testing.assert_close(pred, 0.5 * x_t)
    expected = {"epsilon": eps, "sample": x0, "v_prediction": a * eps - s * x0}[prediction]
    torch.testing.assert_close(target, expected)


def test_condition_dropout_uses_the_null_class_only_in_training() -> None:
    spy = _Spy()
    model = DiffusionModel(spy, DiffusionConfig(cond_drop_prob=0.5), (2,), num_classes=3)
    labels = torch.randint(0, 3, (4000,))
    model((torch.randn(4000, 2), labels))
    seen = spy.calls[-1][2]
    assert seen is not None
    dropped = seen == 3
    assert 0.45 < float(dropped.float().mean()) < 0.55
    assert torch.equal(seen[~dropped], labels[~dropped])
    model.eval()
    model((torch.randn(10, 2), labels[:10]))
    assert torch.equal(spy.calls[-1][2], labels[:10])  # type: ignore[arg-type]


def test_eval_forward_is_deterministic_and_bad_input_is_named() -> None:
    model = registry.build("model", "diffusion.mlp").eval()
    x0 = torch.randn(8, 2)
    a, b = model(x0), model(x0)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    with pytest.raises(DataError, match=r"built for \(2,\)"):
        model(torch.randn(8, 3))
    with pytest.raises(DataError, match="float tensor"):
        model(torch.ones(8, 2, dtype=torch.long))
    with pytest.raises(DataError, match="prediction, target"):
        DenoisingLoss()(torch.zeros(3))


def test_classifier_free_guidance_combines_conditional_and_null_predictions() -> None:
    class Labelled(_Spy):
        def forward(self, x: Tensor, t: Tensor, cond: Tensor | None = None) -> Tensor:
            self.calls.append((x, t, cond))
            assert cond is not None
            return x * 0 + cond.float()[:, None] * self.w  # prediction = the label

    denoiser = Labelled()
    model = DiffusionModel(
        denoiser,
        DiffusionConfig(schedule=NoiseScheduleConfig(num_timesteps=10), prediction_type="sample"),
        (1,),
        num_classes=5,
    )
    out = generate(model, 2, sampler="ddim", steps=1, cond=torch.tensor([1, 2]), guidance=3.0, clip_sample=False)
    # One batched call with the labels then the null class 5; guided x0 = 5 + 3 * (label - 5).
    x, _, cond = denoiser.calls[0]
    assert x.shape[0] == 4 and cond is not None and cond.tolist() == [1, 2, 5, 5]
    torch.testing.assert_close(out, torch.tensor([[5 + 3 * (1 - 5.0)], [5 + 3 * (2 - 5.0)]]))
    with pytest.raises(DataError, match="conditions for"):
        generate(model, 3, cond=torch.tensor([1, 2]), guidance=2.0)


def _train(model: nn.Module, loss: nn.Module, data: Tensor, steps: int, lr: float = 3e-3) -> tuple[float, float]:
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    model.train()
    losses = []
    for i in range(steps):
        batch = data[(i * 32) % len(data) :][:32]
        value = loss(model(batch))
        opt.zero_grad()
        value.backward()
        opt.step()
        losses.append(value.item())
    return sum(losses[:3]) / 3, sum(losses[-3:]) / 3


def test_vae_and_latent_diffusion_train_a_few_steps(tmp_path: Path) -> None:
    torch.manual_seed(0)
    from forge.diffusion.datasets.digits import load_digits_images

    images = torch.from_numpy(load_digits_images()[0][:256])
    vae = registry.build("model", "diffusion.vae")
    first, last = _train(vae, VAELoss(1e-4), images, 30)
    assert last < 0.6 * first, (first, last)
    weights = tmp_path / "vae.safetensors"
    save_model(vae, str(weights))
    latent = registry.build("model", "diffusion.latent_unet", vae_weights=str(weights))
    assert isinstance(latent, LatentDiffusionModel) and latent.latent_shape == (2, 4, 4)
    frozen = {k: v.clone() for k, v in latent.vae.state_dict().items()}
    assert all(torch.equal(frozen[k], v) for k, v in vae.state_dict().items())
    first, last = _train(latent, DenoisingLoss(), images, 20)
    assert last < first, (first, last)
    assert latent.vae.training is False
    assert all(torch.equal(frozen[k], v) for k, v in latent.vae.state_dict().items())  # the autoencoder stays frozen
    samples = generate(latent, 3, sampler="ddim", steps=4, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (3, 1, 8, 8) and bool(torch.isfinite(samples).all())
    with pytest.raises(ConfigError, match="vae_weights"):
        registry.build("model", "diffusion.latent_unet", vae_weights=str(tmp_path / "missing.safetensors"))
