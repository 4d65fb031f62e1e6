"""MobileNets warn, once, when their input is smaller than they downsample (8x8 digits train to chance)."""

from __future__ import annotations

import copy
import warnings

import pytest
import torch

from forge.core import registry
from forge.vision.models.mobilenet import SmallInputWarning


@pytest.mark.parametrize(("name", "stride"), [("vision.mobilenet_v3_small", 16), ("vision.mobilenet_v2", 16)])
def test_an_input_smaller_than_the_total_stride_warns_once(name: str, stride: int) -> None:
    model = registry.build("model", name, num_classes=10, in_chans=1, stem="small", width_multiplier=0.25)
    assert model.total_stride == stride
    with pytest.warns(SmallInputWarning, match=r"downsamples its input 16x, but got 8x8 images") as caught:
        model(torch.randn(2, 1, 8, 8))
    assert "feature map is 1x1 after 3 of its 4 strided layers" in str(caught[0].message)
    assert "vision.resnet18 with stem='small'" in str(caught[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model(torch.randn(2, 1, 8, 8))  # checked at the first forward only
        copy.deepcopy(model)(torch.randn(2, 1, 8, 8))  # nor again in a copy (an EMA, say)


def test_inputs_the_model_is_made_for_do_not_warn() -> None:
    small = registry.build(
        "model", "vision.mobilenet_v3_small", num_classes=10, stem="small", width_multiplier=0.25
    ).eval()
    large = registry.build("model", "vision.mobilenet_v3_large", num_classes=10, width_multiplier=0.25).eval()
    assert large.total_stride == 32
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        small(torch.randn(1, 3, 16, 16))
        large(torch.randn(1, 3, 32, 32))
    fresh = registry.build("model", "vision.mobilenet_v3_large", num_classes=10, width_multiplier=0.25).eval()
    with pytest.warns(SmallInputWarning, match=r"downsamples its input 32x, but got 16x24 images"):
        fresh(torch.randn(1, 3, 16, 24))


def test_the_registered_example_input_does_not_warn() -> None:
    from forge.vision.models.mobilenet import example_input

    for stem in ("small", "imagenet"):
        model = registry.build("model", "vision.mobilenet_v3_small", num_classes=3, stem=stem, width_multiplier=0.25)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            model(example_input(model.config))
