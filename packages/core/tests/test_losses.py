"""Losses: reference values, reductions, and numerical stability under large logits and fp16."""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Callable
from typing import Literal

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from forge.core.config import structure
from forge.core.errors import ConfigError
from forge.core.losses import _functional as LF
from forge.core.losses._catalog import register_losses
from forge.core.losses._configs import (
    CrossEntropyConfig,
    DistillationConfig,
    FocalLossConfig,
    HuberConfig,
    WeightedCrossEntropyConfig,
)
from forge.core.losses._modules import (
    BCEWithLogitsLoss,
    DistillationLoss,
    build_cross_entropy,
    build_distillation,
    build_focal,
    build_huber,
    build_weighted_cross_entropy,
)


def logits_and_targets(seed: int = 0, n: int = 6, c: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, c, generator=g), torch.randint(0, c, (n,), generator=g)


def test_cross_entropy_label_smoothing_uses_epsilon_point_one() -> None:
    x, y = logits_and_targets()
    smoothed = build_cross_entropy(structure({"label_smoothing": True}, CrossEntropyConfig))
    assert smoothed.label_smoothing == 0.1
    torch.testing.assert_close(smoothed(x, y), F.cross_entropy(x, y, label_smoothing=0.1))
    # Written out: (1 - eps) * NLL + eps * mean over classes of -log p.
    logp = F.log_softmax(x, dim=1)
    manual = (0.9 * -logp.gather(1, y[:, None]).squeeze(1) + 0.1 * -logp.mean(dim=1)).mean()
    torch.testing.assert_close(smoothed(x, y), manual)
    plain = build_cross_entropy(CrossEntropyConfig())
    torch.testing.assert_close(plain(x, y), F.cross_entropy(x, y))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_weighted_cross_entropy_matches_torch(reduction: Literal["mean", "sum", "none"]) -> None:
    x, y = logits_and_targets(1)
    y[0] = -100
    weights = (1.0, 2.0, 0.5, 3.0)
    loss = build_weighted_cross_entropy(WeightedCrossEntropyConfig(class_weights=weights, reduction=reduction))
    expected = F.cross_entropy(x, y, weight=torch.tensor(weights), reduction=reduction)
    torch.testing.assert_close(loss(x, y), expected)


def test_all_ignored_targets_give_zero_not_nan() -> None:
    x, _ = logits_and_targets()
    x.requires_grad_(True)
    y = torch.full((6,), -100)
    fns: list[Callable[[], torch.Tensor]] = [
        lambda: LF.cross_entropy(x, y),
        lambda: LF.focal_loss(x, y),
        lambda: LF.cross_entropy(x, y, weight=[1.0, 2.0, 3.0, 4.0]),
    ]
    for fn in fns:
        loss = fn()
        assert loss.item() == 0.0
        (grad,) = torch.autograd.grad(loss, x)
        assert torch.isfinite(grad).all()


def test_focal_loss_reduces_to_cross_entropy_and_down_weights_easy_examples() -> None:
    x, y = logits_and_targets(2)
    torch.testing.assert_close(LF.focal_loss(x, y, gamma=0.0), F.cross_entropy(x, y))
    p_t = F.softmax(x, 1).gather(1, y[:, None]).squeeze(1)
    expected = (-((1 - p_t) ** 2) * torch.log(p_t) * 0.25).mean()
    loss = build_focal(structure({"alpha": 0.25}, FocalLossConfig))
    torch.testing.assert_close(loss(x, y), expected)
    per_class = build_focal(FocalLossConfig(class_alpha=(1.0, 0.0, 0.0, 0.0), reduction="none"))(x, y)
    assert torch.equal(per_class[y != 0], torch.zeros_like(per_class[y != 0]))


def test_binary_focal_matches_closed_form() -> None:
    g = torch.Generator().manual_seed(3)
    x, t = torch.randn(10, generator=g), torch.randint(0, 2, (10,), generator=g).float()
    p = torch.sigmoid(x)
    p_t = p * t + (1 - p) * (1 - t)
    a_t = 0.25 * t + 0.75 * (1 - t)
    expected = (-a_t * (1 - p_t) ** 2 * torch.log(p_t)).sum()
    torch.testing.assert_close(LF.focal_loss(x, t, task="binary", alpha=0.25, reduction="sum"), expected)


def test_regression_losses_and_bce_match_torch() -> None:
    g = torch.Generator().manual_seed(4)
    a, b = torch.randn(5, 3, generator=g) * 3, torch.randn(5, 3, generator=g)
    torch.testing.assert_close(LF.mse(a, b), F.mse_loss(a, b))
    torch.testing.assert_close(
        build_huber(HuberConfig(delta=0.5, reduction="sum"))(a, b), F.huber_loss(a, b, delta=0.5, reduction="sum")
    )
    t = (b > 0).float()
    pw = torch.tensor([1.0, 2.0, 3.0])
    torch.testing.assert_close(
        BCEWithLogitsLoss(pos_weight=pw, reduction="none")(a, t),
        F.binary_cross_entropy_with_logits(a, t, pos_weight=pw, reduction="none"),
    )


def test_distillation_matches_hinton_formula() -> None:
    s, y = logits_and_targets(5)
    t, _ = logits_and_targets(6)
    s.requires_grad_(True)
    t.requires_grad_(True)
    loss_fn = build_distillation(DistillationConfig(temperature=2.0, alpha=0.7))
    loss = loss_fn((s, t), y)
    kl = F.kl_div(F.log_softmax(s / 2, 1), F.log_softmax(t / 2, 1), reduction="batchmean", log_target=True)
    expected = 0.7 * 4.0 * kl + 0.3 * F.cross_entropy(s, y)
    torch.testing.assert_close(loss, expected)
    loss.backward()
    assert t.grad is None, "the teacher must get no gradient"
    torch.testing.assert_close(loss_fn(s, y, t), loss)
    # Identical student and teacher: the soft term vanishes.
    torch.testing.assert_close(DistillationLoss(alpha=1.0)(s, None, s.detach()), torch.tensor(0.0), atol=1e-6, rtol=0)
    with pytest.raises(ConfigError, match="teacher"):
        loss_fn(s, y)


def test_bad_reduction_is_a_config_error() -> None:
    x, y = logits_and_targets()
    with pytest.raises(ConfigError, match="reduction"):
        LF.cross_entropy(x, y, reduction="avg")
    with pytest.raises(ConfigError, match="reduction"):
        structure({"reduction": "avg"}, CrossEntropyConfig)


large_logits = st.lists(
    st.floats(min_value=-6e4, max_value=6e4, allow_nan=False, allow_infinity=False), min_size=12, max_size=12
)


@settings(max_examples=40, deadline=None)
@given(
    values=large_logits,
    half=st.booleans(),
    targets=st.lists(st.integers(0, 3), min_size=3, max_size=3),
    gamma=st.sampled_from([0.0, 0.5, 2.0]),
)
def test_classification_losses_stay_finite(values: list[float], half: bool, targets: list[int], gamma: float) -> None:
    x = torch.tensor(values).reshape(3, 4)
    x = (x.half() if half else x).requires_grad_(True)
    y = torch.tensor(targets)
    teacher = torch.tensor(values[::-1]).reshape(3, 4)
    losses = {
        "ce": LF.cross_entropy(x, y, label_smoothing=0.1),
        "weighted": LF.cross_entropy(x, y, weight=[1.0, 2.0, 0.5, 1.0]),
        "focal": LF.focal_loss(x, y, gamma=gamma, alpha=0.25),
        "binary_focal": LF.focal_loss(x, (x.detach() > 0).float(), task="binary", gamma=gamma),
        "bce": LF.bce_with_logits(x, torch.ones_like(x, dtype=torch.float32)),
        "distill": LF.distillation_loss(x, teacher, y, temperature=4.0),
    }
    for name, loss in losses.items():
        assert loss.dtype == torch.float32, name
        assert torch.isfinite(loss).all(), f"{name} gave {loss}"
        (grad,) = torch.autograd.grad(loss.sum(), x)
        assert torch.isfinite(grad).all(), f"{name} gradient"


@settings(max_examples=30, deadline=None)
@given(
    values=st.lists(st.floats(min_value=-200, max_value=200, allow_nan=False), min_size=8, max_size=8),
    half=st.booleans(),
)
def test_regression_losses_stay_finite_in_fp16(values: list[float], half: bool) -> None:
    a = torch.tensor(values[:4])
    b = torch.tensor(values[4:])
    a = (a.half() if half else a).requires_grad_(True)
    for loss in (LF.mse(a, b), LF.huber(a, b, delta=1.0)):
        assert torch.isfinite(loss) and loss.dtype == torch.float32
        (grad,) = torch.autograd.grad(loss, a)
        assert torch.isfinite(grad).all()


def test_extreme_logits_give_exact_losses() -> None:
    x = torch.tensor([[1e4, -1e4, 0.0]], dtype=torch.float16)
    assert LF.cross_entropy(x, torch.tensor([0])).item() == 0.0
    assert LF.cross_entropy(x, torch.tensor([1])).item() == pytest.approx(2e4)
    assert math.isfinite(LF.focal_loss(x, torch.tensor([1])).item())


def test_catalog_registers_every_loss_without_torch() -> None:
    names: list[str] = []
    register_losses(lambda name, **kw: names.append(name))
    assert names == [
        "cross_entropy",
        "weighted_cross_entropy",
        "focal",
        "bce_with_logits",
        "mse",
        "huber",
        "distillation",
    ]
    code = "import sys, forge.core.losses._catalog, forge.core.losses._configs; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
