"""Zachary's karate club (W. W. Zachary, 1977), from the copy NetworkX ships: no download.

The club split in two after a dispute; each member's label is the faction they joined
(0: "Mr. Hi", the instructor's; 1: "Officer", the administrator's). The task is transductive node
classification: the whole graph is visible and a few labelled members predict the rest.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from forge.core.data import DatasetInfo, DatasetSplits, Schema, TensorSpec, fingerprint_samples
from forge.core.errors import DataError
from forge.graph.data import Graph, NodeSplit
from forge.graph.datasets.configs import KarateClubConfig

__all__ = ["FACTIONS", "build_karate_club", "karate_club_graph", "stratified_node_masks"]

FACTIONS = ("Mr. Hi", "Officer")
"""Label names, in label order."""


def karate_club_graph(config: KarateClubConfig) -> Graph:
    """The karate club as a :class:`Graph` (both directions of each edge, no masks).

    Args:
        config: Feature and weighting choices (the split fields are not used here).

    Returns:
        The graph with features ``x``, ``edge_index`` (sorted), optional ``edge_weight`` and labels ``y``.

    Raises:
        DataError: NetworkX's copy lacks a member's faction.
    """
    import networkx as nx

    g = nx.karate_club_graph()
    nodes = sorted(g.nodes)
    n = len(nodes)
    labels = []
    for node in nodes:
        club = g.nodes[node].get("club")
        if club not in FACTIONS:
            raise DataError(f"karate_club: node {node} has faction {club!r}, expected one of {FACTIONS}")
        labels.append(FACTIONS.index(club))
    pairs: list[tuple[int, int, float]] = []
    for u, v, data in g.edges(data=True):
        w = float(data.get("weight", 1.0)) if config.weighted else 1.0
        pairs.extend([(u, v, w), (v, u, w)])
    pairs.sort()
    edge_index = torch.tensor([[p[0] for p in pairs], [p[1] for p in pairs]], dtype=torch.int64)
    weight = torch.tensor([p[2] for p in pairs], dtype=torch.float32) if config.weighted else None
    if config.features == "identity":
        x = torch.eye(n)
    else:
        x = torch.bincount(edge_index[0], minlength=n).to(torch.float32).unsqueeze(1)
    return Graph(x=x, edge_index=edge_index, edge_weight=weight, y=torch.tensor(labels, dtype=torch.int64))


def stratified_node_masks(
    labels: np.ndarray[Any, Any], val_fraction: float, test_fraction: float, seed: int
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Boolean train/val/test masks that keep each class's share in every split.

    Each class is shuffled by a numpy generator seeded with ``seed`` and cut at rounded fractions
    of its size, so the masks depend only on the labels and the seed.

    Args:
        labels: Integer labels, one per node.
        val_fraction: Share of each class for validation.
        test_fraction: Share of each class for testing.
        seed: Shuffle seed.

    Returns:
        Three disjoint bool arrays covering every node.

    Raises:
        DataError: A class would be left with no training node.
    """
    rng = np.random.default_rng(seed)
    masks = tuple(np.zeros(labels.shape[0], dtype=bool) for _ in range(3))
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        idx = idx[rng.permutation(idx.size)]
        n_test = int(round(idx.size * test_fraction))
        n_val = int(round(idx.size * val_fraction))
        if idx.size - n_test - n_val < 1:
            raise DataError(f"class {cls} has {idx.size} nodes: too few to keep one for training")
        masks[2][idx[:n_test]] = True
        masks[1][idx[n_test : n_test + n_val]] = True
        masks[0][idx[n_test + n_val :]] = True
    return masks[0], masks[1], masks[2]


def build_karate_club(config: KarateClubConfig) -> DatasetSplits:
    """Build the karate club node-classification dataset.

    Args:
        config: Features, weighting and split.

    Returns:
        Splits whose datasets are :class:`NodeSplit` (one ``(graph, target)`` sample each; val/test
        are None when their fraction is 0). The graph carries all three masks.

    Example:
        >>> splits = build_karate_club(KarateClubConfig())
        >>> graph, target = splits.train[0]
        >>> graph.num_nodes, graph.num_edges
        (34, 156)
    """
    graph = karate_club_graph(config)
    assert graph.y is not None  # karate_club_graph always sets labels
    train, val, test = (
        torch.from_numpy(m)
        for m in stratified_node_masks(graph.y.numpy(), config.val_fraction, config.test_fraction, config.seed)
    )
    graph = graph.replace(train_mask=train, val_mask=val, test_mask=test)
    tensors = [graph.x, graph.edge_index, graph.y, train, val, test]
    if graph.edge_weight is not None:
        tensors.append(graph.edge_weight)
    info = DatasetInfo(
        name="graph.karate_club",
        version="1977",
        source="networkx.karate_club_graph (Zachary, J. Anthropological Research 33(4), 1977)",
        license="BSD-3-Clause (as distributed with NetworkX)",
        fingerprint=fingerprint_samples([tuple(tensors)]),
        num_classes=len(FACTIONS),
        task="graph",
        # "input" is the node-feature matrix of a graph: recipes take model.in_features from it.
        schema=Schema({"input": TensorSpec(shape=("nodes", graph.num_features), dtype="float32")}),
        extra={
            "level": "node",
            "classes": list(FACTIONS),
            "num_nodes": graph.num_nodes,
            "num_edges": graph.num_edges,
            "num_features": graph.num_features,
        },
    )
    return DatasetSplits(
        train=NodeSplit(graph, train),
        val=NodeSplit(graph, val) if bool(val.any()) else None,
        test=NodeSplit(graph, test) if bool(test.any()) else None,
        info=info,
    )
