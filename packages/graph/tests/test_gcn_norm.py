"""The GCN normalized adjacency against a dense computation."""

from __future__ import annotations

import pytest
import torch

from forge.core.data._compose import from_config
from forge.core.errors import DataError
from forge.graph.data import Graph
from forge.graph.datasets import KarateClubConfig, build_karate_club
from forge.graph.transforms import GCNNorm, gcn_norm_adjacency


def _dense_reference(edge_index: torch.Tensor, n: int, weight: torch.Tensor | None, fill: float) -> torch.Tensor:
    a = torch.zeros(n, n, dtype=torch.float64)
    w = weight.double() if weight is not None else torch.ones(edge_index.shape[1], dtype=torch.float64)
    for (i, j), v in zip(edge_index.T.tolist(), w.tolist(), strict=True):
        a[i, j] += v
    for i in range(n):
        if a[i, i] == 0:
            a[i, i] = fill
    d = a.sum(1).pow(-0.5)
    return d[:, None] * a * d[None, :]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_dense_on_random_weighted_graphs_with_duplicates_and_loops(seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    n, e = 9, 30
    edge_index = torch.randint(0, n, (2, e), generator=gen)
    weight = torch.rand(e, generator=gen, dtype=torch.float64) + 0.1
    adj = gcn_norm_adjacency(edge_index, n, weight, fill_value=2.0)
    assert adj.is_sparse and adj.is_coalesced() and adj.dtype == torch.float64
    torch.testing.assert_close(adj.to_dense(), _dense_reference(edge_index, n, weight, 2.0))


def test_karate_normalized_adjacency_has_spectrum_in_minus_one_one() -> None:
    splits = build_karate_club(KarateClubConfig())
    assert splits.train is not None
    graph, target = GCNNorm()(splits.train[0])
    assert graph.adj is not None and target.shape == (34,)
    dense = graph.adj.to_dense().double()
    torch.testing.assert_close(dense, dense.T)
    eig = torch.linalg.eigvalsh(dense)
    assert float(eig.max()) == pytest.approx(1.0, abs=1e-6) and float(eig.min()) > -1.0
    torch.testing.assert_close(dense, _dense_reference(graph.edge_index, 34, None, 1.0))


def test_isolated_nodes_without_loops_get_zero_rows() -> None:
    adj = gcn_norm_adjacency(torch.tensor([[0, 1], [1, 0]]), 3, add_self_loops=False).to_dense()
    assert adj[2].abs().sum() == 0 and torch.isfinite(adj).all()
    assert adj[0, 1] == 1.0


def test_bad_input_is_refused() -> None:
    with pytest.raises(DataError, match="outside"):
        gcn_norm_adjacency(torch.tensor([[0], [5]]), 3)
    with pytest.raises(DataError, match="negative degree"):
        gcn_norm_adjacency(torch.tensor([[0], [1]]), 2, torch.tensor([-3.0]))
    with pytest.raises(DataError, match="expected a Graph"):
        GCNNorm()(torch.eye(2))


def test_transform_serializes_and_ignores_weights_when_asked() -> None:
    g = Graph(x=torch.eye(2), edge_index=torch.tensor([[0, 1], [1, 0]]), edge_weight=torch.tensor([3.0, 3.0]))
    norm = GCNNorm(use_edge_weight=False)
    again = from_config(norm.to_config())
    assert isinstance(again, GCNNorm) and again.config == norm.config
    adj = again(g).adj
    assert adj is not None
    torch.testing.assert_close(adj.to_dense(), torch.full((2, 2), 0.5))


def test_normalized_sample_still_batches_through_default_collate() -> None:
    from torch.utils.data import default_collate

    from forge.graph.data import Graph, GraphSample

    splits = build_karate_club(KarateClubConfig())
    assert splits.train is not None
    sample = GCNNorm()(splits.train[0])
    assert isinstance(sample, GraphSample)
    graph, target = default_collate([sample])
    assert isinstance(graph, Graph) and graph.adj is not None and target.shape == (34,)
