"""Config classes of the graph models (no torch import: listing stays light)."""

from __future__ import annotations

from typing import Any, Literal

import attrs

from forge.core.config import field

__all__ = ["ConvKind", "GraphClassifierConfig", "LinkPredictorConfig", "NodeClassifierConfig", "Pooling"]

ConvKind = Literal["gcn", "gat", "sage", "gin"]
Pooling = Literal["sum", "mean", "max", "attention"]
SageAggr = Literal["mean", "max", "sum", "lstm"]
Backend = Literal["auto", "csr", "scatter"]

_CONVS = ("gcn", "gat", "sage", "gin")


def _positive(instance: object, attribute: attrs.Attribute[Any], value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be >= 1, got {value!r}")


def _widths(instance: object, attribute: attrs.Attribute[Any], value: tuple[int, ...]) -> None:
    if any(w < 1 for w in value):
        raise ValueError(f"{attribute.name} must hold widths >= 1, got {value!r}")


def _probability(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{attribute.name} must lie in [0, 1), got {value!r}")


def _one_of(*choices: str) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
        if value not in choices:
            raise ValueError(f"{attribute.name} must be one of {', '.join(choices)}, got {value!r}")

    return check


@attrs.frozen
class NodeClassifierConfig:
    """A stack of graph convolutions with a class score per node (transductive or inductive)."""

    conv: ConvKind = field("gcn", help="Layer type: 'gcn', 'gat', 'sage' or 'gin'.", validator=_one_of(*_CONVS))
    in_features: int = field(34, help="Node feature width of the input graph.", validator=_positive)
    num_classes: int = field(2, help="Number of node classes.", validator=_positive)
    hidden: tuple[int, ...] = field((16,), help="Width of each hidden layer (GAT: per head).", validator=_widths)
    dropout: float = field(0.5, help="Dropout on each layer's input features.", validator=_probability)
    heads: int = field(1, help="GAT: attention heads of the hidden layers (concatenated).", validator=_positive)
    attention_dropout: float = field(0.0, help="GAT: dropout on attention coefficients.", validator=_probability)
    sage_aggr: SageAggr = field(
        "mean",
        help="GraphSAGE aggregator: 'mean', 'max', 'sum' or 'lstm'.",
        validator=_one_of("mean", "max", "sum", "lstm"),
    )
    sage_normalize: bool = field(False, help="GraphSAGE: L2-normalize each hidden layer's output.")
    gin_train_eps: bool = field(False, help="GIN: learn epsilon instead of fixing it at 0.")
    cached: bool = field(True, help="GCN: reuse the normalized adjacency while the same graph comes back.")
    backend: Backend = field(
        "auto",
        help="Sparse aggregation: 'csr', 'scatter' or 'auto' (CSR where weights are fixed).",
        validator=_one_of("auto", "csr", "scatter"),
    )


@attrs.frozen
class GraphClassifierConfig:
    """Graph convolutions, a readout per graph and an MLP head: one class score per graph."""

    conv: ConvKind = field("gin", help="Layer type: 'gcn', 'gat', 'sage' or 'gin'.", validator=_one_of(*_CONVS))
    in_features: int = field(1, help="Node feature width of the input graphs.", validator=_positive)
    num_classes: int = field(2, help="Number of graph classes.", validator=_positive)
    hidden: tuple[int, ...] = field((32, 32), help="Width of each graph convolution.", validator=_widths)
    pooling: Pooling = field(
        "sum",
        help="Readout: 'sum', 'mean', 'max' or 'attention'.",
        validator=_one_of("sum", "mean", "max", "attention"),
    )
    jumping_knowledge: bool = field(True, help="Read out every layer's output (concatenated), not only the last.")
    dropout: float = field(0.0, help="Dropout before the classification head.", validator=_probability)
    heads: int = field(1, help="GAT: attention heads (averaged).", validator=_positive)
    sage_aggr: SageAggr = field("mean", help="GraphSAGE aggregator.", validator=_one_of("mean", "max", "sum", "lstm"))
    gin_train_eps: bool = field(False, help="GIN: learn epsilon.")
    backend: Backend = field("auto", help="Sparse aggregation backend.", validator=_one_of("auto", "csr", "scatter"))


@attrs.frozen
class LinkPredictorConfig:
    """A graph-convolution encoder scoring node pairs by the dot product of their embeddings."""

    conv: ConvKind = field("gcn", help="Layer type: 'gcn', 'gat', 'sage' or 'gin'.", validator=_one_of(*_CONVS))
    in_features: int = field(34, help="Node feature width.", validator=_positive)
    hidden: tuple[int, ...] = field(
        (32, 16), help="Width of each layer (the last is the embedding).", validator=_widths
    )
    dropout: float = field(0.0, help="Dropout on hidden features.", validator=_probability)
    backend: Backend = field("auto", help="Sparse aggregation backend.", validator=_one_of("auto", "csr", "scatter"))
