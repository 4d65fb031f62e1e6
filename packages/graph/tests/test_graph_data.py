"""The Graph value type and node splits."""

from __future__ import annotations

import pytest
import torch

from forge.core.errors import DataError
from forge.graph.data import IGNORE_INDEX, Graph, NodeSplit


def _path_graph() -> Graph:
    return Graph(x=torch.eye(3), edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), y=torch.tensor([0, 1, 1]))


def test_counts_and_symmetry() -> None:
    g = _path_graph()
    assert (g.num_nodes, g.num_edges, g.num_features) == (3, 4, 3)
    assert g.is_undirected()
    assert not g.replace(edge_index=torch.tensor([[0], [1]])).is_undirected()


def test_inconsistent_graphs_are_refused_naming_the_field() -> None:
    with pytest.raises(DataError, match="column 1 = \\[1, 3\\]"):
        Graph(x=torch.eye(3), edge_index=torch.tensor([[0, 1], [1, 3]]))
    with pytest.raises(DataError, match="edge_weight"):
        Graph(x=torch.eye(3), edge_index=torch.tensor([[0], [1]]), edge_weight=torch.ones(2))
    with pytest.raises(DataError, match="train_mask"):
        _path_graph().replace(train_mask=torch.ones(3))
    with pytest.raises(DataError, match="Graph.x"):
        Graph(x=torch.ones(3, dtype=torch.int64).unsqueeze(1), edge_index=torch.zeros(2, 0, dtype=torch.int64))


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
