"""Every diffusion config field declares its constraint, and a value breaking one is refused when the config is built.

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

PROVIDER = "diffusion"
MODULES = (
    "forge.diffusion.models.configs",
    "forge.diffusion.losses.configs",
    "forge.diffusion.datasets.configs",
    "forge.diffusion.schedules.configs",
    "forge.diffusion.samplers.configs",
)
NOT_CONFIGS: dict[str, str] = {}
EXPECTED = {"DiffusionUNetConfig", "UNetConfig", "DiffusionConfig", "NoiseScheduleConfig", "DDIMConfig", "Toy2DConfig"}
"""Classes the scan must find (nested and unregistered ones included)."""
UNCONSTRAINED: dict[str, str] = {}


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
        (
            "DiffusionUNetConfig",
            {"unet": {"channel_mults": []}},
            "cfg.unet.channel_mults: expected non-empty (a number",
        ),
        (
            "DiffusionUNetConfig",
            {"unet": {"dropout": 1.0}},
            "cfg.unet.dropout: expected a number >= 0 and < 1, got 1.0",
        ),
        (
            "DiffusionUNetConfig",
            {"diffusion": {"schedule": {"beta_start": 1.5}}},
            "cfg.diffusion.schedule.beta_start: expected a number > 0 and < 1, got 1.5",
        ),
        (
            "DiffusionUNetConfig",
            {"diffusion": {"cond_drop_prob": float("nan")}},
            "cfg.diffusion.cond_drop_prob: expected a finite number, got nan",
        ),
        (
            "DiffusionMLPConfig",
            {"diffusion": {"prediction_type": "x0"}},
            "cfg.diffusion.prediction_type: expected one of 'epsilon', 'sample', 'v_prediction', got 'x0'",
        ),
        ("DiffusionMLPConfig", {"mlp": {"hidden": 0}}, "cfg.mlp.hidden: expected a number >= 1, got 0"),
        ("DiffusionMLPConfig", {"num_classes": 0}, "cfg.num_classes: expected a number >= 1, got 0"),
        ("LatentDiffusionConfig", {"latent_scale": 0.0}, "cfg.latent_scale: expected a number > 0, got 0.0"),
        ("LatentDiffusionConfig", {"vae_weights": ""}, "cfg.vae_weights: expected non-empty, got ''"),
        ("VAEConfig", {"channel_mults": [1, 0]}, "cfg.channel_mults: expected each item to be a number >= 1, got 0 at"),
        ("NoiseScheduleConfig", {"num_timesteps": 0}, "cfg.num_timesteps: expected a number >= 1, got 0"),
        ("NoiseScheduleConfig", {"beta_schedule": "sigmoid"}, "cfg.beta_schedule: expected one of 'linear', 'cosine'"),
        ("NoiseScheduleConfig", {"max_beta": 1.0}, "cfg.max_beta: expected a number > 0 and < 1, got 1.0"),
        ("NoiseScheduleConfig", {"cosine_s": -0.1}, "cfg.cosine_s: expected a number >= 0, got -0.1"),
        (
            "DDPMConfig",
            {"variance_type": "learned"},
            "cfg.variance_type: expected one of 'fixed_small', 'fixed_small_log'",
        ),
        ("DDPMConfig", {"num_steps": 0}, "cfg.num_steps: expected a number >= 1, got 0"),
        ("DDIMConfig", {"eta": -0.1}, "cfg.eta: expected a number >= 0, got -0.1"),
        ("DDIMConfig", {"timestep_spacing": "karras"}, "cfg.timestep_spacing: expected one of 'leading', 'trailing'"),
        ("DDIMConfig", {"clip_sample_range": 0.0}, "cfg.clip_sample_range: expected a number > 0, got 0.0"),
        ("Toy2DConfig", {"kind": "circles"}, "cfg.kind: expected one of 'moons', 'swiss_roll', got 'circles'"),
        ("DigitsConfig", {"val_fraction": 0.5}, "cfg.val_fraction: expected a number >= 0 and < 0.5, got 0.5"),
        ("VAELossConfig", {"kl_weight": -1.0}, "cfg.kl_weight: expected a number >= 0, got -1.0"),
    ],
)
def test_a_value_breaking_a_declared_constraint_is_refused_naming_key_value_and_expectation(
    cls: str, data: dict[str, Any], message: str
) -> None:
    assert message in _error(_config_class(cls), data)


@pytest.mark.parametrize(
    ("cls", "data", "message"),
    [
        (
            "UNetConfig",
            {"image_size": 30},
            "image_size, channel_mults: expected image_size divisible by 2**(levels - 1) = 4 for 3 channel_mults "
            "[1, 2, 2], got image_size 30",
        ),
        (
            "UNetConfig",
            {"attention_resolutions": [3]},
            "attention_resolutions, image_size: attention_resolutions [3] are not feature-map sizes",
        ),
        (
            "NoiseScheduleConfig",
            {"beta_start": 0.05, "beta_end": 0.01},
            "beta_start, beta_end: beta_start 0.05 must not exceed beta_end 0.01",
        ),
        (
            "LatentDiffusionConfig",
            {"vae": {"latent_channels": 3}},
            "unet.in_channels, vae.latent_channels: expected them equal, got unet.in_channels 4 and "
            "vae.latent_channels 3",
        ),
    ],
)
def test_a_cross_field_rule_names_both_keys_and_values(cls: str, data: dict[str, Any], message: str) -> None:
    assert message in _error(_config_class(cls), data)


def test_a_config_built_in_python_is_checked_too() -> None:
    with pytest.raises(ConfigError, match=r"^num_timesteps: expected a number >= 1, got 0$"):
        _config_class("NoiseScheduleConfig")(num_timesteps=0)


RECIPES = [s.name for s in registry.list("recipe") if s.provider == PROVIDER]


@pytest.mark.parametrize("name", RECIPES)
def test_every_shipped_recipe_and_the_components_it_nests_stay_valid(name: str) -> None:
    load_recipe(name).check()  # nested transform tables included
