"""The SBM, cycles-versus-trees and CSV edge-list datasets."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from forge.core import registry
from forge.core.errors import ConfigError, DataError
from forge.graph.data import IGNORE_INDEX
from forge.graph.datasets.configs import SBMConfig
from forge.graph.datasets.sbm import sbm_graph


def _homophily(homophily: float) -> float:
    g = sbm_graph(SBMConfig(num_nodes=900, homophily=homophily, average_degree=10.0, seed=3))
    assert g.y is not None
    same = g.y[g.edge_index[0]] == g.y[g.edge_index[1]]
    return float(same.float().mean())


@pytest.mark.parametrize("homophily", [0.2, 0.5, 0.9])
def test_sbm_edge_homophily_follows_the_setting(homophily: float) -> None:
    assert _homophily(homophily) == pytest.approx(homophily, abs=0.04)


def test_sbm_is_undirected_simple_and_seeded() -> None:
    cfg = SBMConfig(num_nodes=300, average_degree=6.0, seed=1)
    g = sbm_graph(cfg)
    assert g.is_undirected() and not bool((g.edge_index[0] == g.edge_index[1]).any())
    pairs = g.edge_index[0] * g.num_nodes + g.edge_index[1]
    assert torch.unique(pairs).numel() == g.num_edges
    assert g.num_edges / g.num_nodes == pytest.approx(6.0, rel=0.1)
    assert torch.equal(sbm_graph(cfg).edge_index, g.edge_index)
    assert not torch.equal(sbm_graph(SBMConfig(num_nodes=300, average_degree=6.0, seed=2)).edge_index, g.edge_index)


def test_sbm_splits_label_20_per_class_and_cover_every_node() -> None:
    splits = registry.build("dataset", "graph.sbm", num_nodes=300, train_per_class=10)
    graph, train_target = splits.train[0]
    assert splits.val is not None and splits.test is not None
    targets = [train_target, splits.val[0][1], splits.test[0][1]]
    labelled = torch.stack([t != IGNORE_INDEX for t in targets])
    assert labelled.sum(0).tolist() == [1] * graph.num_nodes  # disjoint and complete
    assert torch.bincount(train_target[train_target >= 0]).tolist() == [10, 10, 10]
    assert splits.info.num_classes == 3


def test_sbm_refuses_impossible_settings() -> None:
    with pytest.raises(ConfigError, match="train_per_class"):
        registry.build("dataset", "graph.sbm", num_nodes=30, train_per_class=10)
    with pytest.raises(ConfigError, match="homophily"):
        registry.build("dataset", "graph.sbm", homophily=1.5)


def test_cycles_and_trees_are_what_they_claim() -> None:
    splits = registry.build("dataset", "graph.cycles_trees", num_graphs=40)
    seen = set()
    for split in (splits.train, splits.val, splits.test):
        assert split is not None
        for graph, label in split:
            degree = graph.in_degree()
            n = graph.num_nodes
            if int(label) == 1:  # a cycle: every node has two neighbours, n edges
                assert bool((degree == 2).all()) and graph.num_edges == 2 * n
            else:  # a tree: n - 1 edges, connected
                assert graph.num_edges == 2 * (n - 1) and bool((degree >= 1).all())
            seen.add(int(label))
    assert seen == {0, 1}
    assert len(splits.train) + len(splits.val) + len(splits.test) == 40  # type: ignore[arg-type]


def test_edge_list_dataset_from_csv(tmp_path: Path) -> None:
    edges = tmp_path / "edges.csv"
    labels = tmp_path / "labels.csv"
    rows = [f"n{i},n{(i + 1) % 12}" for i in range(12)]
    edges.write_text("source,target\n" + "\n".join(rows) + "\n", encoding="utf-8")
    labels.write_text("node,label\n" + "\n".join(f"n{i},{i % 2}" for i in range(12)) + "\n", encoding="utf-8")
    splits = registry.build("dataset", "graph.edge_list", edges=str(edges), labels=str(labels))
    graph, target = splits.train[0]
    assert graph.num_nodes == 12 and graph.num_edges == 24 and graph.num_features == 12
    assert splits.info.num_classes == 2 and int((target != IGNORE_INDEX).sum()) >= 2
    labels.write_text("node,label\nn0,1\n", encoding="utf-8")
    with pytest.raises(DataError, match="no label for node"):
        registry.build("dataset", "graph.edge_list", edges=str(edges), labels=str(labels))
