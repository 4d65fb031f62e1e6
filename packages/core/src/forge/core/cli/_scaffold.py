"""``forge new-plugin``: write a complete, installable plugin package to start from."""

from __future__ import annotations

import re
from pathlib import Path

import click

from forge.core._atomic import atomic_directory
from forge.core._plugins import core_version

__all__ = ["new_plugin_command", "write_plugin"]

_FILES: dict[str, str] = {
    "pyproject.toml": """\
[build-system]
requires = ["hatchling>=1.21"]
build-backend = "hatchling.build"

[project]
name = "{dist}"
version = "0.1.0"
description = "A forge plugin: {name}"
readme = "README.md"
requires-python = ">=3.10"
dependencies = ["forge-core{core_range}", "torch>=2.4,<3"]

[project.optional-dependencies]
test = ["pytest>=7"]

[project.entry-points."forge.plugins"]
{name} = "{module}.plugin"

[tool.hatch.build.targets.wheel]
packages = ["src/{module}"]
""",
    "README.md": """\
# {dist}

A forge plugin. It registers the model `{name}.tiny_cnn`.

```bash
pip install -e .[test]
forge plugins            # shows {name}
forge info {name}.tiny_cnn
pytest
```
""",
    "src/{module}/__init__.py": '''\
"""The {name} forge plugin."""
''',
    "src/{module}/py.typed": "",
    "src/{module}/plugin.py": '''\
"""Entry point of the {name} plugin: registration only, no torch import (listing stays fast)."""

from __future__ import annotations

from forge.core.hookspecs import Register, hookimpl

FORGE_PLUGIN_API = 1


@hookimpl
def forge_register_models(register: Register) -> None:
    register(
        "tiny_cnn",
        builder="{module}.models:build_tiny_cnn",
        config="{module}.configs:TinyCNNConfig",
        summary="A two-layer CNN for small images",
        tags=("image-classification", "cnn"),
        example="{module}.models:example_input",
    )
''',
    "src/{module}/configs.py": '''\
"""Config classes: attrs only, no torch, so `forge info` can show them cheaply."""

from __future__ import annotations

import attrs
from forge.core.config import field


@attrs.frozen
class TinyCNNConfig:
    """Configuration of :func:`{module}.models.build_tiny_cnn`."""

    in_channels: int = field(1, help="Channels of the input images.")
    num_classes: int = field(10, help="Number of output classes.")
    width: int = field(16, help="Channels of the first convolution; the second has twice as many.")
''',
    "src/{module}/models.py": '''\
"""The model code, imported only when the model is built."""

from __future__ import annotations

import torch
from torch import nn

from {module}.configs import TinyCNNConfig


def build_tiny_cnn(config: TinyCNNConfig) -> nn.Module:
    """Build the tiny CNN described by ``config``."""
    w = config.width
    return nn.Sequential(
        nn.Conv2d(config.in_channels, w, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(w, 2 * w, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(2 * w, config.num_classes),
    )


def example_input(config: TinyCNNConfig) -> torch.Tensor:
    """A small batch the conformance kit runs forward and backward."""
    return torch.randn(2, config.in_channels, 8, 8)
''',
    "tests/test_plugin.py": '''\
"""The plugin's own tests: forge's conformance kit checks every registered component."""

from __future__ import annotations

import pytest
from forge.core import registry
from forge.core.testing import check_component, check_light_listing, components_of


@pytest.mark.parametrize("spec", components_of("{name}"), ids=lambda s: s.name)
def test_component_conforms(spec):
    check_component(spec)


def test_listing_stays_light():
    # forge plugins / list / info must import neither torch nor the model code (a fresh interpreter)
    check_light_listing("{name}", forbidden=("torch", "click"))


def test_registered_and_buildable():
    model = registry.build("model", "{name}.tiny_cnn", num_classes=3)
    assert model[-1].out_features == 3
''',
}


def write_plugin(name: str, directory: Path) -> Path:
    """Write a plugin package called ``name`` into ``directory/forge-<name>``.

    Args:
        name: The plugin's entry-point name (lowercase letters, digits and underscores).
        directory: Where to create the package folder.

    Returns:
        The package folder.

    Raises:
        click.BadParameter: the name is not a valid plugin name, or the folder exists already.
    """
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise click.BadParameter(f"{name!r}: use lowercase letters, digits and underscores, starting with a letter")
    dist = f"forge-{name.replace('_', '-')}"
    module = f"forge_{name}"
    major, minor = (int(part) for part in core_version().split(".")[:2])
    core_range = f">={major}.{minor},<{major}.{minor + 1}"  # the minor series this core belongs to
    root = directory / dist
    try:
        # All files or none: an interrupted write leaves no half package that blocks the next try.
        with atomic_directory(root, durable=False) as tmp:
            for rel, template in _FILES.items():
                path = tmp / rel.format(module=module)
                path.parent.mkdir(parents=True, exist_ok=True)
                text = template.format(name=name, dist=dist, module=module, core_range=core_range)
                path.write_text(text, encoding="utf-8")
    except FileExistsError:
        raise click.BadParameter(f"{root} exists already; choose another name or folder") from None
    return root


@click.command("new-plugin")
@click.argument("name")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder to create the package in.",
)
def new_plugin_command(name: str, directory: Path) -> None:
    """Write an installable plugin package NAME: pyproject with the entry point, an example model
    registered through the models hook, and tests that run forge's conformance kit on it."""
    root = write_plugin(name, directory)
    click.echo(f"wrote {root}\nnext: pip install -e '{root}[test]' && pytest {root}")
