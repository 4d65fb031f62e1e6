"""The GCN normalized adjacency (Kipf & Welling, 2017) as a sparse COO tensor.

With ``A[i, j]`` the weight of edge ``i -> j`` (duplicate edges summed), self loops added where
missing and ``D = diag(A.sum(1))``, the result is ``D^-1/2 A D^-1/2``. A GCN layer is then
``torch.sparse.mm(adj, x @ W)``. Nodes with zero degree (possible without self loops) get zero rows
instead of infinities.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from forge.core.data import Transform, config_from_args
from forge.core.errors import DataError
from forge.graph.data import Graph, GraphSample
from forge.graph.transforms.configs import GCNNormConfig

__all__ = ["GCNNorm", "gcn_norm_adjacency"]


def gcn_norm_adjacency(
    edge_index: Tensor,
    num_nodes: int,
    edge_weight: Tensor | None = None,
    *,
    add_self_loops: bool = True,
    fill_value: float = 1.0,
) -> Tensor:
    """Build the symmetric-normalized adjacency ``D^-1/2 A D^-1/2``.

    Args:
        edge_index: ``(2, E)`` ``int64`` source/target indices.
        num_nodes: Number of nodes ``N``.
        edge_weight: ``(E,)`` weights, or None for all ones.
        add_self_loops: Add a loop of weight ``fill_value`` to every node that has none (existing
            loops keep their weight).
        fill_value: Weight of the added loops.

    Returns:
        A coalesced sparse COO ``(N, N)`` float tensor (the dtype of ``edge_weight``, else float32).

    Raises:
        DataError: The indices are malformed or out of range, or a node's degree is negative.
    """
    if edge_index.dim() != 2 or edge_index.shape[0] != 2 or edge_index.dtype != torch.int64:
        raise DataError(f"gcn_norm: edge_index must be int64 (2, E), got {edge_index.dtype} {tuple(edge_index.shape)}")
    if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= num_nodes):
        raise DataError(f"gcn_norm: edge_index names nodes outside 0..{num_nodes - 1}")
    device = edge_index.device
    weight = (
        edge_weight if edge_weight is not None else torch.ones(edge_index.shape[1], dtype=torch.float32, device=device)
    )
    if weight.shape != (edge_index.shape[1],):
        raise DataError(f"gcn_norm: edge_weight must have shape ({edge_index.shape[1]},), got {tuple(weight.shape)}")
    if add_self_loops:
        has_loop = torch.zeros(num_nodes, dtype=torch.bool, device=device)
        has_loop[edge_index[0][edge_index[0] == edge_index[1]]] = True
        missing = (~has_loop).nonzero().squeeze(1)
        edge_index = torch.cat([edge_index, missing.unsqueeze(0).expand(2, -1)], dim=1)
        weight = torch.cat([weight, torch.full((missing.numel(),), fill_value, dtype=weight.dtype, device=device)])
    # Indices were range-checked above; torch's invariant checks would repeat that work.
    adj = torch.sparse_coo_tensor(edge_index, weight, (num_nodes, num_nodes), check_invariants=False).coalesce()
    rows, cols = adj.indices()
    values = adj.values()
    degree = torch.zeros(num_nodes, dtype=values.dtype, device=device).index_add_(0, rows, values)
    if bool((degree < 0).any()):
        node = int((degree < 0).nonzero()[0])
        raise DataError(f"gcn_norm: node {node} has negative degree {float(degree[node])}; edge weights must be >= 0")
    inv_sqrt = degree.pow(-0.5)
    inv_sqrt[degree == 0] = 0.0
    normed = inv_sqrt[rows] * values * inv_sqrt[cols]
    return torch.sparse_coo_tensor(
        torch.stack([rows, cols]), normed, (num_nodes, num_nodes), check_invariants=False
    ).coalesce()


class GCNNorm(Transform):
    """A transform that attaches the GCN normalized adjacency to a graph as ``graph.adj``.

    Accepts a :class:`Graph` or a ``(graph, target)`` sample (what graph datasets yield) and
    returns the same shape of thing.

    Args:
        config: The settings; leave it out for the defaults, or pass fields as keywords.
        **params: Config fields, when ``config`` is not given.

    Raises:
        ConfigError: A parameter is unknown or invalid.

    Example:
        >>> norm = GCNNorm()
        >>> g = norm(Graph(x=torch.eye(2), edge_index=torch.tensor([[0, 1], [1, 0]])))
        >>> g.adj.to_dense()
        tensor([[0.5000, 0.5000],
                [0.5000, 0.5000]])
    """

    name: ClassVar[str] = "graph.gcn_norm"
    config_class: ClassVar[type[GCNNormConfig]] = GCNNormConfig

    def __init__(self, config: GCNNormConfig | None = None, /, **params: Any) -> None:
        self.config: GCNNormConfig = config_from_args(self.name, GCNNormConfig, config, params)

    def adjacency(self, graph: Graph) -> Tensor:
        """The normalized adjacency of ``graph`` under this transform's settings."""
        return gcn_norm_adjacency(
            graph.edge_index,
            graph.num_nodes,
            graph.edge_weight if self.config.use_edge_weight else None,
            add_self_loops=self.config.add_self_loops,
            fill_value=self.config.fill_value,
        )

    def __call__(self, sample: Any) -> Any:
        """Return ``sample`` with ``adj`` set on its graph (a ``(graph, target)`` pair as a :class:`GraphSample`).

        Raises:
            DataError: ``sample`` is neither a :class:`Graph` nor a ``(Graph, target)`` tuple.
        """
        if isinstance(sample, Graph):
            return sample.replace(adj=self.adjacency(sample))
        if isinstance(sample, tuple) and len(sample) == 2 and isinstance(sample[0], Graph):
            return GraphSample(sample[0].replace(adj=self.adjacency(sample[0])), sample[1])
        raise DataError(f"{self.name}: expected a Graph or a (Graph, target) tuple, got {type(sample).__name__}")
