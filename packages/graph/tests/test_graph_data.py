"""The Graph value type, node splits and batching of graphs."""

from __future__ import annotations

import pickle

import pytest
import torch
from torch.utils.data import DataLoader, default_collate

from forge.core.errors import DataError
from forge.graph.data import GRAPH_FIELDS, IGNORE_INDEX, Graph, GraphSample, NodeSplit, collate_graphs


def _path_graph() -> Graph:
    return Graph(x=torch.eye(3), edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), y=torch.tensor([0, 1, 1]))


def test_counts_and_symmetry() -> None:
    g = _path_graph()
    assert (g.num_nodes, g.num_edges, g.num_features, g.num_graphs) == (3, 4, 3, 1)
    assert g.is_undirected()
    assert not g.replace(edge_index=torch.tensor([[0], [1]])).is_undirected()
    assert g.in_degree().tolist() == [1, 2, 1]


def test_inconsistent_graphs_are_refused_naming_the_field() -> None:
    with pytest.raises(DataError, match="column 1 = \\[1, 3\\]"):
        Graph(x=torch.eye(3), edge_index=torch.tensor([[0, 1], [1, 3]]))
    with pytest.raises(DataError, match="outside 0..2"):
        Graph(x=torch.eye(3), edge_index=torch.tensor([[0, -1], [1, 2]]))
    with pytest.raises(DataError, match="edge_weight"):
        Graph(x=torch.eye(3), edge_index=torch.tensor([[0], [1]]), edge_weight=torch.ones(2))
    with pytest.raises(DataError, match="train_mask"):
        _path_graph().replace(train_mask=torch.ones(3))
    with pytest.raises(DataError, match="Graph.x"):
        Graph(x=torch.ones(3, dtype=torch.int64).unsqueeze(1), edge_index=torch.zeros(2, 0, dtype=torch.int64))
    with pytest.raises(DataError, match="edge_index must be int64"):
        Graph(x=torch.eye(3), edge_index=torch.tensor([[0.0], [1.0]]))
    with pytest.raises(DataError, match="one row per node"):
        Graph(x=torch.eye(3), edge_index=torch.tensor([[0], [1]]), y=torch.zeros(4, dtype=torch.int64))
    with pytest.raises(DataError, match="unknown field"):
        Graph(x=torch.eye(3), edge_index=torch.tensor([[0], [1]]), colour=torch.ones(3))
    with pytest.raises(DataError, match="edge_index is required"):
        Graph(x=torch.eye(3))


def test_generic_batch_code_rebuilds_a_graph_field_by_field() -> None:
    g = _path_graph()
    # What the Trainer does to move a batch, and what pickling (DataLoader workers) does.
    again = type(g)(t if t is None else t.clone() for t in g)
    assert isinstance(again, Graph) and torch.equal(again.edge_index, g.edge_index)
    back = pickle.loads(pickle.dumps(g))
    assert isinstance(back, Graph) and torch.equal(back.x, g.x) and back.y is not None
    assert g.shape == torch.Size([1]) and g == g and g != again
    assert set(GRAPH_FIELDS) >= {"x", "edge_index", "batch", "ptr"}
    with pytest.raises(DataError, match="needs 13 tensors"):
        Graph([g.x])


def test_node_split_targets_only_its_nodes() -> None:
    g = _path_graph()
    split = NodeSplit(g, torch.tensor([True, False, True]))
    graph, target = split[0]
    assert graph is g and len(split) == 1
    assert target.tolist() == [0, IGNORE_INDEX, 1]
    logits = torch.tensor([[5.0, 0.0], [0.0, -50.0], [0.0, 5.0]])
    loss = torch.nn.functional.cross_entropy(logits, target)
    expected = torch.nn.functional.cross_entropy(logits[[0, 2]], torch.tensor([0, 1]))
    assert torch.allclose(loss, expected)
    with pytest.raises(IndexError):
        split[1]


def test_node_split_collates_to_the_same_graph_and_target() -> None:
    split = NodeSplit(_path_graph(), torch.tensor([True, False, True]))
    graph, target = next(iter(DataLoader(split, batch_size=1)))
    assert graph is split.graph
    assert target.tolist() == [0, IGNORE_INDEX, 1]


def test_collate_merges_graphs_into_a_disjoint_union() -> None:
    a = Graph(x=torch.zeros(2, 1), edge_index=torch.tensor([[0], [1]]), edge_weight=torch.tensor([2.0]))
    b = Graph(x=torch.ones(3, 1), edge_index=torch.tensor([[0, 2], [2, 1]]), edge_weight=torch.tensor([3.0, 4.0]))
    batch = collate_graphs([a, b])
    assert batch.edge_index.tolist() == [[0, 2, 4], [1, 4, 3]]
    assert batch.batch is not None and batch.batch.tolist() == [0, 0, 1, 1, 1]
    assert batch.ptr is not None and batch.ptr.tolist() == [0, 2, 5]
    assert batch.edge_weight is not None and batch.edge_weight.tolist() == [2.0, 3.0, 4.0]
    assert batch.num_graphs == 2 and batch.shape == torch.Size([2])
    assert batch.roots.tolist() == [0, 2]  # one entry per example: what loaders count to resume
    samples = [GraphSample(a, torch.tensor(1)), GraphSample(b, torch.tensor(0))]
    graph, target = default_collate(samples)  # what forge's loaders call
    assert isinstance(graph, Graph) and graph.num_graphs == 2 and target.tolist() == [1, 0]


def test_collate_refuses_mismatched_graphs() -> None:
    a = Graph(x=torch.zeros(2, 1), edge_index=torch.tensor([[0], [1]]))
    with pytest.raises(DataError, match="graph 1 has 2 node features"):
        collate_graphs([a, Graph(x=torch.zeros(2, 2), edge_index=torch.tensor([[0], [1]]))])
    with pytest.raises(DataError, match="graph 1 has no edge_weight"):
        collate_graphs([a.replace(edge_weight=torch.ones(1)), a])
    with pytest.raises(DataError, match="already a batch"):
        collate_graphs([collate_graphs([a, a])])
    with pytest.raises(DataError, match="no graphs"):
        collate_graphs([])


def test_to_returns_the_same_graph_when_already_there_and_pin_memory_keeps_the_type() -> None:
    g = _path_graph()
    assert g.to("cpu") is g
    if torch.cuda.is_available():  # pinning needs a CUDA build
        pinned = g.pin_memory()
        assert isinstance(pinned, Graph) and pinned.x.is_pinned()
