"""forge-vision's recipe files (TOML), registered as ``vision.digits``, ``vision.shapes`` and
``vision.imagenet_resnet50``; ``forge train vision/digits`` runs one.

The files are package resources; :func:`recipe_text` reads one without knowing where the package is
installed.
"""

from __future__ import annotations

from importlib import resources

__all__ = ["RECIPES", "recipe_text"]

RECIPES = ("digits", "shapes", "imagenet_resnet50")
"""Names of the shipped recipes (file ``<name>.toml``)."""


def recipe_text(name: str) -> str:
    """The TOML text of a shipped recipe.

    Args:
        name: One of :data:`RECIPES`.

    Returns:
        The file's text.

    Raises:
        KeyError: if ``name`` is not a shipped recipe.
    """
    if name not in RECIPES:
        raise KeyError(f"no recipe {name!r} in forge.vision.recipes; shipped: {', '.join(RECIPES)}")
    return resources.files(__name__).joinpath(f"{name}.toml").read_text(encoding="utf-8")
