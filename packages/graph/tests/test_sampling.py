"""GraphSAGE-style neighbour sampling through a DataLoader (with workers)."""

from __future__ import annotations

import pytest
import torch

from forge.core.data import LoaderConfig, build_loader
from forge.core.errors import ConfigError
from forge.graph.data import IGNORE_INDEX, Graph
from forge.graph.datasets.configs import SBMConfig
from forge.graph.datasets.sbm import sbm_graph
from forge.graph.sampling import NeighborSampler, sample_neighbors


def _graph() -> Graph:
    return sbm_graph(SBMConfig(num_nodes=400, average_degree=12.0, seed=0))


def test_sample_neighbors_keeps_at_most_fanout_distinct_in_edges() -> None:
    g = _graph()
    sampler = NeighborSampler(g, fanouts=(3,))
    nodes = torch.arange(50)
    edges, targets = sample_neighbors(sampler.rowptr, sampler._sources, nodes, 3)
    counts = torch.bincount(targets, minlength=50)
    degree = g.in_degree()[:50]
    assert torch.equal(counts, torch.minimum(degree, torch.tensor(3)))
    assert torch.unique(edges).numel() == edges.numel()
    all_edges, _ = sample_neighbors(sampler.rowptr, sampler._sources, nodes, -1)
    assert all_edges.numel() == int(degree.sum())


def test_subgraph_puts_seeds_first_and_only_real_edges() -> None:
    g = _graph()
    sampler = NeighborSampler(g, fanouts=(4, 2), seeds=g.y == 0)
    seeds = sampler.seeds[:8]
    sub, target = sampler.sample(seeds)
    assert g.y is not None and torch.equal(target[:8], g.y[seeds])
    assert bool((target[8:] == IGNORE_INDEX).all())
    assert torch.equal(sub.x[:8], g.x[seeds])
    assert sub.roots.tolist() == list(range(8)) and sub.shape == torch.Size([8])
    # Every sampled edge exists in the full graph (map local ids back through the features' rows).
    full = set(map(tuple, g.edge_index.t().tolist()))
    node_of = {i: int(torch.nonzero((g.x == sub.x[i]).all(1))[0]) for i in range(sub.num_nodes)}
    for s, d in sub.edge_index.t().tolist():
        assert (node_of[s], node_of[d]) in full
    # First hop: each seed receives at most 4 edges.
    assert int(torch.bincount(sub.edge_index[1], minlength=sub.num_nodes)[:8].max()) <= 4


@pytest.mark.parametrize("inline_batch_bytes", [0, 1 << 20])  # shared memory, and core's by-value transfer
def test_loader_with_workers_yields_sampled_batches(inline_batch_bytes: int) -> None:
    g = _graph()
    sampler = NeighborSampler(g, fanouts=(5, 5), seeds=torch.arange(100))
    config = LoaderConfig(batch_size=32, num_workers=1, pin_memory=False, inline_batch_bytes=inline_batch_bytes)
    loader = build_loader(sampler, config, seed=0)
    batches = list(loader)
    assert len(batches) == 4
    seeds_seen = 0
    for graph, target in batches:
        assert isinstance(graph, Graph)
        seeds_seen += int((target != IGNORE_INDEX).sum())
    assert seeds_seen == 100


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ConfigError, match="fanouts"):
        NeighborSampler(_graph(), fanouts=())
    with pytest.raises(ConfigError, match="fanouts"):
        NeighborSampler(_graph(), fanouts=(0,))
