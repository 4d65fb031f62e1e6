"""GraphSAGE-style neighbour sampling: mini-batches of seed nodes with a sampled fan-out per layer.

:class:`NeighborSampler` is a dataset of seed nodes. A DataLoader batches seeds as usual (shuffle,
batch size, workers), and the batch is collated into the subgraph a ``len(fanouts)``-layer model
needs: starting from the seeds, each layer keeps at most ``fanouts[l]`` random in-neighbours of the
previous layer's new nodes. Seeds come first in the subgraph and the target labels only them
(:data:`forge.graph.data.IGNORE_INDEX` elsewhere), so the plain ``(graph, target)`` training step
of node classification works unchanged. Sampling runs in the loader's worker processes and draws
from torch's global generator, which forge seeds per worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import torch
from torch import Tensor
from torch.utils.data._utils.collate import default_collate_fn_map

from forge.core.errors import ConfigError, DataError
from forge.graph.data import IGNORE_INDEX, Graph, GraphSample

__all__ = ["NeighborSampler", "SeedNode", "sample_neighbors"]


def sample_neighbors(
    rowptr: Tensor, sources: Tensor, nodes: Tensor, fanout: int, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """Pick at most ``fanout`` in-edges of each of ``nodes``, uniformly without replacement.

    Args:
        rowptr: ``(N + 1,)`` offsets of each node's in-edges in ``sources`` (CSR by target).
        sources: Source node of every in-edge, grouped by target.
        nodes: The nodes whose in-neighbours are sampled.
        fanout: Most edges kept per node; ``-1`` keeps all.
        generator: Random generator, or None for torch's global one.

    Returns:
        ``(edge positions in sources, the target node of each)``.
    """
    start = rowptr[nodes]
    degree = rowptr[nodes + 1] - start
    total = int(degree.sum())
    if total == 0:
        empty = torch.zeros(0, dtype=torch.int64)
        return empty, empty
    segment = torch.repeat_interleave(torch.arange(nodes.numel()), degree)
    offset = torch.cumsum(degree, 0) - degree
    position = torch.arange(total) - offset[segment]
    edge = start[segment] + position
    if fanout >= 0:
        # Random order inside each node's segment: sort by (segment, random key), keep the first `fanout`.
        keys = segment.to(torch.float64) + torch.rand(total, generator=generator, dtype=torch.float64)
        order = torch.argsort(keys)
        rank = torch.arange(total) - offset[segment[order]]
        keep = order[rank < fanout]
        edge, segment = edge[keep], segment[keep]
    return edge, nodes[segment]


class SeedNode(NamedTuple):
    """One seed node of a :class:`NeighborSampler`; a list of them collates to a sampled subgraph."""

    sampler: NeighborSampler
    node: int


class NeighborSampler(torch.utils.data.Dataset[SeedNode]):
    """Seed nodes of a large graph, collated into sampled subgraphs (see the module docs).

    Args:
        graph: The whole graph, with labels ``y``.
        fanouts: In-neighbours kept per node at each layer, first layer first (``-1``: all).
        seeds: The seed nodes (a bool mask or indices); None for every node.

    Raises:
        ConfigError: ``fanouts`` is empty or holds a value below -1 or 0.
        DataError: The graph has no labels, or the seeds do not fit it.

    Example:
        >>> sampler = NeighborSampler(graph, fanouts=(10, 5), seeds=graph.train_mask)  # doctest: +SKIP
        >>> loader = build_loader(sampler, LoaderConfig(batch_size=256, num_workers=2), seed=0)  # doctest: +SKIP
        >>> subgraph, target = next(iter(loader))  # doctest: +SKIP
    """

    def __init__(self, graph: Graph, fanouts: Sequence[int], seeds: Tensor | None = None) -> None:
        if not fanouts or any(f == 0 or f < -1 for f in fanouts):
            raise ConfigError(
                f"NeighborSampler.fanouts: need one value >= 1 (or -1 for all) per layer, got {list(fanouts)}"
            )
        if graph.y is None:
            raise DataError("NeighborSampler: the graph has no labels (Graph.y is None)")
        n = graph.num_nodes
        if seeds is None:
            seed_ids = torch.arange(n)
        elif seeds.dtype == torch.bool:
            if seeds.shape != (n,):
                raise DataError(f"NeighborSampler: seed mask must be ({n},), got {tuple(seeds.shape)}")
            seed_ids = seeds.nonzero().squeeze(1)
        else:
            seed_ids = seeds.to(torch.int64).flatten()
            if seed_ids.numel() and (int(seed_ids.min()) < 0 or int(seed_ids.max()) >= n):
                raise DataError(f"NeighborSampler: seed indices must lie in 0..{n - 1}")
        self.graph = graph.to("cpu")
        self.fanouts = tuple(int(f) for f in fanouts)
        self.seeds = seed_ids
        dst = self.graph.edge_index[1]
        self._order = torch.argsort(dst, stable=True)
        self._sources = self.graph.edge_index[0][self._order]
        self.rowptr = torch.zeros(n + 1, dtype=torch.int64)
        torch.cumsum(torch.bincount(dst, minlength=n), 0, out=self.rowptr[1:])

    def __len__(self) -> int:
        return int(self.seeds.numel())

    def __getitem__(self, index: int) -> SeedNode:
        return SeedNode(self, int(self.seeds[index]))

    def sample(self, seeds: Tensor) -> GraphSample:
        """The sampled subgraph around ``seeds`` (first in node order) and its target.

        Raises:
            DataError: ``seeds`` holds a node twice.
        """
        g = self.graph
        n = g.num_nodes
        local = torch.full((n,), -1, dtype=torch.int64)
        if torch.unique(seeds).numel() != seeds.numel():
            raise DataError("NeighborSampler.sample: a seed node appears twice")
        local[seeds] = torch.arange(seeds.numel())
        nodes = [seeds]
        count = seeds.numel()
        frontier = seeds
        edge_ids: list[Tensor] = []
        for fanout in self.fanouts:
            picked, _ = sample_neighbors(self.rowptr, self._sources, frontier, fanout)
            edge_ids.append(picked)
            src = self._sources[picked]
            new = torch.unique(src[local[src] < 0])
            local[new] = torch.arange(count, count + new.numel())
            count += new.numel()
            nodes.append(new)
            frontier = new
        order = torch.cat(edge_ids) if edge_ids else torch.zeros(0, dtype=torch.int64)
        original = self._order[order]
        all_nodes = torch.cat(nodes)
        edge_index = torch.stack([local[g.edge_index[0][original]], local[g.edge_index[1][original]]])
        y = g.y
        assert y is not None  # checked in __init__
        target = torch.full((all_nodes.numel(),), IGNORE_INDEX, dtype=y.dtype)
        target[: seeds.numel()] = y[seeds]
        sub = Graph(
            roots=torch.arange(seeds.numel()),
            x=g.x[all_nodes],
            edge_index=edge_index,
            edge_weight=None if g.edge_weight is None else g.edge_weight[original],
            y=y[all_nodes],
        )
        return GraphSample(sub, target)


def _collate_seeds(batch: Sequence[SeedNode], *, collate_fn_map: Any = None) -> tuple[Graph, Tensor]:
    sampler = batch[0].sampler
    if any(item.sampler is not sampler for item in batch):
        raise DataError("NeighborSampler: a batch mixes seeds of different samplers")
    graph, target = sampler.sample(torch.tensor([item.node for item in batch], dtype=torch.int64))
    return graph, target


# torch's documented extension point of default_collate (see forge.graph.data).
default_collate_fn_map[SeedNode] = _collate_seeds
