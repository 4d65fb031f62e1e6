"""forge-graph's recipe files (TOML), registered as ``graph.karate``, ``graph.sbm`` and
``graph.graph-classification``; ``forge train graph/karate`` runs one.
"""

from __future__ import annotations

from importlib import resources

__all__ = ["RECIPES", "recipe_text"]

RECIPES = ("karate", "sbm", "graph-classification")
"""Names of the shipped recipes (file ``<name>.toml``)."""


def recipe_text(name: str) -> str:
    """The TOML text of a shipped recipe.

    Raises:
        KeyError: if ``name`` is not a shipped recipe.
    """
    if name not in RECIPES:
        raise KeyError(f"no recipe {name!r} in forge.graph.recipes; shipped: {', '.join(RECIPES)}")
    return resources.files(__name__).joinpath(f"{name}.toml").read_text(encoding="utf-8")
