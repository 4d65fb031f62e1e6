"""Config classes of the graph models (no torch import: listing stays light)."""

from __future__ import annotations

from typing import Literal, get_args

import attrs

from forge.core.config import field

__all__ = ["ConvKind", "GraphClassifierConfig", "LinkPredictorConfig", "NodeClassifierConfig", "Pooling"]

ConvKind = Literal["gcn", "gat", "sage", "gin"]
Pooling = Literal["sum", "mean", "max", "attention"]
SageAggr = Literal["mean", "max", "sum", "lstm"]
Backend = Literal["auto", "csr", "scatter"]

# The Literal types check values read from files; these tuples declare the same choices on the
# fields, so configs built in Python are checked too and `forge info` shows them.
_CONVS: tuple[str, ...] = get_args(ConvKind)
_POOLINGS: tuple[str, ...] = get_args(Pooling)
_SAGE_AGGRS: tuple[str, ...] = get_args(SageAggr)
_BACKENDS: tuple[str, ...] = get_args(Backend)


@attrs.frozen
class NodeClassifierConfig:
    """A stack of graph convolutions with a class score per node (transductive or inductive)."""

    conv: ConvKind = field("gcn", help="Layer type: 'gcn', 'gat', 'sage' or 'gin'.", one_of=_CONVS)
    in_features: int = field(34, help="Node feature width of the input graph.", ge=1)
    num_classes: int = field(2, help="Number of node classes.", ge=1)
    hidden: tuple[int, ...] = field(
        (16,), help="Width of each hidden layer (GAT: per head); empty: one convolution to the classes.", ge=1
    )
    dropout: float = field(0.5, help="Dropout on each layer's input features.", ge=0, lt=1)
    heads: int = field(1, help="GAT: attention heads of the hidden layers (concatenated).", ge=1)
    attention_dropout: float = field(0.0, help="GAT: dropout on attention coefficients.", ge=0, lt=1)
    sage_aggr: SageAggr = field(
        "mean",
        help="GraphSAGE aggregator: 'mean', 'max', 'sum' or 'lstm'.",
        one_of=_SAGE_AGGRS,
    )
    sage_normalize: bool = field(False, help="GraphSAGE: L2-normalize each hidden layer's output.")
    gin_train_eps: bool = field(False, help="GIN: learn epsilon instead of fixing it at 0.")
    cached: bool = field(True, help="GCN: reuse the normalized adjacency while the same graph comes back.")
    backend: Backend = field(
        "auto",
        help="Sparse aggregation: 'csr', 'scatter' or 'auto' (CSR where weights are fixed).",
        one_of=_BACKENDS,
    )


@attrs.frozen
class GraphClassifierConfig:
    """Graph convolutions, a readout per graph and an MLP head: one class score per graph."""

    conv: ConvKind = field("gin", help="Layer type: 'gcn', 'gat', 'sage' or 'gin'.", one_of=_CONVS)
    in_features: int = field(1, help="Node feature width of the input graphs.", ge=1)
    num_classes: int = field(2, help="Number of graph classes.", ge=1)
    hidden: tuple[int, ...] = field((32, 32), help="Width of each graph convolution.", ge=1, non_empty=True)
    pooling: Pooling = field(
        "sum",
        help="Readout: 'sum', 'mean', 'max' or 'attention'.",
        one_of=_POOLINGS,
    )
    jumping_knowledge: bool = field(True, help="Read out every layer's output (concatenated), not only the last.")
    dropout: float = field(0.0, help="Dropout before the classification head.", ge=0, lt=1)
    heads: int = field(1, help="GAT: attention heads (averaged).", ge=1)
    sage_aggr: SageAggr = field("mean", help="GraphSAGE aggregator.", one_of=_SAGE_AGGRS)
    gin_train_eps: bool = field(False, help="GIN: learn epsilon.")
    backend: Backend = field("auto", help="Sparse aggregation backend.", one_of=_BACKENDS)


@attrs.frozen
class LinkPredictorConfig:
    """A graph-convolution encoder scoring node pairs by the dot product of their embeddings."""

    conv: ConvKind = field("gcn", help="Layer type: 'gcn', 'gat', 'sage' or 'gin'.", one_of=_CONVS)
    in_features: int = field(34, help="Node feature width.", ge=1)
    hidden: tuple[int, ...] = field(
        (32, 16), help="Width of each layer (the last is the embedding).", ge=1, non_empty=True
    )
    dropout: float = field(0.0, help="Dropout on hidden features.", ge=0, lt=1)
    backend: Backend = field("auto", help="Sparse aggregation backend.", one_of=_BACKENDS)
