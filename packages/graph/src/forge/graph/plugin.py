"""forge-graph's entry-point module (``forge.plugins``: ``graph = "forge.graph.plugin"``).

Light on purpose: it imports only core's registration API and names builders and config classes
as ``"module:attr"`` strings, so ``forge plugins`` and ``forge list`` never import torch.
"""

from __future__ import annotations

from forge.core.hookspecs import Register, hookimpl

__all__ = ["FORGE_PLUGIN_API", "forge_register_datasets", "forge_register_transforms"]

FORGE_PLUGIN_API = 1


@hookimpl
def forge_register_datasets(register: Register) -> None:
    """Register Zachary's karate club."""
    register(
        "karate_club",
        builder="forge.graph.datasets.karate:build_karate_club",
        config="forge.graph.datasets.configs:KarateClubConfig",
        summary="Zachary's karate club (34 members, 2 factions): node classification, bundled with NetworkX",
        tags=("graph", "node-classification"),
    )


@hookimpl
def forge_register_transforms(register: Register) -> None:
    """Register the GCN adjacency normalization."""
    register(
        "gcn_norm",
        builder="forge.graph.transforms.gcn_norm:GCNNorm",
        config="forge.graph.transforms.configs:GCNNormConfig",
        summary="GCN normalized adjacency D^-1/2 (A + I) D^-1/2 as a sparse COO tensor",
        tags=("graph", "normalization"),
    )
