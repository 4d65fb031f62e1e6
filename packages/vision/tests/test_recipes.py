"""The shipped recipes parse and name components forge-vision registers."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from forge.vision.recipes import RECIPES, recipe_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_parses_with_model_data_loss_optimizer_trainer(name: str) -> None:
    recipe = tomllib.loads(recipe_text(name))
    for section in ("model", "data", "loss", "optimizer", "scheduler", "trainer"):
        assert "name" in recipe[section] or section == "trainer", (name, section)
    assert recipe["metrics"] == ["core.accuracy"]
    assert recipe["model"]["name"].startswith("vision.")
    assert recipe["data"]["name"].startswith("vision.")


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_data_config_and_transforms_are_valid(name: str) -> None:
    from forge.core.config import structure
    from forge.vision.datasets.configs import DigitsConfig, ImageFolderConfig, ShapesConfig
    from forge.vision.transforms import transform_from_dict

    recipe = tomllib.loads(recipe_text(name))
    data = {k: v for k, v in recipe["data"].items() if k not in ("name", "batch_size", "num_workers")}
    cls = {"vision.digits": DigitsConfig, "vision.shapes": ShapesConfig, "vision.image_folder": ImageFolderConfig}
    config: Any = structure(data, cls[recipe["data"]["name"]], where="data")
    for key in ("train_transform", "eval_transform"):
        spec = getattr(config, key)
        if spec is not None:
            assert transform_from_dict(spec).to_dict()["name"] == spec["name"]


def test_imagenet_recipe_scales_lr_with_batch() -> None:
    recipe = tomllib.loads(recipe_text("imagenet_resnet50"))
    opt = recipe["optimizer"]
    assert opt["momentum"] == 0.9 and opt["weight_decay"] == 1e-4
    assert opt["lr"] == pytest.approx(0.1 * 1024 / 256)
    assert recipe["loss"]["label_smoothing"] is True and recipe["trainer"]["max_epochs"] == 90
    assert recipe["scheduler"]["warmup_steps"] == 5 * round(1_281_167 / 1024)


def test_unknown_recipe_raises() -> None:
    with pytest.raises(KeyError, match="shipped"):
        recipe_text("mnist")


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_validates_against_the_registered_components(name: str) -> None:
    from forge.core._recipe import load_recipe

    recipe = load_recipe(f"vision/{name}")
    recipe = recipe.with_num_classes(recipe.model.params.get("num_classes"))
    recipe.validate()
    resolved = recipe.to_dict()
    assert resolved["model"]["name"] == recipe.model.name
    if name == "shapes":
        assert resolved["batch_transform"]["name"] == "vision.mixup"
        assert resolved["batch_transform"]["alpha"] == 0.2
