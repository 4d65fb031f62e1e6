"""forge-nlp's recipe files (TOML), registered as ``nlp.<name>``; ``forge train nlp/char-lm`` runs one.

The files are package resources; :func:`recipe_text` reads one without knowing where the package is
installed, and :data:`RECIPES` lists every ``*.toml`` shipped here.
"""

from __future__ import annotations

from importlib import resources

__all__ = ["RECIPES", "recipe_text"]

RECIPES: tuple[str, ...] = tuple(
    sorted(p.name[: -len(".toml")] for p in resources.files(__name__).iterdir() if p.name.endswith(".toml"))
)
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
        raise KeyError(f"no recipe {name!r} in forge.nlp.recipes; shipped: {', '.join(RECIPES)}")
    return resources.files(__name__).joinpath(f"{name}.toml").read_text(encoding="utf-8")
