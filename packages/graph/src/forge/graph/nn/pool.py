"""Readouts that turn node features into one vector per graph of a batch.

``batch`` gives the graph of each node (as :func:`forge.graph.data.collate_graphs` makes it); None
means all nodes form one graph. ``num_graphs`` fixes the output rows (graphs without nodes get
zeros); left out, it is ``batch.max() + 1``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from forge.core.errors import DataError
from forge.graph.nn.ops import scatter_max, scatter_mean, scatter_sum, segment_softmax

__all__ = ["AttentionPooling", "global_add_pool", "global_max_pool", "global_mean_pool"]


def _graphs(x: Tensor, batch: Tensor | None, num_graphs: int | None) -> tuple[Tensor, int]:
    if batch is None:
        return torch.zeros(x.shape[0], dtype=torch.int64, device=x.device), 1
    if batch.shape != (x.shape[0],):
        raise DataError(f"pooling: batch must have one entry per node ({x.shape[0]}), got {tuple(batch.shape)}")
    count = num_graphs if num_graphs is not None else (int(batch.max()) + 1 if batch.numel() else 0)
    return batch, count


def global_add_pool(x: Tensor, batch: Tensor | None, num_graphs: int | None = None) -> Tensor:
    """Sum of each graph's node features ``(num_graphs, F)``."""
    index, count = _graphs(x, batch, num_graphs)
    return scatter_sum(x, index, count)


def global_mean_pool(x: Tensor, batch: Tensor | None, num_graphs: int | None = None) -> Tensor:
    """Mean of each graph's node features ``(num_graphs, F)``."""
    index, count = _graphs(x, batch, num_graphs)
    return scatter_mean(x, index, count)


def global_max_pool(x: Tensor, batch: Tensor | None, num_graphs: int | None = None) -> Tensor:
    """Element-wise maximum of each graph's node features ``(num_graphs, F)``."""
    index, count = _graphs(x, batch, num_graphs)
    return scatter_max(x, index, count)


class AttentionPooling(nn.Module):
    """Gated attention readout (Li et al., 2016): ``sum_i softmax_i(gate(x_i)) * x_i`` per graph.

    Args:
        in_channels: Node feature width.
        hidden: Width of the gate network's hidden layer.
    """

    def __init__(self, in_channels: int, hidden: int = 64) -> None:
        super().__init__()
        self.gate = nn.Sequential(nn.Linear(in_channels, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, x: Tensor, batch: Tensor | None, num_graphs: int | None = None) -> Tensor:
        """Pool ``x`` ``(N, F)`` into ``(num_graphs, F)``."""
        index, count = _graphs(x, batch, num_graphs)
        weight = segment_softmax(self.gate(x), index, count)
        return scatter_sum(weight * x, index, count)
