"""A stochastic block model node-classification dataset with tunable homophily (generated, no download)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from forge.core.data import DatasetInfo, DatasetSplits, Schema, TensorSpec, fingerprint_samples
from forge.graph.data import Graph, NodeSplit
from forge.graph.datasets.configs import SBMConfig

__all__ = ["build_sbm", "sbm_edges", "sbm_graph"]


def sbm_edges(
    labels: np.ndarray[Any, Any], p_in: float, p_out: float, rng: np.random.Generator
) -> np.ndarray[Any, Any]:
    """Undirected SBM edges (both directions, no loops, no duplicates) as a ``(2, E)`` int64 array.

    For every pair of communities the edge count is drawn from its binomial, then that many
    distinct node pairs are drawn uniformly, so the cost grows with the edges, not with ``N^2``.
    """
    groups = [np.flatnonzero(labels == k) for k in np.unique(labels)]
    chunks = []
    for a, ga in enumerate(groups):
        for b in range(a, len(groups)):
            gb = groups[b]
            p = p_in if a == b else p_out
            pairs = ga.size * (ga.size - 1) // 2 if a == b else ga.size * gb.size
            count = int(rng.binomial(pairs, min(p, 1.0))) if pairs else 0
            if count == 0:
                continue
            # Oversample, drop loops and duplicates, keep `count` distinct pairs.
            u = ga[rng.integers(0, ga.size, size=2 * count + 16)]
            v = gb[rng.integers(0, gb.size, size=2 * count + 16)]
            keep = u != v
            lo, hi = np.minimum(u[keep], v[keep]), np.maximum(u[keep], v[keep])
            uniq = np.unique(lo * labels.size + hi)
            uniq = uniq[rng.permutation(uniq.size)[:count]]
            chunks.append(np.stack([uniq // labels.size, uniq % labels.size]))
    if not chunks:
        return np.zeros((2, 0), dtype=np.int64)
    und = np.concatenate(chunks, axis=1)
    both = np.concatenate([und, und[::-1]], axis=1)
    order = np.lexsort((both[1], both[0]))
    return both[:, order].astype(np.int64)


def sbm_graph(config: SBMConfig) -> Graph:
    """The SBM graph with features and labels (no masks)."""
    rng = np.random.default_rng(config.seed)
    n, k = config.num_nodes, config.num_classes
    labels = np.arange(n) % k
    labels = labels[rng.permutation(n)]
    size = n / k
    p_in = config.homophily * config.average_degree / max(size - 1, 1)
    p_out = (1 - config.homophily) * config.average_degree / max(n - size, 1)
    edge_index = sbm_edges(labels, p_in, p_out, rng)
    centers = rng.standard_normal((k, config.num_features))
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    x = config.feature_signal * centers[labels] + rng.standard_normal((n, config.num_features))
    return Graph(
        x=torch.from_numpy(x.astype(np.float32)),
        edge_index=torch.from_numpy(edge_index),
        y=torch.from_numpy(labels.astype(np.int64)),
    )


def build_sbm(config: SBMConfig) -> DatasetSplits:
    """Build the SBM node-classification dataset.

    ``train_per_class`` labelled nodes per community train; of the rest, ``val_fraction`` validate
    and the others test (the semi-supervised setting of Planetoid-style benchmarks).

    Returns:
        Splits of :class:`NodeSplit` (one full-graph ``(graph, target)`` sample each); with
        ``fanouts`` the training split is a :class:`forge.graph.sampling.NeighborSampler` over the
        training nodes instead.

    Example:
        >>> splits = build_sbm(SBMConfig(num_nodes=60, train_per_class=5))
        >>> splits.info.num_classes
        3
    """
    graph = sbm_graph(config)
    assert graph.y is not None  # sbm_graph always sets labels
    rng = np.random.default_rng(config.seed + 1)
    labels = graph.y.numpy()
    train = np.zeros(labels.size, dtype=bool)
    for c in range(config.num_classes):
        idx = np.flatnonzero(labels == c)
        train[rng.choice(idx, size=min(config.train_per_class, idx.size), replace=False)] = True
    rest = np.flatnonzero(~train)
    rest = rest[rng.permutation(rest.size)]
    n_val = int(round(rest.size * config.val_fraction))
    val = np.zeros_like(train)
    val[rest[:n_val]] = True
    test = ~(train | val)
    masks = [torch.from_numpy(m) for m in (train, val, test)]
    graph = graph.replace(train_mask=masks[0], val_mask=masks[1], test_mask=masks[2])
    info = DatasetInfo(
        name="graph.sbm",
        version="1",
        source="generated: stochastic block model (forge.graph.datasets.sbm)",
        license="CC0-1.0 (synthetic)",
        fingerprint=fingerprint_samples([(graph.x, graph.edge_index, graph.y, *masks)]),
        num_classes=config.num_classes,
        task="graph",
        # "input" is the node-feature matrix of a graph: recipes take model.in_features from it.
        schema=Schema({"input": TensorSpec(shape=("nodes", graph.num_features), dtype="float32")}),
        extra={
            "level": "node",
            "num_nodes": graph.num_nodes,
            "num_edges": graph.num_edges,
            "num_features": graph.num_features,
            "homophily": config.homophily,
        },
    )
    train_split: torch.utils.data.Dataset[Any] = NodeSplit(graph, masks[0])
    if config.fanouts:
        from forge.graph.sampling import NeighborSampler

        train_split = NeighborSampler(graph, config.fanouts, seeds=masks[0])
    return DatasetSplits(
        train=train_split,
        val=NodeSplit(graph, masks[1]) if bool(masks[1].any()) else None,
        test=NodeSplit(graph, masks[2]) if bool(masks[2].any()) else None,
        info=info,
    )
