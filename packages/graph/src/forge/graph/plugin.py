"""forge-graph's entry-point module (``forge.plugins``: ``graph = "forge.graph.plugin"``).

Light on purpose: it imports only core's registration API and names builders and config classes
as ``"module:attr"`` strings, so ``forge plugins`` and ``forge list`` never import torch.
"""

from __future__ import annotations

from forge.core.hookspecs import Register, hookimpl

__all__ = [
    "FORGE_PLUGIN_API",
    "forge_register_datasets",
    "forge_register_models",
    "forge_register_recipes",
    "forge_register_transforms",
]

FORGE_PLUGIN_API = 1

_M = "forge.graph.models.gnn"
_MC = "forge.graph.models.configs"
_D = "forge.graph.datasets"


@hookimpl
def forge_register_models(register: Register) -> None:
    """Register the node classifiers (one name per layer type), the graph classifier and the link predictor."""
    node = ("graph", "node-classification")
    variants = (
        ("gcn", {"conv": "gcn"}, "Graph convolutional network (Kipf & Welling): node classification"),
        (
            "gat",
            {"conv": "gat", "hidden": [8], "heads": 8, "dropout": 0.6, "attention_dropout": 0.6},
            "Graph attention network, 8 heads (Velickovic et al.): node classification",
        ),
        ("sage", {"conv": "sage"}, "GraphSAGE (mean, max or LSTM aggregation): node classification"),
        ("gin", {"conv": "gin", "dropout": 0.0}, "Graph isomorphism network: node classification"),
    )
    for name, defaults, summary in variants:
        register(
            name,
            builder=f"{_M}:build_node_classifier",
            config=f"{_MC}:NodeClassifierConfig",
            defaults=defaults,
            summary=summary,
            tags=node,
            example=f"{_M}:example_graph",
        )
    register(
        "graph_classifier",
        builder=f"{_M}:build_graph_classifier",
        config=f"{_MC}:GraphClassifierConfig",
        summary="Graph convolutions + sum/mean/max/attention readout + MLP: one class per graph",
        tags=("graph", "graph-classification"),
        example=f"{_M}:example_graph_batch",
    )
    register(
        "link_predictor",
        builder=f"{_M}:build_link_predictor",
        config=f"{_MC}:LinkPredictorConfig",
        summary="Graph-convolution node embeddings scored by dot product: link prediction",
        tags=("graph", "link-prediction"),
        example=f"{_M}:example_link_graph",
    )


@hookimpl
def forge_register_datasets(register: Register) -> None:
    """Register the karate club, the SBM generator, cycles-vs-trees and the CSV edge-list loader."""
    register(
        "karate_club",
        builder=f"{_D}.karate:build_karate_club",
        config=f"{_D}.configs:KarateClubConfig",
        summary="Zachary's karate club (34 members, 2 factions): node classification, bundled with NetworkX",
        tags=("graph", "node-classification"),
    )
    register(
        "sbm",
        builder=f"{_D}.sbm:build_sbm",
        config=f"{_D}.configs:SBMConfig",
        summary="Stochastic block model with tunable homophily: node classification, generated",
        tags=("graph", "node-classification", "synthetic"),
    )
    register(
        "cycles_trees",
        builder=f"{_D}.synthetic:build_cycles_trees",
        config=f"{_D}.configs:CyclesTreesConfig",
        summary="Cycles versus trees: graph classification, generated",
        tags=("graph", "graph-classification", "synthetic"),
    )
    register(
        "edge_list",
        builder=f"{_D}.edgelist:build_edge_list",
        config=f"{_D}.configs:EdgeListConfig",
        summary="Node classification from a CSV edge list and a CSV of node labels",
        tags=("graph", "node-classification", "files"),
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


@hookimpl
def forge_register_recipes(register: Register) -> None:
    """Register the shipped recipes (``forge train graph/karate`` and so on)."""
    register(
        "karate",
        builder="forge.graph.recipes:karate.toml",
        summary="GCN on the karate club, 5 labelled members per faction: semi-supervised node classification",
        tags=("graph", "node-classification", "quickstart"),
    )
    register(
        "sbm",
        builder="forge.graph.recipes:sbm.toml",
        summary="GCN on a 600-node stochastic block model (homophily 0.8), 20 labels per class",
        tags=("graph", "node-classification"),
    )
    register(
        "graph-classification",
        builder="forge.graph.recipes:graph-classification.toml",
        summary="GIN with sum readout on cycles versus trees",
        tags=("graph", "graph-classification"),
    )
