"""forge-diffusion's recipe files (TOML), registered as ``diffusion.toy2d`` and ``diffusion.digits``.

``forge train diffusion/digits`` runs one; :func:`recipe_text` reads a file without knowing where
the package is installed.
"""

from __future__ import annotations

from importlib import resources

__all__ = ["RECIPES", "recipe_text"]

RECIPES = ("toy2d", "digits")
"""Names of the shipped recipes (file ``<name>.toml``)."""


def recipe_text(name: str) -> str:
    """The TOML text of a shipped recipe.

    Raises:
        KeyError: ``name`` is not a shipped recipe.
    """
    if name not in RECIPES:
        raise KeyError(f"no recipe {name!r} in forge.diffusion.recipes; shipped: {', '.join(RECIPES)}")
    return resources.files(__name__).joinpath(f"{name}.toml").read_text(encoding="utf-8")
