"""Zachary's karate club from NetworkX's bundled copy."""

from __future__ import annotations

import networkx as nx
import pytest
import torch

from forge.core.config import structure
from forge.core.errors import ConfigError
from forge.graph.data import IGNORE_INDEX, NodeSplit
from forge.graph.datasets import KarateClubConfig, build_karate_club


def test_graph_matches_networkx() -> None:
    splits = build_karate_club(KarateClubConfig())
    assert isinstance(splits.train, NodeSplit)
    graph, _ = splits.train[0]
    ref = nx.karate_club_graph()
    assert (graph.num_nodes, graph.num_edges) == (34, 2 * ref.number_of_edges())
    assert graph.is_undirected()
    edges = {tuple(e) for e in graph.edge_index.T.tolist()}
    assert all((u, v) in edges and (v, u) in edges for u, v in ref.edges)
    assert graph.y is not None
    assert [int(graph.y[n]) for n in (0, 33)] == [0, 1]  # the instructor and the administrator
    assert int(graph.y.sum()) == sum(ref.nodes[n]["club"] == "Officer" for n in ref.nodes)
    assert torch.equal(graph.x, torch.eye(34))


def test_masks_partition_nodes_stratified_and_deterministic() -> None:
    splits = build_karate_club(KarateClubConfig(val_fraction=0.2, test_fraction=0.3, seed=3))
    assert isinstance(splits.train, NodeSplit)
    graph, target = splits.train[0]
    assert graph.train_mask is not None and graph.val_mask is not None and graph.test_mask is not None
    masks = torch.stack([graph.train_mask, graph.val_mask, graph.test_mask]).int()
    assert masks.sum(0).tolist() == [1] * 34
    assert graph.y is not None
    for label in (0, 1):
        in_class = graph.y == label
        assert int((graph.test_mask & in_class).sum()) == round(int(in_class.sum()) * 0.3)
    assert torch.equal(target == IGNORE_INDEX, ~graph.train_mask)
    again = build_karate_club(KarateClubConfig(val_fraction=0.2, test_fraction=0.3, seed=3))
    assert again.info.fingerprint == splits.info.fingerprint
    other = build_karate_club(KarateClubConfig(val_fraction=0.2, test_fraction=0.3, seed=4))
    assert other.info.fingerprint != splits.info.fingerprint


def test_options_and_metadata() -> None:
    splits = build_karate_club(KarateClubConfig(features="degree", weighted=True, test_fraction=0.0))
    assert splits.test is None and splits.info.num_classes == 2
    assert isinstance(splits.train, NodeSplit)
    graph, _ = splits.train[0]
    assert graph.x.shape == (34, 1) and int(graph.x[0, 0]) == nx.karate_club_graph().degree(0)
    assert graph.edge_weight is not None and float(graph.edge_weight.max()) > 1
    with pytest.raises(ConfigError, match="features"):
        structure({"features": "random"}, KarateClubConfig)
