"""Generated graph-classification data: cycles versus trees (no download)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from forge.core.data import DatasetInfo, DatasetSplits, Schema, TensorSpec, fingerprint_samples
from forge.core.errors import DataError
from forge.graph.data import Graph, GraphSample
from forge.graph.datasets.configs import CyclesTreesConfig

__all__ = ["CLASSES", "GraphList", "build_cycles_trees", "cycle_graph", "random_tree"]

CLASSES = ("tree", "cycle")
"""Label names, in label order."""


class GraphList(torch.utils.data.Dataset[GraphSample]):
    """A map-style dataset of ``(graph, target)`` samples held in memory.

    Args:
        samples: The samples.

    Raises:
        DataError: A sample is not a ``(Graph, Tensor)`` pair.
    """

    def __init__(self, samples: Sequence[GraphSample]) -> None:
        for i, s in enumerate(samples):
            if not (
                isinstance(s, tuple) and len(s) == 2 and isinstance(s[0], Graph) and isinstance(s[1], torch.Tensor)
            ):
                raise DataError(f"GraphList: sample {i} is not a (Graph, Tensor) pair")
        self.samples = list(samples)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> GraphSample:
        return self.samples[index]


def _undirected(pairs: np.ndarray[tuple[int, ...], np.dtype[np.int64]], n: int) -> Graph:
    both = np.concatenate([pairs, pairs[::-1]], axis=1)
    return Graph(x=torch.ones(n, 1), edge_index=torch.from_numpy(np.ascontiguousarray(both)))


def cycle_graph(n: int, rng: np.random.Generator) -> Graph:
    """A single cycle through ``n`` nodes in random order."""
    order = rng.permutation(n).astype(np.int64)
    return _undirected(np.stack([order, np.roll(order, -1)]), n)


def random_tree(n: int, rng: np.random.Generator) -> Graph:
    """A random recursive tree on ``n`` nodes, node labels shuffled."""
    parents = np.array([rng.integers(0, i) for i in range(1, n)], dtype=np.int64)
    relabel = rng.permutation(n).astype(np.int64)
    return _undirected(np.stack([relabel[np.arange(1, n)], relabel[parents]]), n)


def build_cycles_trees(config: CyclesTreesConfig) -> DatasetSplits:
    """Build the cycles-versus-trees graph-classification dataset.

    Returns:
        Splits of :class:`GraphList` with ``(graph, label)`` samples (label 0-d ``int64``: 0 tree, 1 cycle).

    Example:
        >>> splits = build_cycles_trees(CyclesTreesConfig(num_graphs=20))
        >>> graph, label = splits.train[0]
        >>> int(label) in (0, 1)
        True
    """
    rng = np.random.default_rng(config.seed)
    samples: list[GraphSample] = []
    for i in range(config.num_graphs):
        n = int(rng.integers(config.min_nodes, config.max_nodes + 1))
        label = i % 2
        graph = cycle_graph(n, rng) if label == 1 else random_tree(n, rng)
        samples.append(GraphSample(graph, torch.tensor(label, dtype=torch.int64)))
    order = rng.permutation(len(samples))
    n_test = int(round(len(samples) * config.test_fraction))
    n_val = int(round(len(samples) * config.val_fraction))
    test = [samples[i] for i in order[:n_test]]
    val = [samples[i] for i in order[n_test : n_test + n_val]]
    train = [samples[i] for i in order[n_test + n_val :]]
    if not train:
        raise DataError(f"cycles_trees: {config.num_graphs} graphs leave none for training")
    info = DatasetInfo(
        name="graph.cycles_trees",
        version="1",
        source="generated: cycles and random recursive trees (forge.graph.datasets.synthetic)",
        license="CC0-1.0 (synthetic)",
        fingerprint=fingerprint_samples([(s.graph.edge_index, s.target) for s in samples]),
        num_classes=len(CLASSES),
        task="graph",
        # "input" is the node-feature matrix of a graph: recipes take model.in_features from it.
        schema=Schema({"input": TensorSpec(shape=("nodes", 1), dtype="float32")}),
        extra={"level": "graph", "classes": list(CLASSES), "num_graphs": len(samples), "num_features": 1},
    )
    return DatasetSplits(
        train=GraphList(train), val=GraphList(val) if val else None, test=GraphList(test) if test else None, info=info
    )
