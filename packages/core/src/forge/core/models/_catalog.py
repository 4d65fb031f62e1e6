"""Registrations of core's models and recipes (light: strings only, no torch)."""

from __future__ import annotations

from forge.core.hookspecs import Register

__all__ = ["register_models", "register_recipes"]


def register_models(register: Register) -> None:
    """Register ``core.mlp``."""
    register(
        "mlp",
        builder="forge.core.models._mlp:build_mlp",
        config="forge.core.models._configs:MLPConfig",
        summary="Multi-layer perceptron for vector inputs",
        tags=("classification", "regression", "tabular-classification", "mlp"),
        example="forge.core.models._mlp:example_input",
    )


def register_recipes(register: Register) -> None:
    """Register the ``core.mlp`` recipe: an MLP on the synthetic classification data."""
    register(
        "mlp",
        builder="forge.core.recipes:mlp.toml",
        summary="Small MLP on synthetic Gaussian clusters (runs on CPU in seconds, no download)",
        tags=("classification",),
    )
