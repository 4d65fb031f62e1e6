"""Converters from edge lists, CSV files, NetworkX and SciPy, with errors that say where."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
import torch

from forge.core.errors import DataError
from forge.graph.convert import from_csv, from_edge_list, from_networkx, from_scipy, to_networkx, to_scipy


def test_edge_list_pairs_and_undirected() -> None:
    g = from_edge_list([(0, 1), (1, 2)], undirected=True, weights=[0.5, 2.0])
    assert g.edge_index.tolist() == [[0, 1, 1, 2], [1, 2, 0, 1]]
    assert g.edge_weight is not None and g.edge_weight.tolist() == [0.5, 2.0, 0.5, 2.0]
    assert g.num_nodes == 3 and g.x.shape == (3, 1)
    assert from_edge_list(np.array([[0, 3]]), num_nodes=5).num_nodes == 5


def test_edge_list_errors_name_the_pair() -> None:
    with pytest.raises(DataError, match="pair 1 = \\[2, 7\\] names a node outside 0..4"):
        from_edge_list([(0, 1), (2, 7)], num_nodes=5)
    with pytest.raises(DataError, match="must be integers, got 1.5"):
        from_edge_list([(0, 1.5)])
    with pytest.raises(DataError, match="negative"):
        from_edge_list([(0, -1)])
    with pytest.raises(DataError, match="one row per node \\(3\\)"):
        from_edge_list([(0, 2)], x=torch.ones(4, 2), num_nodes=3)
    with pytest.raises(DataError, match="weights"):
        from_edge_list([(0, 1)], weights=[1.0, 2.0])
    with pytest.raises(DataError, match="\\(E, 2\\)"):
        from_edge_list([(0, 1, 2)])


def test_csv_names_nodes_in_order_of_appearance(tmp_path: Path) -> None:
    path = tmp_path / "edges.csv"
    path.write_text("source,target,w\nann,bob,1.5\nbob,cy,2\n", encoding="utf-8")
    g, names = from_csv(path, weight="w", undirected=True)
    assert names == ["ann", "bob", "cy"]
    assert g.edge_index.tolist() == [[0, 1, 1, 2], [1, 2, 0, 1]]
    assert g.edge_weight is not None and g.edge_weight.tolist() == [1.5, 2.0, 1.5, 2.0]


def test_csv_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "edges.csv"
    path.write_text("source,target,w\n0,1,1\n1,x,2\n", encoding="utf-8")
    with pytest.raises(DataError, match="edges.csv:3: node 'x' is not an integer"):
        from_csv(path, num_nodes=3)
    path.write_text("source,target,w\n0,1,heavy\n", encoding="utf-8")
    with pytest.raises(DataError, match="edges.csv:2: weight 'heavy'"):
        from_csv(path, weight="w")
    with pytest.raises(DataError, match="no column 'dst'"):
        from_csv(path, target="dst")
    with pytest.raises(DataError, match="no file"):
        from_csv(tmp_path / "missing.csv")


def test_networkx_round_trip_keeps_structure_and_attributes() -> None:
    nxg = nx.path_graph(4)
    for i in nxg.nodes:
        nxg.nodes[i]["f"] = [float(i), 1.0]
        nxg.nodes[i]["c"] = i % 2
    g, nodes = from_networkx(nxg, features="f", label="c")
    assert nodes == [0, 1, 2, 3] and g.num_edges == 6 and g.is_undirected()
    assert g.x.tolist()[2] == [2.0, 1.0] and g.y is not None and g.y.tolist() == [0, 1, 0, 1]
    back = to_networkx(g, directed=False)
    assert sorted(back.edges) == sorted(nxg.edges)
    with pytest.raises(DataError, match="no attribute 'missing'"):
        from_networkx(nxg, label="missing")


def test_scipy_round_trip() -> None:
    m = sp.random(6, 6, density=0.4, format="csr", random_state=0, dtype=np.float32)
    g = from_scipy(m)
    assert g.num_nodes == 6 and g.num_edges == m.nnz
    np.testing.assert_allclose(to_scipy(g).toarray(), m.toarray())
    with pytest.raises(DataError, match="square"):
        from_scipy(sp.random(3, 4, density=0.5, format="csr"))
    with pytest.raises(DataError, match="scipy.sparse"):
        from_scipy(np.eye(3))
