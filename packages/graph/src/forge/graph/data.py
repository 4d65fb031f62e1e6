"""The graph value type: node features, edges, labels and split masks as tensors.

Edges are directed pairs in ``edge_index`` (row 0 the source, row 1 the target), the layout
PyTorch Geometric uses, so an undirected graph lists each edge in both directions.
"""

from __future__ import annotations

from typing import Any

import attrs
import torch
from torch import Tensor

from forge.core.errors import DataError

__all__ = ["IGNORE_INDEX", "Graph", "NodeSplit"]

IGNORE_INDEX = -100
"""Target value of nodes outside a split: ``torch.nn.CrossEntropyLoss``'s default ``ignore_index``."""

_MASKS = ("train_mask", "val_mask", "test_mask")


@attrs.frozen(eq=False)
class Graph:
    """One graph, checked for consistency when made.

    Attributes:
        x: Node features ``(num_nodes, num_features)``, floating point.
        edge_index: ``(2, num_edges)`` ``int64`` source/target node indices.
        edge_weight: ``(num_edges,)`` floating-point edge weights, or None (all 1).
        y: Node labels ``(num_nodes,)`` ``int64``, or None.
        train_mask: ``(num_nodes,)`` bool mask of the training nodes, or None.
        val_mask: Likewise for validation.
        test_mask: Likewise for testing.
        adj: A precomputed ``(num_nodes, num_nodes)`` (usually sparse) adjacency such as
            :class:`forge.graph.transforms.GCNNorm` makes, or None.

    Raises:
        DataError: A tensor has the wrong shape or dtype, or an edge names a node that does not exist.
    """

    x: Tensor
    edge_index: Tensor
    edge_weight: Tensor | None = None
    y: Tensor | None = None
    train_mask: Tensor | None = None
    val_mask: Tensor | None = None
    test_mask: Tensor | None = None
    adj: Tensor | None = None

    def __attrs_post_init__(self) -> None:
        if self.x.dim() != 2 or not self.x.is_floating_point():
            raise DataError(
                f"Graph.x must be a 2-D float tensor (nodes, features), got {self.x.dtype} {tuple(self.x.shape)}"
            )
        n = self.x.shape[0]
        ei = self.edge_index
        if ei.dim() != 2 or ei.shape[0] != 2 or ei.dtype != torch.int64:
            raise DataError(f"Graph.edge_index must be int64 of shape (2, num_edges), got {ei.dtype} {tuple(ei.shape)}")
        if ei.numel() and (int(ei.min()) < 0 or int(ei.max()) >= n):
            bad = int(((ei < 0) | (ei >= n)).any(dim=0).nonzero()[0])
            raise DataError(f"Graph.edge_index column {bad} = {ei[:, bad].tolist()} names a node outside 0..{n - 1}")
        w = self.edge_weight
        if w is not None and (w.shape != (ei.shape[1],) or not w.is_floating_point()):
            raise DataError(
                f"Graph.edge_weight must be a float tensor of shape ({ei.shape[1]},), got {w.dtype} {tuple(w.shape)}"
            )
        if self.y is not None and (self.y.shape[:1] != (n,) or self.y.is_floating_point()):
            raise DataError(
                f"Graph.y must be an integer tensor with {n} rows, got {self.y.dtype} {tuple(self.y.shape)}"
            )
        for name in _MASKS:
            mask = getattr(self, name)
            if mask is not None and (mask.shape != (n,) or mask.dtype != torch.bool):
                raise DataError(
                    f"Graph.{name} must be a bool tensor of shape ({n},), got {mask.dtype} {tuple(mask.shape)}"
                )
        if self.adj is not None and tuple(self.adj.shape) != (n, n):
            raise DataError(f"Graph.adj must be ({n}, {n}), got {tuple(self.adj.shape)}")

    @property
    def num_nodes(self) -> int:
        """Number of nodes."""
        return int(self.x.shape[0])

    @property
    def num_edges(self) -> int:
        """Number of directed edges (an undirected edge counts twice)."""
        return int(self.edge_index.shape[1])

    @property
    def num_features(self) -> int:
        """Features per node."""
        return int(self.x.shape[1])

    def replace(self, **changes: Any) -> Graph:
        """Return a copy with ``changes`` applied (checked like a new graph)."""
        return attrs.evolve(self, **changes)

    def to(self, device: torch.device | str) -> Graph:
        """Return a copy with every tensor on ``device``."""
        return attrs.evolve(
            self, **{a.name: v.to(device) for a in attrs.fields(Graph) if (v := getattr(self, a.name)) is not None}
        )

    def is_undirected(self) -> bool:
        """Whether every edge ``(u, v)`` has its reverse ``(v, u)`` with the same weight."""
        n = self.num_nodes
        w = self.edge_weight if self.edge_weight is not None else torch.ones(self.num_edges)
        # Indices were checked in __attrs_post_init__, so torch's own invariant checks are redundant.
        a = torch.sparse_coo_tensor(self.edge_index, w, (n, n), check_invariants=False).coalesce()
        t = a.t().coalesce()
        return bool(torch.equal(a.indices(), t.indices()) and torch.equal(a.values(), t.values()))


class NodeSplit(torch.utils.data.Dataset[tuple[Graph, Tensor]]):
    """One split of a transductive node-classification task: a single ``(graph, target)`` sample.

    Every split holds the whole graph (message passing needs all of it); ``target`` is the label
    of each node in the split and :data:`IGNORE_INDEX` elsewhere, so a plain
    ``CrossEntropyLoss()(model(graph), target)`` trains or scores on exactly the split's nodes.

    Args:
        graph: The graph, with labels ``y``.
        mask: Bool mask of this split's nodes.

    Raises:
        DataError: The graph has no labels, or the mask does not fit it.
    """

    def __init__(self, graph: Graph, mask: Tensor) -> None:
        if graph.y is None:
            raise DataError("NodeSplit: the graph has no labels (Graph.y is None)")
        if mask.shape != (graph.num_nodes,) or mask.dtype != torch.bool:
            raise DataError(f"NodeSplit: mask must be bool ({graph.num_nodes},), got {mask.dtype} {tuple(mask.shape)}")
        self.graph = graph
        self.mask = mask
        self.target = torch.where(mask, graph.y, torch.full_like(graph.y, IGNORE_INDEX))

    def __len__(self) -> int:
        return 1

    def __getitem__(self, index: int) -> tuple[Graph, Tensor]:
        """Return ``(graph, target)``.

        Raises:
            IndexError: ``index`` is not 0 or -1.
        """
        if index not in (0, -1):
            raise IndexError(f"a node split holds one graph; index {index} is out of range")
        return self.graph, self.target
