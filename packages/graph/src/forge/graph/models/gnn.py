"""Graph neural networks for node classification, graph classification and link prediction.

Every model takes one :class:`forge.graph.data.Graph` (a single graph or a batch) and moves it to
its own device when it lives elsewhere, so it trains through forge's Trainer and recipes as is.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from forge.core.errors import DataError
from forge.graph.data import Graph
from forge.graph.models.configs import GraphClassifierConfig, LinkPredictorConfig, NodeClassifierConfig
from forge.graph.nn.conv import GATConv, GCNConv, GINConv, SAGEConv
from forge.graph.nn.pool import AttentionPooling, global_add_pool, global_max_pool, global_mean_pool

__all__ = [
    "GraphClassifier",
    "LinkPredictor",
    "NodeClassifier",
    "build_graph_classifier",
    "build_link_predictor",
    "build_node_classifier",
    "example_graph",
    "example_graph_batch",
    "example_link_graph",
]


def _conv(kind: str, cin: int, cout: int, *, heads: int = 1, concat: bool = True, **opts: Any) -> nn.Module:
    if kind == "gcn":
        return GCNConv(cin, cout, cached=opts.get("cached", False), backend=opts.get("backend", "auto"))
    if kind == "gat":
        return GATConv(cin, cout, heads=heads, concat=concat, dropout=opts.get("attention_dropout", 0.0))
    if kind == "sage":
        return SAGEConv(
            cin,
            cout,
            aggr=opts.get("sage_aggr", "mean"),
            normalize=opts.get("sage_normalize", False),
            backend=opts.get("backend", "auto"),
        )
    mlp = nn.Sequential(nn.Linear(cin, cout), nn.BatchNorm1d(cout), nn.ReLU(), nn.Linear(cout, cout))
    return GINConv(mlp, train_eps=opts.get("gin_train_eps", False), backend=opts.get("backend", "auto"))


def _call(conv: nn.Module, x: Tensor, graph: Graph) -> Tensor:
    if isinstance(conv, GCNConv):
        out: Tensor = conv(x, graph.edge_index, graph.edge_weight)
    else:
        out = conv(x, graph.edge_index)
    return out


def _on(module: nn.Module, graph: Graph) -> Graph:
    if not isinstance(graph, Graph):
        raise DataError(f"{type(module).__name__}: expected a forge.graph.data.Graph, got {type(graph).__name__}")
    param = next(module.parameters(), None)
    return graph if param is None else graph.to(param.device)


class NodeClassifier(nn.Module):
    """Graph convolutions with ReLU and dropout between them; the last layer gives class scores.

    Args:
        config: The architecture.
    """

    def __init__(self, config: NodeClassifierConfig) -> None:
        super().__init__()
        self.config = config
        widths = [config.in_features, *config.hidden]
        convs: list[nn.Module] = []
        opts: dict[str, Any] = {
            "cached": config.cached,
            "backend": config.backend,
            "attention_dropout": config.attention_dropout,
            "sage_aggr": config.sage_aggr,
            "sage_normalize": config.sage_normalize,
            "gin_train_eps": config.gin_train_eps,
        }
        cin = config.in_features
        for width in widths[1:]:
            convs.append(_conv(config.conv, cin, width, heads=config.heads, **opts))
            cin = width * config.heads if config.conv == "gat" else width
        last_opts: dict[str, Any] = {**opts, "sage_normalize": False}
        convs.append(_conv(config.conv, cin, config.num_classes, heads=1, **last_opts))
        self.convs = nn.ModuleList(convs)

    def forward(self, graph: Graph) -> Tensor:
        """Class scores ``(num_nodes, num_classes)``.

        Raises:
            DataError: ``graph`` is not a Graph or its features do not fit the model.
        """
        graph = _on(self, graph)
        x = graph.x
        for i, conv in enumerate(self.convs):
            x = F.dropout(x, p=self.config.dropout, training=self.training)
            x = _call(conv, x, graph)
            if i < len(self.convs) - 1:
                x = F.elu(x) if self.config.conv == "gat" else F.relu(x)
        return x


class GraphClassifier(nn.Module):
    """Graph convolutions, a per-graph readout (of every layer with jumping knowledge) and an MLP.

    Args:
        config: The architecture.
    """

    def __init__(self, config: GraphClassifierConfig) -> None:
        super().__init__()
        self.config = config
        opts: dict[str, Any] = {
            "backend": config.backend,
            "sage_aggr": config.sage_aggr,
            "gin_train_eps": config.gin_train_eps,
        }
        convs: list[nn.Module] = []
        cin = config.in_features
        for width in config.hidden:
            convs.append(_conv(config.conv, cin, width, heads=config.heads, concat=False, **opts))
            cin = width
        self.convs = nn.ModuleList(convs)
        readout = sum(config.hidden) if config.jumping_knowledge else config.hidden[-1]
        self.pool = AttentionPooling(readout) if config.pooling == "attention" else None
        self.head = nn.Sequential(nn.Linear(readout, readout), nn.ReLU(), nn.Linear(readout, config.num_classes))

    def forward(self, graph: Graph) -> Tensor:
        """Class scores ``(num_graphs, num_classes)``.

        Raises:
            DataError: ``graph`` is not a Graph or its features do not fit the model.
        """
        graph = _on(self, graph)
        x = graph.x
        outs = []
        for conv in self.convs:
            x = F.relu(_call(conv, x, graph))
            outs.append(x)
        h = torch.cat(outs, dim=1) if self.config.jumping_knowledge else x
        b, count = graph.batch, graph.num_graphs
        if self.pool is not None:
            pooled = self.pool(h, b, count)
        elif self.config.pooling == "sum":
            pooled = global_add_pool(h, b, count)
        elif self.config.pooling == "mean":
            pooled = global_mean_pool(h, b, count)
        else:
            pooled = global_max_pool(h, b, count)
        out: Tensor = self.head(F.dropout(pooled, p=self.config.dropout, training=self.training))
        return out


class LinkPredictor(nn.Module):
    """Node embeddings from graph convolutions; the score of a pair is their dot product.

    Args:
        config: The architecture.
    """

    def __init__(self, config: LinkPredictorConfig) -> None:
        super().__init__()
        self.config = config
        widths = [config.in_features, *config.hidden]
        self.convs = nn.ModuleList(
            _conv(config.conv, a, b, backend=config.backend) for a, b in zip(widths[:-1], widths[1:], strict=True)
        )

    def encode(self, graph: Graph) -> Tensor:
        """Node embeddings ``(num_nodes, hidden[-1])``."""
        graph = _on(self, graph)
        x = graph.x
        for i, conv in enumerate(self.convs):
            x = _call(conv, x, graph)
            if i < len(self.convs) - 1:
                x = F.dropout(F.relu(x), p=self.config.dropout, training=self.training)
        return x

    def forward(self, graph: Graph) -> Tensor:
        """Logits ``(num_pairs,)`` that each pair of ``graph.edge_label_index`` is an edge.

        Raises:
            DataError: The graph has no ``edge_label_index`` to score.
        """
        if graph.edge_label_index is None:
            raise DataError("LinkPredictor: the graph has no edge_label_index (the node pairs to score)")
        graph = _on(self, graph)
        z = self.encode(graph)
        pairs = graph.edge_label_index
        assert pairs is not None  # checked above; _on keeps the field
        return (z.index_select(0, pairs[0]) * z.index_select(0, pairs[1])).sum(-1)


def build_node_classifier(config: NodeClassifierConfig) -> NodeClassifier:
    """Build a :class:`NodeClassifier` (registered as ``graph.gcn``, ``graph.gat``, ``graph.sage``, ``graph.gin``)."""
    return NodeClassifier(config)


def build_graph_classifier(config: GraphClassifierConfig) -> GraphClassifier:
    """Build a :class:`GraphClassifier` (registered as ``graph.graph_classifier``)."""
    return GraphClassifier(config)


def build_link_predictor(config: LinkPredictorConfig) -> LinkPredictor:
    """Build a :class:`LinkPredictor` (registered as ``graph.link_predictor``)."""
    return LinkPredictor(config)


def _random_graph(num_nodes: int, num_edges: int, features: int, seed: int) -> Graph:
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(0, num_nodes, (num_edges,), generator=g)
    dst = torch.randint(0, num_nodes, (num_edges,), generator=g)
    edge_index = torch.cat([torch.stack([src, dst]), torch.stack([dst, src])], dim=1)
    return Graph(x=torch.randn(num_nodes, features, generator=g), edge_index=edge_index)


def example_graph(config: NodeClassifierConfig | LinkPredictorConfig) -> tuple[Graph]:
    """A 12-node random graph fitting ``config`` (the conformance kit's example input)."""
    return (_random_graph(12, 20, config.in_features, 0),)


def example_graph_batch(config: GraphClassifierConfig) -> tuple[Graph]:
    """Three small random graphs batched into one (the conformance kit's example input)."""
    from forge.graph.data import collate_graphs

    return (collate_graphs([_random_graph(n, n + 2, config.in_features, n) for n in (5, 7, 6)]),)


def example_link_graph(config: LinkPredictorConfig) -> tuple[Graph]:
    """A random graph with six node pairs to score (the conformance kit's example input)."""
    graph = _random_graph(12, 20, config.in_features, 0)
    pairs = torch.tensor([[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]])
    return (graph.replace(edge_label_index=pairs),)
