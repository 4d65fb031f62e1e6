"""MixUp, CutMix, label smoothing and the soft-target cross-entropy."""

from __future__ import annotations

import pytest
import torch

from forge.core.errors import ConfigError, DataError
from forge.vision.augment import CutMix, MixUp, SoftTargetCrossEntropy, smooth_labels, soft_target_cross_entropy


def test_mixup_mixes_images_and_targets_with_the_same_weight() -> None:
    x = torch.rand(8, 3, 4, 4)
    y = torch.arange(8) % 4
    mixed, soft = MixUp(num_classes=4, alpha=0.2)(x, y, generator=torch.Generator().manual_seed(1))
    assert soft.shape == (8, 4)
    assert torch.allclose(soft.sum(1), torch.ones(8))
    # Each mixed image is lam * x_i + (1 - lam) * x_j, with lam = soft[i, y_i] when y_i != y_j.
    assert not torch.equal(mixed, x)
    assert mixed.shape == x.shape


def test_cutmix_target_weight_equals_pasted_area() -> None:
    x = torch.zeros(6, 1, 10, 10)
    x[torch.arange(6), 0] = torch.arange(6, dtype=torch.float32)[:, None, None]  # image i is filled with i
    y = torch.arange(6)
    mixed, soft = CutMix(num_classes=6, alpha=1.0)(x, y, generator=torch.Generator().manual_seed(2))
    for i in range(6):
        own = float((mixed[i] == i).float().mean())
        assert soft[i, i] == pytest.approx(own, abs=1e-6)


def test_same_generator_seed_gives_same_mix() -> None:
    x, y = torch.rand(4, 3, 8, 8), torch.tensor([0, 1, 2, 1])
    a = CutMix(num_classes=3)(x, y, generator=torch.Generator().manual_seed(5))
    b = CutMix(num_classes=3)(x, y, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_p_zero_returns_unmixed_images_with_one_hot_targets() -> None:
    x, y = torch.rand(4, 3, 8, 8), torch.tensor([0, 1, 2, 1])
    out, soft = MixUp(num_classes=3, p=0.0)(x, y)
    assert torch.equal(out, x) and torch.equal(soft, torch.nn.functional.one_hot(y, 3).float())


def test_mixers_serialize_and_default_alpha_is_0_2() -> None:
    m = MixUp(num_classes=10)
    assert m.config.alpha == 0.2 and CutMix(num_classes=10).config.alpha == 0.2
    assert MixUp.from_dict(m.to_dict()) == m
    with pytest.raises(ConfigError):
        MixUp(num_classes=10, alpha=0.0)


def test_smooth_labels_spreads_mass_uniformly() -> None:
    soft = smooth_labels(torch.tensor([0, 2]), 4, 0.1)
    assert torch.allclose(soft[0], torch.tensor([0.925, 0.025, 0.025, 0.025]))
    with pytest.raises(DataError, match="out of range"):
        smooth_labels(torch.tensor([4]), 4, 0.1)


def test_soft_target_cross_entropy_matches_torch_cross_entropy() -> None:
    logits, y = torch.randn(5, 7), torch.randint(0, 7, (5,))
    ref = torch.nn.functional.cross_entropy(logits, y, label_smoothing=0.1)
    ours = soft_target_cross_entropy(logits, smooth_labels(y, 7, 0.1))
    assert torch.allclose(ours, ref, atol=1e-6)
    assert torch.allclose(SoftTargetCrossEntropy(label_smoothing=0.1)(logits, y), ref, atol=1e-6)
    assert SoftTargetCrossEntropy(reduction="none")(logits, y).shape == (5,)
    with pytest.raises(DataError):
        soft_target_cross_entropy(logits, torch.rand(4, 7))
