"""Link prediction data: held-out edges, negative sampling and ``(graph, target)`` link samples.

A link sample is the message-passing graph with ``edge_label_index`` set to the node pairs to
score, and a float target (1 for an edge, 0 for a sampled non-edge), which
:class:`forge.graph.models.gnn.LinkPredictor` and ``BCEWithLogitsLoss`` consume directly.
"""

from __future__ import annotations

import torch
from torch import Tensor

from forge.core.errors import DataError
from forge.graph.data import Graph, GraphSample

__all__ = ["LinkSplit", "negative_sampling", "split_edges"]


def negative_sampling(
    edge_index: Tensor, num_nodes: int, num_samples: int, *, generator: torch.Generator | None = None
) -> Tensor:
    """Draw node pairs uniformly among those that are not edges (nor self loops).

    Args:
        edge_index: ``(2, E)`` existing edges (both directions of undirected ones).
        num_nodes: Number of nodes.
        num_samples: Pairs wanted.
        generator: Random generator, or None for torch's global one.

    Returns:
        ``(2, num_samples)`` distinct non-edges.

    Raises:
        DataError: The graph has fewer than ``num_samples`` non-edges.
    """
    free = num_nodes * (num_nodes - 1) - torch.unique(edge_index[0] * num_nodes + edge_index[1]).numel()
    if num_samples > free:
        raise DataError(f"negative_sampling: {num_samples} pairs wanted but the graph has only {free} non-edges")
    existing = torch.unique(edge_index[0] * num_nodes + edge_index[1])
    chosen = torch.zeros(0, dtype=torch.int64)
    while chosen.numel() < num_samples:
        draw = torch.randint(0, num_nodes * num_nodes, (2 * (num_samples - chosen.numel()) + 16,), generator=generator)
        draw = draw[(draw // num_nodes) != (draw % num_nodes)]
        pos = torch.searchsorted(existing, draw).clamp_(max=max(existing.numel() - 1, 0))
        if existing.numel():
            draw = draw[existing[pos] != draw]
        merged = torch.cat([chosen, draw])
        # keep the first occurrence of every pair, in draw order
        uniq, inverse = torch.unique(merged, return_inverse=True)
        first = torch.full((uniq.numel(),), merged.numel(), dtype=torch.int64)
        first = first.scatter_reduce(0, inverse, torch.arange(merged.numel()), reduce="amin")
        chosen = merged[torch.sort(first).values]
    chosen = chosen[:num_samples]
    return torch.stack([chosen // num_nodes, chosen % num_nodes])


def split_edges(graph: Graph, val_fraction: float, test_fraction: float, seed: int) -> tuple[Graph, Tensor, Tensor]:
    """Hold out undirected edges for validation and testing.

    Args:
        graph: An undirected graph (both directions of each edge present).
        val_fraction: Share of undirected edges held out for validation.
        test_fraction: Share held out for testing.
        seed: Shuffle seed.

    Returns:
        The training graph (held-out edges removed in both directions), and the validation and
        test positive pairs ``(2, k)`` (one direction each).

    Raises:
        DataError: The graph is not undirected, or the fractions leave no training edge.
    """
    if not graph.is_undirected():
        raise DataError("split_edges: the graph must be undirected (every edge with its reverse)")
    src, dst = graph.edge_index
    upper = src < dst
    pairs = torch.stack([src[upper], dst[upper]])
    order = torch.randperm(pairs.shape[1], generator=torch.Generator().manual_seed(seed))
    n_test = int(round(pairs.shape[1] * test_fraction))
    n_val = int(round(pairs.shape[1] * val_fraction))
    if pairs.shape[1] - n_test - n_val < 1:
        raise DataError(f"split_edges: {pairs.shape[1]} edges leave none for training")
    test, val, train = (
        pairs[:, order[:n_test]],
        pairs[:, order[n_test : n_test + n_val]],
        pairs[:, order[n_test + n_val :]],
    )
    loops = graph.edge_index[:, src == dst]
    message = torch.cat([train, train.flip(0), loops], dim=1)
    return Graph(x=graph.x, edge_index=message, y=graph.y), val, test


class LinkSplit(torch.utils.data.Dataset[GraphSample]):
    """One split of a link-prediction task: a single sample of positive and negative pairs.

    Args:
        graph: The message-passing graph (training edges only).
        positives: ``(2, k)`` pairs that are edges.
        known: Every edge known to exist (so that no negative is a real edge), ``(2, E)``.
        resample: Draw fresh negatives each time the sample is read (training); off, they are
            drawn once from ``seed`` (validation and testing).
        seed: Seed of the fixed negatives.

    Raises:
        DataError: A positive pair names a node outside the graph.
    """

    def __init__(self, graph: Graph, positives: Tensor, known: Tensor, *, resample: bool, seed: int = 0) -> None:
        if positives.numel() and int(positives.max()) >= graph.num_nodes:
            raise DataError(f"LinkSplit: a positive pair names a node outside 0..{graph.num_nodes - 1}")
        self.graph, self.positives, self.known, self.resample = graph, positives, known, resample
        self._fixed = None if resample else self._negatives(torch.Generator().manual_seed(seed))

    def _negatives(self, generator: torch.Generator | None) -> Tensor:
        return negative_sampling(self.known, self.graph.num_nodes, self.positives.shape[1], generator=generator)

    def __len__(self) -> int:
        return 1

    def __getitem__(self, index: int) -> GraphSample:
        """The sample: the graph with ``edge_label_index`` (positives then negatives) and 1/0 targets.

        Raises:
            IndexError: ``index`` is not 0 (or -1).
        """
        if index not in (0, -1):
            raise IndexError(f"a link split holds one sample; index {index} is out of range")
        negatives = self._negatives(None) if self._fixed is None else self._fixed
        pairs = torch.cat([self.positives, negatives], dim=1)
        target = torch.cat([torch.ones(self.positives.shape[1]), torch.zeros(negatives.shape[1])])
        return GraphSample(self.graph.replace(edge_label_index=pairs), target)
