"""The entry-point module stays light and registers what the package provides."""

from __future__ import annotations

import importlib
import subprocess
import sys
from typing import Any

import pytest


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, name: str, **kwargs: Any) -> None:
        self.calls.append((name, kwargs))


def test_plugin_and_config_modules_import_without_torch() -> None:
    code = (
        "import sys\n"
        "import forge.vision, forge.vision.plugin\n"
        "import forge.vision.transforms.configs, forge.vision.augment.configs, forge.vision.datasets.configs\n"
        "import forge.vision.transforms, forge.vision.augment, forge.vision.datasets, forge.vision.explain\n"
        "import forge.vision.explain.command, forge.vision.recipes\n"
        "from forge.vision.plugin import forge_register_datasets, forge_register_transforms\n"
        "forge_register_datasets(lambda *a, **k: None); forge_register_transforms(lambda *a, **k: None)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "assert forge.vision.plugin.FORGE_PLUGIN_API == 1\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    ("hook", "expected"),
    [
        ("forge_register_datasets", {"digits", "shapes", "image_folder"}),
        ("forge_register_losses", {"soft_target_cross_entropy"}),
        ("forge_register_recipes", {"digits", "shapes", "imagenet_resnet50"}),
    ],
)
def test_hooks_register_the_expected_names(hook: str, expected: set[str]) -> None:
    plugin = importlib.import_module("forge.vision.plugin")
    rec = _Recorder()
    getattr(plugin, hook)(rec)
    assert {name for name, _ in rec.calls} == expected


def test_every_registered_builder_and_config_resolves_and_builds_with_defaults() -> None:
    from forge.core.config import structure

    plugin = importlib.import_module("forge.vision.plugin")
    rec = _Recorder()
    for hook in ("forge_register_datasets", "forge_register_transforms", "forge_register_losses"):
        getattr(plugin, hook)(rec)
    names = {name for name, _ in rec.calls}
    assert {"mixup", "cutmix", "compose", "resize", "trivial_augment", "rand_augment", "color_jitter"} <= names
    for name, kw in rec.calls:
        mod, _, attr = kw["builder"].partition(":")
        builder = getattr(importlib.import_module(mod), attr)
        cmod, _, cattr = kw["config"].partition(":")
        config_cls = getattr(importlib.import_module(cmod), cattr)
        assert callable(builder), name
        required = {
            "resize": {"size": [4]},
            "center_crop": {"size": [4, 4]},
            "random_resized_crop": {"size": [4, 4]},
            "normalize": {"mean": [0.5], "std": [0.5]},
            "mixup": {"num_classes": 3},
            "cutmix": {"num_classes": 3},
            "image_folder": None,
            "digits": None,
            "shapes": None,
        }.get(name, {})
        if required is None:
            continue  # datasets are built in test_datasets.py
        built = builder(structure(required, config_cls, where=name))
        assert built is not None, name


def test_listing_and_describing_the_components_stays_light() -> None:
    from forge.core.testing import check_light_listing

    # what forge plugins, forge list and forge info do, in a fresh interpreter: no torch, no builders
    check_light_listing("vision")
