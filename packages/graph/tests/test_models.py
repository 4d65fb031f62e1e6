"""The graph models: shapes, batching, invariances, link prediction and input errors."""

from __future__ import annotations

import pytest
import torch

from forge.core import registry
from forge.core.errors import DataError
from forge.graph.data import Graph, collate_graphs
from forge.graph.datasets.configs import SBMConfig
from forge.graph.datasets.sbm import sbm_graph
from forge.graph.links import LinkSplit, negative_sampling, split_edges
from forge.graph.nn import global_add_pool, global_max_pool, global_mean_pool
from forge.graph.nn.pool import AttentionPooling


def _ring(n: int, features: int = 3, seed: int = 0) -> Graph:
    src = torch.arange(n)
    dst = (src + 1) % n
    ei = torch.cat([torch.stack([src, dst]), torch.stack([dst, src])], dim=1)
    return Graph(x=torch.randn(n, features, generator=torch.Generator().manual_seed(seed)), edge_index=ei)


@pytest.mark.parametrize("name", ["graph.gcn", "graph.gat", "graph.sage", "graph.gin"])
def test_node_classifiers_score_every_node(name: str) -> None:
    model = registry.build("model", name, in_features=3, num_classes=4).eval()
    assert model(_ring(7)).shape == (7, 4)
    with pytest.raises(DataError, match="x must be \\(num_nodes, 3\\)"):
        model(_ring(7, features=5))
    with pytest.raises(DataError, match="expected a forge.graph.data.Graph"):
        model(torch.zeros(7, 3))


@pytest.mark.parametrize("conv", ["gcn", "gat", "sage", "gin"])
@pytest.mark.parametrize("pooling", ["sum", "mean", "max", "attention"])
def test_graph_classifier_batch_equals_graph_by_graph_and_ignores_node_order(conv: str, pooling: str) -> None:
    model = registry.build("model", "graph.graph_classifier", conv=conv, pooling=pooling, in_features=3).eval()
    graphs = [_ring(n, seed=n) for n in (4, 6, 5)]
    with torch.no_grad():
        batched = model(collate_graphs(graphs))
        single = torch.cat([model(g) for g in graphs])
        perm = torch.randperm(6, generator=torch.Generator().manual_seed(1))
        inverse = torch.argsort(perm)
        g = graphs[1]
        shuffled = Graph(x=g.x[perm], edge_index=inverse[g.edge_index])
        permuted = model(shuffled)
    torch.testing.assert_close(batched, single, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(permuted, single[1:2], rtol=1e-5, atol=1e-5)


def test_pooling_against_dense_reference() -> None:
    x = torch.randn(7, 2)
    batch = torch.tensor([0, 0, 0, 2, 2, 2, 2])  # graph 1 has no nodes
    torch.testing.assert_close(global_add_pool(x, batch, 3)[2], x[3:].sum(0))
    torch.testing.assert_close(global_mean_pool(x, batch, 3)[0], x[:3].mean(0))
    torch.testing.assert_close(global_max_pool(x, batch, 3)[2], x[3:].max(0).values)
    assert global_add_pool(x, batch, 3)[1].abs().sum() == 0
    attention = AttentionPooling(2)
    out = attention(x, batch, 3)
    weights = torch.softmax(attention.gate(x[:3]), dim=0)
    torch.testing.assert_close(out[0], (weights * x[:3]).sum(0))
    with pytest.raises(DataError, match="one entry per node"):
        global_add_pool(x, batch[:3])


def test_negative_sampling_avoids_edges_and_loops() -> None:
    g = _ring(10)
    neg = negative_sampling(g.edge_index, 10, 40, generator=torch.Generator().manual_seed(0))
    existing = set(map(tuple, g.edge_index.t().tolist()))
    pairs = list(map(tuple, neg.t().tolist()))
    assert len(set(pairs)) == 40 and not (set(pairs) & existing) and all(a != b for a, b in pairs)
    with pytest.raises(DataError, match="only 70 non-edges"):
        negative_sampling(g.edge_index, 10, 71)


def test_link_predictor_learns_held_out_edges() -> None:
    torch.manual_seed(0)
    g = sbm_graph(SBMConfig(num_nodes=200, num_classes=4, homophily=0.95, average_degree=8.0, seed=0))
    train_graph, val, test = split_edges(g, 0.1, 0.1, seed=0)
    assert train_graph.is_undirected() and train_graph.num_edges == g.num_edges - 2 * (val.shape[1] + test.shape[1])
    upper = train_graph.edge_index[0] < train_graph.edge_index[1]
    train = LinkSplit(train_graph, train_graph.edge_index[:, upper], g.edge_index, resample=True)
    held = LinkSplit(train_graph, test, g.edge_index, resample=False, seed=1)
    model = registry.build("model", "graph.link_predictor", in_features=16, hidden=[32, 16])
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    for _ in range(60):
        graph, target = train[0]
        loss = loss_fn(model(graph), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    graph, target = held[0]
    with torch.no_grad():
        scores = model.eval()(graph)
    pos, neg = scores[target == 1], scores[target == 0]
    auc = float((pos.unsqueeze(1) > neg.unsqueeze(0)).float().mean())
    assert auc > 0.8, auc
    with pytest.raises(DataError, match="no edge_label_index"):
        model(train_graph)
