"""Graph convolution layers in pure PyTorch, with the mathematics of PyTorch Geometric's.

Each layer takes node features ``x`` ``(N, F_in)`` and ``edge_index`` ``(2, E)`` (messages flow
from row 0 to row 1) and returns ``(N, F_out)``. :mod:`forge.graph.nn.pyg` maps the state dicts of
``GCNConv``, ``GATConv``, ``SAGEConv`` and ``GINConv`` onto these layers.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from forge.core.errors import ConfigError, DataError
from forge.graph.nn.ops import (
    Backend,
    GraphCache,
    SparseAdjacency,
    add_self_loops,
    gcn_edge_weights,
    remove_self_loops,
    scatter_max,
    scatter_mean,
    scatter_sum,
    segment_softmax,
    tracing,
)

__all__ = ["GATConv", "GCNConv", "GINConv", "SAGEConv", "check_inputs"]

_BACKENDS = ("auto", "csr", "scatter")


def check_inputs(layer: str, x: Tensor, edge_index: Tensor, in_channels: int) -> None:
    """Refuse inputs a layer cannot use, naming the layer and the problem.

    Raises:
        DataError: ``x`` is not ``(N, in_channels)`` or ``edge_index`` is not ``int64 (2, E)``.
    """
    if x.dim() != 2 or x.shape[1] != in_channels:
        raise DataError(f"{layer}: x must be (num_nodes, {in_channels}), got {tuple(x.shape)}")
    if edge_index.dim() != 2 or edge_index.shape[0] != 2 or edge_index.dtype != torch.int64:
        raise DataError(
            f"{layer}: edge_index must be int64 (2, num_edges), got {edge_index.dtype} {tuple(edge_index.shape)}"
        )


def _backend(layer: str, backend: str) -> Backend:
    if backend not in _BACKENDS:
        raise ConfigError(f"{layer}.backend: expected one of {', '.join(_BACKENDS)}, got {backend!r}")
    return backend  # type: ignore[return-value]  # checked against the literal's values just above


def _csr_path(backend: Backend) -> bool:
    # "auto" means CSR in eager only: while compiling, exporting or tracing, the CSR matrix's
    # data-dependent row counts cannot be captured, and the scatter path computes the same sums.
    # An explicit "csr" is honoured (eager use only).
    return backend == "csr" or (backend == "auto" and not tracing())


def _glorot(t: Tensor) -> None:
    # PyG's glorot: uniform(-a, a), a = sqrt(6 / (fan_in + fan_out)) over the last two dimensions.
    a = math.sqrt(6.0 / (t.size(-2) + t.size(-1)))
    with torch.no_grad():
        t.uniform_(-a, a)


def _csr_adjacency(edge_index: Tensor, weight: Tensor, num_nodes: int) -> SparseAdjacency:
    return SparseAdjacency(edge_index, weight, num_nodes)


class GCNConv(nn.Module):
    """Graph convolution (Kipf & Welling, 2017): ``D^-1/2 (A + I) D^-1/2 X W + b``.

    Args:
        in_channels: Input features per node.
        out_channels: Output features per node.
        improved: Self loops of weight 2 instead of 1.
        cached: Keep the normalized adjacency of the last graph seen and reuse it while the same
            ``edge_index`` tensor comes back (transductive training); recomputed for another graph.
        add_self_loops: Add the ``+ I``.
        normalize: Apply the symmetric normalization (off: use the edge weights as given).
        bias: Learn an additive bias.
        backend: ``"csr"`` (sparse matrix product; eager only), ``"scatter"`` (per-edge
            ``index_add_``) or ``"auto"`` (CSR, measured faster; scatter when edge weights need
            gradients and while the model is compiled, exported or traced).

    Raises:
        ConfigError: A size is not positive or the backend is unknown.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        improved: bool = False,
        cached: bool = False,
        add_self_loops: bool = True,
        normalize: bool = True,
        bias: bool = True,
        backend: Backend = "auto",
    ) -> None:
        super().__init__()
        if in_channels < 1 or out_channels < 1:
            raise ConfigError(f"GCNConv: in_channels and out_channels must be >= 1, got {in_channels}, {out_channels}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.improved, self.cached = improved, cached
        self.add_self_loops, self.normalize = add_self_loops, normalize
        self.backend = _backend("GCNConv", backend)
        self.linear = nn.Linear(in_channels, out_channels, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self._cache = GraphCache()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Glorot weights and zero bias, as PyG initializes them."""
        _glorot(self.linear.weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)
        self._cache.clear()

    def _edges(self, edge_index: Tensor, edge_weight: Tensor | None, n: int) -> tuple[Tensor, Tensor]:
        if self.normalize:
            return gcn_edge_weights(
                edge_index, edge_weight, n, add_loops=self.add_self_loops, fill_value=2.0 if self.improved else 1.0
            )
        weight = edge_weight if edge_weight is not None else torch.ones(edge_index.shape[1], device=edge_index.device)
        return edge_index, weight

    def propagate(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor | None = None) -> Tensor:
        """Sum ``x`` over the normalized in-edges of each node (the sparse half of the layer)."""
        n = x.shape[0]
        scatter = not _csr_path(self.backend) or (edge_weight is not None and edge_weight.requires_grad)
        if scatter:
            ei, w = self._edges(edge_index, edge_weight, n)
            return scatter_sum(x.index_select(0, ei[0]) * w.unsqueeze(1), ei[1], n)
        adj: SparseAdjacency | None = self._cache.get(n, edge_index, edge_weight) if self.cached else None
        if adj is None:
            ei, w = self._edges(edge_index, edge_weight, n)
            adj = _csr_adjacency(ei, w, n)
            if self.cached:
                self._cache.put(adj, n, edge_index, edge_weight)
        return adj.matmul(x)

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor | None = None) -> Tensor:
        """Convolve.

        Raises:
            DataError: ``x`` or ``edge_index`` has the wrong shape.
        """
        check_inputs("GCNConv", x, edge_index, self.in_channels)
        # A (X W) == (A X) W: aggregate on the narrower side.
        if self.in_channels < self.out_channels:
            out = self.linear(self.propagate(x, edge_index, edge_weight))
        else:
            out = self.propagate(self.linear(x), edge_index, edge_weight)
        result: Tensor = out if self.bias is None else out + self.bias
        return result

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, cached={self.cached}, backend={self.backend!r}"


class GATConv(nn.Module):
    """Graph attention (Velickovic et al., 2018) with several heads.

    ``alpha_ij = softmax_j(LeakyReLU(a_src . W x_j + a_dst . W x_i))`` over the in-edges of ``i``
    (a self loop added to every node), ``out_i = sum_j alpha_ij W x_j``, heads concatenated or
    averaged, plus a bias.

    Args:
        in_channels: Input features per node.
        out_channels: Features per head.
        heads: Number of attention heads.
        concat: Concatenate the heads (``heads * out_channels`` outputs) or average them.
        negative_slope: LeakyReLU slope of the attention scores.
        dropout: Dropout on the attention coefficients (training only).
        add_self_loops: Replace existing self loops by one per node.
        bias: Learn an additive bias.

    Raises:
        ConfigError: A size is not positive or dropout is outside [0, 1).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        heads: int = 1,
        concat: bool = True,
        negative_slope: float = 0.2,
        dropout: float = 0.0,
        add_self_loops: bool = True,
        bias: bool = True,
    ) -> None:
        super().__init__()
        if min(in_channels, out_channels, heads) < 1:
            raise ConfigError(
                f"GATConv: in_channels, out_channels and heads must be >= 1, got {in_channels}, {out_channels}, {heads}"
            )
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"GATConv.dropout: must lie in [0, 1), got {dropout}")
        self.in_channels, self.out_channels, self.heads = in_channels, out_channels, heads
        self.concat, self.negative_slope, self.dropout = concat, negative_slope, dropout
        self.add_self_loops = add_self_loops
        self.linear = nn.Linear(in_channels, heads * out_channels, bias=False)
        self.att_src = nn.Parameter(torch.empty(heads, out_channels))
        self.att_dst = nn.Parameter(torch.empty(heads, out_channels))
        self.bias = nn.Parameter(torch.zeros(heads * out_channels if concat else out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Glorot weights and attention vectors, zero bias (PyG's initialization)."""
        _glorot(self.linear.weight)
        _glorot(self.att_src.unsqueeze(0))
        _glorot(self.att_dst.unsqueeze(0))
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: Tensor, edge_index: Tensor, return_attention: bool = False) -> Tensor:
        """Attend and aggregate.

        Raises:
            DataError: ``x`` or ``edge_index`` has the wrong shape.
        """
        check_inputs("GATConv", x, edge_index, self.in_channels)
        n, h, c = x.shape[0], self.heads, self.out_channels
        if self.add_self_loops:
            edge_index = add_self_loops(remove_self_loops(edge_index)[0], n)
        src, dst = edge_index[0], edge_index[1]
        z = self.linear(x).view(n, h, c)
        a_src = (z * self.att_src).sum(-1)
        a_dst = (z * self.att_dst).sum(-1)
        scores = F.leaky_relu(a_src.index_select(0, src) + a_dst.index_select(0, dst), self.negative_slope)
        alpha = segment_softmax(scores, dst, n)
        alpha = F.dropout(alpha, p=self.dropout, training=self.training)
        out = scatter_sum(z.index_select(0, src) * alpha.unsqueeze(-1), dst, n)
        out = out.reshape(n, h * c) if self.concat else out.mean(dim=1)
        return out if self.bias is None else out + self.bias

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, heads={self.heads}, concat={self.concat}"


Aggregator = Literal["mean", "max", "sum", "lstm"]


class SAGEConv(nn.Module):
    """GraphSAGE (Hamilton et al., 2017): ``W_1 x_i + W_2 aggr_{j -> i} x_j``, optionally L2-normalized.

    Args:
        in_channels: Input features per node.
        out_channels: Output features per node.
        aggr: ``"mean"``, ``"max"``, ``"sum"`` or ``"lstm"`` (an LSTM over each node's in-neighbours in
            edge order; as in PyG, shorter neighbourhoods are zero-padded to the longest).
        normalize: L2-normalize each output row.
        root_weight: Add the transformed node itself (``W_1 x_i``).
        bias: Learn a bias (in the neighbour transform, as PyG does).
        backend: For ``mean``/``sum``: ``"csr"`` (eager only), ``"scatter"`` or ``"auto"`` (CSR;
            scatter while the model is compiled, exported or traced).

    Raises:
        ConfigError: A size is not positive, or the aggregator or backend is unknown.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        aggr: Aggregator = "mean",
        normalize: bool = False,
        root_weight: bool = True,
        bias: bool = True,
        backend: Backend = "auto",
    ) -> None:
        super().__init__()
        if in_channels < 1 or out_channels < 1:
            raise ConfigError(f"SAGEConv: in_channels and out_channels must be >= 1, got {in_channels}, {out_channels}")
        if aggr not in ("mean", "max", "sum", "lstm"):
            raise ConfigError(f"SAGEConv.aggr: expected mean, max, sum or lstm, got {aggr!r}")
        self.in_channels, self.out_channels, self.aggr = in_channels, out_channels, aggr
        self.normalize, self.root_weight = normalize, root_weight
        self.backend = _backend("SAGEConv", backend)
        self.lstm = nn.LSTM(in_channels, in_channels, batch_first=True) if aggr == "lstm" else None
        self.neighbor_linear = nn.Linear(in_channels, out_channels, bias=bias)
        self.root_linear = nn.Linear(in_channels, out_channels, bias=False) if root_weight else None
        self._cache = GraphCache()

    def reset_parameters(self) -> None:
        """Re-initialize the linear maps (and the LSTM)."""
        self.neighbor_linear.reset_parameters()
        if self.root_linear is not None:
            self.root_linear.reset_parameters()
        if self.lstm is not None:
            self.lstm.reset_parameters()

    def _lstm(self, x: Tensor, edge_index: Tensor) -> Tensor:
        assert self.lstm is not None  # set when aggr == "lstm"
        n = x.shape[0]
        src, dst = edge_index[0], edge_index[1]
        order = torch.sort(dst, stable=True).indices
        src, dst = src[order], dst[order]
        degree = torch.bincount(dst, minlength=n)
        if dst.numel() == 0:
            return x.new_zeros(n, self.in_channels)
        start = torch.cumsum(degree, 0) - degree
        position = torch.arange(dst.numel(), device=x.device) - start[dst]
        width = int(degree.max())
        dense = x.new_zeros(n, width, x.shape[1])
        dense[dst, position] = x.index_select(0, src)
        out: Tensor = self.lstm(dense)[0][:, -1]
        return out

    def aggregate(self, x: Tensor, edge_index: Tensor) -> Tensor:
        """Combine each node's in-neighbour features with the configured aggregator."""
        n = x.shape[0]
        if self.aggr == "max":
            return scatter_max(x.index_select(0, edge_index[0]), edge_index[1], n)
        if self.aggr == "lstm":
            return self._lstm(x, edge_index)
        if not _csr_path(self.backend):
            reduce = scatter_sum if self.aggr == "sum" else scatter_mean
            return reduce(x.index_select(0, edge_index[0]), edge_index[1], n)
        adj: SparseAdjacency | None = self._cache.get(n, edge_index)
        if adj is None:
            weight = torch.ones(edge_index.shape[1], device=x.device, dtype=x.dtype)
            if self.aggr == "mean":
                degree = torch.bincount(edge_index[1], minlength=n).clamp_(min=1).to(x.dtype)
                weight = weight / degree[edge_index[1]]
            adj = self._cache.put(_csr_adjacency(edge_index, weight, n), n, edge_index)
        return adj.matmul(x)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        """Aggregate neighbours and combine with the node itself.

        Raises:
            DataError: ``x`` or ``edge_index`` has the wrong shape.
        """
        check_inputs("SAGEConv", x, edge_index, self.in_channels)
        out = self.neighbor_linear(self.aggregate(x, edge_index))
        if self.root_linear is not None:
            out = out + self.root_linear(x)
        return F.normalize(out, p=2.0, dim=-1) if self.normalize else out

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, aggr={self.aggr!r}, normalize={self.normalize}"


class GINConv(nn.Module):
    """Graph isomorphism network layer (Xu et al., 2019): ``mlp((1 + eps) x_i + sum_{j -> i} x_j)``.

    Args:
        mlp: The network applied after aggregation (its input width is the node feature width).
        eps: Initial epsilon.
        train_eps: Learn epsilon (a parameter) instead of fixing it (a buffer).
        backend: ``"csr"`` (eager only), ``"scatter"`` or ``"auto"`` (CSR; scatter while the model
            is compiled, exported or traced) for the neighbour sum.

    Raises:
        ConfigError: The backend is unknown.
    """

    def __init__(self, mlp: nn.Module, *, eps: float = 0.0, train_eps: bool = False, backend: Backend = "auto") -> None:
        super().__init__()
        self.mlp = mlp
        first = next((m for m in mlp.modules() if isinstance(m, nn.Linear)), None)
        self.in_channels: int | None = first.in_features if first is not None else None
        self.initial_eps = eps
        self.backend = _backend("GINConv", backend)
        if train_eps:
            self.eps: Tensor = nn.Parameter(torch.tensor([eps]))
        else:
            self.register_buffer("eps", torch.tensor([eps]))
        self._cache = GraphCache()

    def reset_parameters(self) -> None:
        """Reset epsilon to its initial value (and the MLP's layers that can reset)."""
        with torch.no_grad():
            self.eps.fill_(self.initial_eps)
        for module in self.mlp.modules():
            reset = getattr(module, "reset_parameters", None)
            if module is not self.mlp and callable(reset):
                reset()

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        """Sum neighbours, add the weighted node, apply the MLP.

        Raises:
            DataError: ``x`` or ``edge_index`` has the wrong shape.
        """
        width = self.in_channels if self.in_channels is not None else (x.shape[1] if x.dim() == 2 else -1)
        check_inputs("GINConv", x, edge_index, width)
        n = x.shape[0]
        if not _csr_path(self.backend):
            total = scatter_sum(x.index_select(0, edge_index[0]), edge_index[1], n)
        else:
            adj: SparseAdjacency | None = self._cache.get(n, edge_index)
            if adj is None:
                ones = torch.ones(edge_index.shape[1], device=x.device, dtype=x.dtype)
                adj = self._cache.put(_csr_adjacency(edge_index, ones, n), n, edge_index)
            total = adj.matmul(x)
        out: Tensor = self.mlp((1 + self.eps) * x + total)
        return out
