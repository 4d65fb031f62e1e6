"""Every vision config field declares its constraint, and a value breaking one is refused when the config is built.

A new numeric, string or choice field without ``gt=/ge=/lt=/le=/one_of=/non_empty=`` fails
``test_every_field_declares_a_constraint`` until it declares one or is added to ``UNCONSTRAINED``
with the reason.
"""

from __future__ import annotations

from typing import Any

import pytest

from forge.core import load_recipe, registry
from forge.core.config import structure
from forge.core.errors import ConfigError
from forge.core.testing import check_constraints, config_classes

PROVIDER = "vision"
MODULES = (
    "forge.vision.models.configs",
    "forge.vision.transforms.configs",
    "forge.vision.augment.configs",
    "forge.vision.datasets.configs",
)
NOT_CONFIGS = {"EfficientNetVariant": "a record of published coefficients, never read from a file"}
EXPECTED = {"ResNetConfig", "ResizeConfig", "MixUpConfig", "ShapesConfig"}
"""Classes the scan must find (a guard against it finding nothing)."""
UNCONSTRAINED = {
    "CenterCropConfig.fill": "a pixel value: images may be normalized to any range (every float is checked finite)",
    "TrivialAugmentConfig.fill": "a pixel value: images may be normalized to any range (every float is checked finite)",
    "RandAugmentConfig.fill": "a pixel value: images may be normalized to any range (every float is checked finite)",
}


CLASSES = config_classes(PROVIDER, MODULES, exclude=NOT_CONFIGS)


def test_every_field_declares_a_constraint() -> None:
    assert EXPECTED <= {c.__name__ for c in CLASSES}  # the scan finds the plugin's configs
    check_constraints(CLASSES, UNCONSTRAINED)


def _error(cls: type, data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        structure(data, cls, where="cfg")
    return str(info.value)


def _config_class(name: str) -> type:
    return next(c for c in CLASSES if c.__name__ == name)


@pytest.mark.parametrize(
    ("cls", "data", "message"),
    [
        ("ResNetConfig", {"depth": 42}, "cfg.depth: expected one of 18, 34, 50, 101, 152, got 42"),
        ("ResNetConfig", {"dropout": 1.5}, "cfg.dropout: expected a number >= 0 and < 1, got 1.5"),
        ("ResNetConfig", {"num_classes": 0}, "cfg.num_classes: expected a number >= 1, got 0"),
        ("ResNetConfig", {"norm_eps": float("nan")}, "cfg.norm_eps: expected a finite number, got nan"),
        ("EfficientNetConfig", {"width_multiplier": 0.0}, "cfg.width_multiplier: expected a number > 0, got 0.0"),
        ("MobileNetConfig", {"activation": "swish"}, "'mish', 'leaky_relu', got 'swish'"),
        ("ResizeConfig", {"size": [0]}, "cfg.size: expected each item to be a number > 0, got 0 at index 0 of [0]"),
        ("ResizeConfig", {"size": [1, 2, 3]}, "cfg.size: expected 1 or 2 items, got 3: [1, 2, 3]"),
        ("ResizeConfig", {"size": [8], "interpolation": "area"}, "cfg.interpolation: expected one of 'nearest'"),
        ("NormalizeConfig", {"mean": [0.5], "std": [0.0]}, "cfg.std: expected each item to be a number > 0, got 0.0"),
        ("NormalizeConfig", {"mean": [], "std": []}, "cfg.mean: expected non-empty, got []"),
        ("RandomHorizontalFlipConfig", {"p": 1.5}, "cfg.p: expected a number >= 0 and <= 1, got 1.5"),
        ("RandomResizedCropConfig", {"size": [8, 8], "scale": [0.9, 0.1]}, "cfg.scale: expected [low, high] with"),
        ("ColorJitterConfig", {"hue": 0.6}, "cfg.hue: expected a number >= 0 and <= 0.5, got 0.6"),
        ("RandAugmentConfig", {"num_ops": -1}, "cfg.num_ops: expected a number >= 0, got -1"),
        ("TrivialAugmentConfig", {"num_magnitude_bins": 1}, "cfg.num_magnitude_bins: expected a number >= 2, got 1"),
        ("ComposeConfig", {"seed": -1}, "cfg.seed: expected a number >= 0, got -1"),
        ("MixUpConfig", {"num_classes": 1}, "cfg.num_classes: expected a number >= 2, got 1"),
        ("CutMixConfig", {"num_classes": 4, "alpha": 0.0}, "cfg.alpha: expected a number > 0, got 0.0"),
        ("SoftTargetCrossEntropyConfig", {"reduction": "avg"}, "cfg.reduction: expected one of 'mean', 'sum', 'none'"),
        ("ShapesConfig", {"classes": ["circle", "hexagon"]}, "got 'hexagon' at index 1 of ['circle', 'hexagon']"),
        ("ShapesConfig", {"classes": ["circle"]}, "cfg.classes: expected at least two distinct shapes, got ['circle']"),
        ("ShapesConfig", {"channels": 2}, "cfg.channels: expected one of 1, 3, got 2"),
        ("ShapesConfig", {"image_size": 4}, "cfg.image_size: expected a number >= 8, got 4"),
        ("ImageFolderConfig", {"root": ""}, "cfg.root: expected non-empty, got ''"),
        ("ImageFolderConfig", {"root": "x", "mode": "CMYK"}, "cfg.mode: expected one of 'RGB', 'L', got 'CMYK'"),
        ("DigitsConfig", {"val_fraction": 1.0}, "cfg.val_fraction: expected a number >= 0 and < 1, got 1.0"),
    ],
)
def test_a_value_breaking_a_declared_constraint_is_refused_naming_key_value_and_expectation(
    cls: str, data: dict[str, Any], message: str
) -> None:
    assert message in _error(_config_class(cls), data)


@pytest.mark.parametrize(
    ("cls", "data", "message"),
    [
        ("NormalizeConfig", {"mean": [0.5, 0.5], "std": [1.0]}, "mean, std: expected the same number of values, got 2"),
        ("RandAugmentConfig", {"magnitude": 31}, "magnitude, num_magnitude_bins: expected magnitude < "),
        ("DigitsConfig", {"val_fraction": 0.5, "test_fraction": 0.5}, "val_fraction, test_fraction: expected a sum"),
    ],
)
def test_a_cross_field_rule_names_both_keys_and_values(cls: str, data: dict[str, Any], message: str) -> None:
    text = _error(_config_class(cls), data)
    assert message in text
    assert all(repr(v) in text or str(v) in text for v in data.values())


def test_a_config_built_in_python_is_checked_too() -> None:
    with pytest.raises(ConfigError, match=r"^depth: expected one of 18, 34, 50, 101, 152, got 42$"):
        _config_class("ResNetConfig")(depth=42)


RECIPES = [s.name for s in registry.list("recipe") if s.provider == PROVIDER]


@pytest.mark.parametrize("name", RECIPES)
def test_every_shipped_recipe_and_the_transforms_it_nests_stay_valid(name: str) -> None:
    load_recipe(name).check()  # nested transform tables included
