"""forge-graph's entry-point module (``forge.plugins``: ``graph = "forge.graph.plugin"``).

Light on purpose: it imports only core's registration API and names builders and config classes
as ``"module:attr"`` strings, so ``forge plugins`` and ``forge list`` never import torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from forge.core.hookspecs import Register, hookimpl

__all__ = [
    "FORGE_PLUGIN_API",
    "forge_register_datasets",
    "forge_register_models",
    "forge_register_recipes",
    "forge_register_transforms",
]

FORGE_PLUGIN_API = 1


class _Row(NamedTuple):
    """One component of a registration table: the arguments of :class:`forge.core.hookspecs.Register`."""

    name: str
    builder: str
    config: str | None
    summary: str
    tags: tuple[str, ...]
    defaults: Mapping[str, Any] | None = None
    example: str | None = None


def _register_rows(register: Register, rows: tuple[_Row, ...]) -> None:
    for row in rows:
        fields = row._asdict()
        # a registration error points at this line and names the component; its row is in a table below
        register(fields.pop("name"), **fields)


_M = "forge.graph.models.gnn"
_MC = "forge.graph.models.configs"
_D = "forge.graph.datasets"


def _node_classifier(name: str, defaults: Mapping[str, Any], summary: str) -> _Row:
    # one name per layer type, all built by the same node classifier
    node = ("graph", "node-classification")
    build, config, example = f"{_M}:build_node_classifier", f"{_MC}:NodeClassifierConfig", f"{_M}:example_graph"
    return _Row(name, build, config, summary, node, defaults=defaults, example=example)


_MODELS = (
    _node_classifier("gcn", {"conv": "gcn"}, "Graph convolutional network (Kipf & Welling): node classification"),
    _node_classifier(
        "gat",
        {"conv": "gat", "hidden": [8], "heads": 8, "dropout": 0.6, "attention_dropout": 0.6},
        "Graph attention network, 8 heads (Velickovic et al.): node classification",
    ),
    _node_classifier("sage", {"conv": "sage"}, "GraphSAGE (mean, max or LSTM aggregation): node classification"),
    _node_classifier("gin", {"conv": "gin", "dropout": 0.0}, "Graph isomorphism network: node classification"),
    _Row(
        "graph_classifier",
        f"{_M}:build_graph_classifier",
        f"{_MC}:GraphClassifierConfig",
        "Graph convolutions + sum/mean/max/attention readout + MLP: one class per graph",
        ("graph", "graph-classification"),
        example=f"{_M}:example_graph_batch",
    ),
    _Row(
        "link_predictor",
        f"{_M}:build_link_predictor",
        f"{_MC}:LinkPredictorConfig",
        "Graph-convolution node embeddings scored by dot product: link prediction",
        ("graph", "link-prediction"),
        example=f"{_M}:example_link_graph",
    ),
)
_DATASETS = (
    _Row(
        "karate_club",
        f"{_D}.karate:build_karate_club",
        f"{_D}.configs:KarateClubConfig",
        "Zachary's karate club (34 members, 2 factions): node classification, bundled with NetworkX",
        ("graph", "node-classification"),
    ),
    _Row(
        "sbm",
        f"{_D}.sbm:build_sbm",
        f"{_D}.configs:SBMConfig",
        "Stochastic block model with tunable homophily: node classification, generated",
        ("graph", "node-classification", "synthetic"),
    ),
    _Row(
        "cycles_trees",
        f"{_D}.synthetic:build_cycles_trees",
        f"{_D}.configs:CyclesTreesConfig",
        "Cycles versus trees: graph classification, generated",
        ("graph", "graph-classification", "synthetic"),
    ),
    _Row(
        "edge_list",
        f"{_D}.edgelist:build_edge_list",
        f"{_D}.configs:EdgeListConfig",
        "Node classification from a CSV edge list and a CSV of node labels",
        ("graph", "node-classification", "files"),
    ),
)
_TRANSFORMS = (
    _Row(
        "gcn_norm",
        "forge.graph.transforms.gcn_norm:GCNNorm",
        "forge.graph.transforms.configs:GCNNormConfig",
        "GCN normalized adjacency D^-1/2 (A + I) D^-1/2 as a sparse COO tensor",
        ("graph", "normalization"),
    ),
)
# recipes are package resources ("package:file.toml") and have no config class
_RECIPES = (
    _Row(
        "karate",
        "forge.graph.recipes:karate.toml",
        None,
        "GCN on the karate club, 5 labelled members per faction: semi-supervised node classification",
        ("graph", "node-classification", "quickstart"),
    ),
    _Row(
        "sbm",
        "forge.graph.recipes:sbm.toml",
        None,
        "GCN on a 600-node stochastic block model (homophily 0.8), 20 labels per class",
        ("graph", "node-classification"),
    ),
    _Row(
        "graph-classification",
        "forge.graph.recipes:graph-classification.toml",
        None,
        "GIN with sum readout on cycles versus trees",
        ("graph", "graph-classification"),
    ),
)


@hookimpl
def forge_register_models(register: Register) -> None:
    """Register the node classifiers (one name per layer type), the graph classifier and the link predictor."""
    _register_rows(register, _MODELS)


@hookimpl
def forge_register_datasets(register: Register) -> None:
    """Register the karate club, the SBM generator, cycles-vs-trees and the CSV edge-list loader."""
    _register_rows(register, _DATASETS)


@hookimpl
def forge_register_transforms(register: Register) -> None:
    """Register the GCN adjacency normalization."""
    _register_rows(register, _TRANSFORMS)


@hookimpl
def forge_register_recipes(register: Register) -> None:
    """Register the shipped recipes (``forge train graph/karate`` and so on)."""
    _register_rows(register, _RECIPES)
