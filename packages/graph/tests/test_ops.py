"""Message-passing primitives against dense references, and the structure cache."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from forge.graph.nn.ops import (
    GraphCache,
    SparseAdjacency,
    gcn_edge_weights,
    scatter_max,
    scatter_mean,
    scatter_sum,
    segment_softmax,
)
from forge.graph.transforms import gcn_norm_adjacency


@settings(max_examples=25, deadline=None, derandomize=True)
@given(n=st.integers(1, 12), e=st.integers(0, 40), seed=st.integers(0, 1000))
def test_sparse_product_and_scatter_sum_agree_with_dense(n: int, e: int, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, e), generator=g)
    w = torch.rand(e, generator=g)
    x = torch.randn(n, 3, generator=g, dtype=torch.float64, requires_grad=True)
    dense = torch.zeros(n, n, dtype=torch.float64).index_put_((ei[1], ei[0]), w.double(), accumulate=True)
    expected = dense @ x
    got = SparseAdjacency(ei, w.double(), n).matmul(x)
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(scatter_sum(x[ei[0]] * w.double().unsqueeze(1), ei[1], n), expected)
    (grad,) = torch.autograd.grad(got.sum(), x)
    torch.testing.assert_close(grad, dense.t() @ torch.ones(n, 3, dtype=torch.float64))


def test_mean_max_and_softmax_per_target() -> None:
    src = torch.tensor([[1.0], [3.0], [-2.0], [5.0]])
    index = torch.tensor([0, 0, 2, 2])
    assert scatter_mean(src, index, 3).flatten().tolist() == [2.0, 0.0, 1.5]
    assert scatter_max(src, index, 3).flatten().tolist() == [3.0, 0.0, 5.0]
    soft = segment_softmax(torch.tensor([0.0, 1.0, 2.0, 2.0]), index, 3)
    torch.testing.assert_close(soft[:2], torch.softmax(torch.tensor([0.0, 1.0]), 0))
    torch.testing.assert_close(soft[2:], torch.tensor([0.5, 0.5]))


def test_gcn_edge_weights_match_the_gcn_norm_transform_on_undirected_graphs() -> None:
    ei = torch.tensor([[0, 1, 1, 2, 2, 2], [1, 0, 2, 1, 2, 3]])
    ei = torch.cat([ei[:, ei[0] != ei[1]], ei[:, ei[0] != ei[1]].flip(0), torch.tensor([[2], [2]])], dim=1)
    loops_ei, w = gcn_edge_weights(ei, None, 4)
    dense = torch.zeros(4, 4).index_put_((loops_ei[0], loops_ei[1]), w, accumulate=True)
    torch.testing.assert_close(dense, gcn_norm_adjacency(ei, 4).to_dense())


def test_graph_cache_hits_for_equal_structure_and_misses_for_changes() -> None:
    cache = GraphCache()
    ei = torch.tensor([[0, 1], [1, 0]])
    cache.put("value", 2, ei)
    assert cache.get(2, ei) == "value"
    assert cache.get(2, ei.clone()) == "value"  # equal content (a graph moved again)
    assert cache.get(3, ei) is None
    assert cache.get(2, torch.tensor([[0, 1], [1, 1]])) is None
    ei[0, 0] = 1  # changed in place: the version moves on
    assert cache.get(2, ei) is None
