"""Vision transforms: shapes, batch/sample agreement, serialization round trips, reproducibility."""

from __future__ import annotations

import json
from typing import Any

import pytest
import torch

from forge.core.errors import ConfigError, DataError
from forge.vision.transforms import (
    CenterCrop,
    ColorJitter,
    Compose,
    Normalize,
    RandAugment,
    RandomHorizontalFlip,
    RandomResizedCrop,
    RandomVerticalFlip,
    Resize,
    Transform,
    TrivialAugment,
    transform_from_dict,
)
from forge.vision.transforms.color import equalize, hsv_to_rgb, posterize, rgb_to_hsv

ALL: list[Transform[Any]] = [
    Resize(size=12),
    Resize(size=[10, 14], interpolation="bicubic"),
    CenterCrop(size=10),
    RandomResizedCrop(size=9),
    RandomResizedCrop(size=[8, 10], antialias=False),
    RandomHorizontalFlip(p=0.5),
    RandomVerticalFlip(p=0.3),
    Normalize(mean=(0.5, 0.4, 0.3), std=(0.2, 0.2, 0.2)),
    ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1),
    TrivialAugment(),
    RandAugment(num_ops=2, magnitude=9),
]


@pytest.mark.parametrize("transform", ALL, ids=lambda t: t.name)
def test_round_trip_through_json_gives_an_equal_transform(transform: Transform[Any]) -> None:
    data = json.loads(json.dumps(transform.to_dict()))
    assert data["name"] == transform.name
    rebuilt = transform_from_dict(data)
    assert rebuilt == transform
    assert rebuilt.to_dict() == transform.to_dict()


@pytest.mark.parametrize("transform", ALL, ids=lambda t: t.name)
def test_sample_and_batch_keep_their_rank_and_same_seed_gives_same_output(transform: Transform[Any]) -> None:
    x = torch.rand(4, 3, 16, 20)
    a = transform(x, generator=torch.Generator().manual_seed(3))
    b = transform(x, generator=torch.Generator().manual_seed(3))
    assert a.dim() == 4 and a.shape[0] == 4
    assert torch.equal(a, b)
    single = transform(x[0], generator=torch.Generator().manual_seed(3))
    assert single.dim() == 3 and single.shape == a.shape[1:]
    assert torch.isfinite(a).all()


def test_resize_shorter_side_keeps_aspect_ratio() -> None:
    assert Resize(size=32)(torch.rand(3, 40, 80)).shape == (3, 32, 64)
    assert Resize(size=[5, 7])(torch.rand(2, 1, 40, 80)).shape == (2, 1, 5, 7)


def test_center_crop_takes_the_middle_and_pads_small_images() -> None:
    x = torch.arange(36, dtype=torch.float32).view(1, 6, 6)
    assert torch.equal(CenterCrop(size=2)(x), x[:, 2:4, 2:4])
    padded = CenterCrop(size=8, fill=-1.0)(x)
    assert padded.shape == (1, 8, 8) and padded[0, 0, 0] == -1.0 and torch.equal(padded[:, 1:7, 1:7], x)


def test_flip_with_p_one_flips_every_image_and_p_zero_none() -> None:
    x = torch.rand(3, 2, 4, 5)
    assert torch.equal(RandomHorizontalFlip(p=1.0)(x), x.flip(-1))
    assert torch.equal(RandomVerticalFlip(p=1.0)(x), x.flip(-2))
    assert torch.equal(RandomHorizontalFlip(p=0.0)(x), x)


def test_flips_are_drawn_per_image_in_a_batch() -> None:
    x = torch.rand(64, 1, 3, 3)
    out = RandomHorizontalFlip(p=0.5)(x, generator=torch.Generator().manual_seed(0))
    flipped = [bool(torch.equal(o, xi.flip(-1))) for o, xi in zip(out, x, strict=True)]
    assert 0 < sum(flipped) < 64


def test_full_scale_random_resized_crop_of_a_square_is_a_resize() -> None:
    x = torch.rand(2, 3, 16, 16)
    crop = RandomResizedCrop(size=16, scale=(1.0, 1.0), ratio=(1.0, 1.0), antialias=False)
    assert torch.allclose(crop(x), x, atol=1e-5)


def test_normalize_matches_formula_and_rejects_wrong_channel_count() -> None:
    x = torch.rand(3, 4, 4)
    out = Normalize(mean=(0.1, 0.2, 0.3), std=(0.5, 0.25, 2.0))(x)
    assert torch.allclose(out[1], (x[1] - 0.2) / 0.25)
    with pytest.raises(DataError, match="channels"):
        Normalize(mean=(0.1, 0.2), std=(1.0, 1.0))(x)


def test_invalid_parameters_raise_config_error_naming_the_transform() -> None:
    with pytest.raises(ConfigError, match="vision.random_horizontal_flip"):
        RandomHorizontalFlip(p=1.5)
    with pytest.raises(ConfigError, match="interpolation"):
        Resize(size=8, interpolation="lanczos")
    with pytest.raises(ConfigError, match="unknown key"):
        transform_from_dict({"name": "vision.resize", "size": [8], "bogus": 1})
    with pytest.raises(ConfigError, match="name"):
        transform_from_dict({"size": [8]})


def test_non_float_or_wrong_rank_input_raises_data_error() -> None:
    with pytest.raises(DataError, match="floating-point"):
        Resize(size=4)(torch.zeros(3, 8, 8, dtype=torch.uint8))
    with pytest.raises(DataError, match="shape"):
        Resize(size=4)(torch.zeros(8, 8))


def test_compose_serializes_nested_and_seeded_compose_is_reproducible() -> None:
    pipeline = Compose([RandomResizedCrop(size=8), RandomHorizontalFlip(), TrivialAugment()], seed=7)
    data = json.loads(json.dumps(pipeline.to_dict()))
    rebuilt = transform_from_dict(data)
    assert rebuilt == pipeline
    x = torch.rand(5, 3, 12, 12)
    assert torch.equal(pipeline(x), rebuilt(x))
    # The generator advances, so a second call draws new augmentations.
    assert not torch.equal(pipeline(x), pipeline.__class__.from_dict(data)(x))


def test_core_style_config_is_accepted() -> None:
    t = ColorJitter(brightness=0.2)
    assert transform_from_dict(t.to_config()) == t


def test_hsv_round_trip_and_hue_shift_of_one_turn_is_identity() -> None:
    x = torch.rand(3, 3, 5, 5)
    assert torch.allclose(hsv_to_rgb(rgb_to_hsv(x)), x, atol=1e-5)
    from forge.vision.transforms.color import adjust_hue

    assert torch.allclose(adjust_hue(x, torch.full((3,), 0.0)), x, atol=1e-5)


def test_posterize_and_equalize_match_pil() -> None:
    import numpy as np
    from PIL import Image, ImageOps

    rng = np.random.default_rng(0)
    arr = (rng.beta(2, 5, (12, 10, 3)) * 255).astype(np.uint8)
    x = torch.from_numpy(arr).permute(2, 0, 1).float().div(255).unsqueeze(0)
    ours_eq = (equalize(x)[0].permute(1, 2, 0) * 255).round().byte().numpy()
    assert np.array_equal(ours_eq, np.asarray(ImageOps.equalize(Image.fromarray(arr))))
    ours_po = (posterize(x, torch.tensor([3]))[0].permute(1, 2, 0) * 255).round().byte().numpy()
    assert np.array_equal(ours_po, np.asarray(ImageOps.posterize(Image.fromarray(arr), 3)))


def test_color_ops_leave_grayscale_images_valid() -> None:
    x = torch.rand(4, 1, 8, 8)
    out = ColorJitter(brightness=0.3, contrast=0.3, saturation=0.5, hue=0.2)(x)
    assert out.shape == x.shape and (out >= 0).all() and (out <= 1).all()
    assert TrivialAugment()(x).shape == x.shape
