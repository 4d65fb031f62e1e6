"""The graph value type, graph samples and batching of many graphs into one.

Edges are directed pairs in ``edge_index`` (row 0 the source, row 1 the target), the layout
PyTorch Geometric uses, so an undirected graph lists each edge in both directions. Messages flow
from source to target: a layer aggregates, at each node, what its in-edges bring.

A :class:`Graph` is a tuple of its tensor fields (in :data:`GRAPH_FIELDS` order). That is what
lets forge's Trainer and torch's DataLoader treat it like any other batch: they move a tuple to
the device and pin its memory field by field, and rebuild it with ``type(graph)(fields)``. Read
the fields by name (``graph.x``), not by position.

Datasets yield :class:`GraphSample` ``(graph, target)`` pairs. Importing this module teaches
torch's ``default_collate`` (the collate forge's loaders use) to batch them with
:func:`collate_samples`: graphs become one disjoint graph with a ``batch`` vector, targets are
concatenated.

Importing it also registers :class:`Graph` as a pytree node of ``torch.utils._pytree`` (its
fields are the children, named by attribute), so ``torch.export``, ``torch.compile`` and
``forge export`` see through a graph to its tensors. A graph names the dynamic dimensions of its
fields (nodes, edges, graphs, pairs) and draws random graphs of other sizes to verify an export
(:meth:`Graph.export_dynamic_dims`, :meth:`Graph.export_sample`). Loading an exported program
that takes a graph (``torch.export.load``) needs this module imported first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple, cast

import torch
import torch.utils._pytree as pytree
from torch import Tensor
from torch.utils.data._utils.collate import default_collate_fn_map

from forge.core.errors import DataError

__all__ = [
    "GRAPH_FIELDS",
    "IGNORE_INDEX",
    "Graph",
    "GraphSample",
    "NodeSplit",
    "collate_graphs",
    "collate_samples",
]

IGNORE_INDEX = -100
"""Target value of nodes outside a split: ``torch.nn.CrossEntropyLoss``'s default ``ignore_index``."""

GRAPH_FIELDS = (
    "roots",
    "x",
    "edge_index",
    "edge_weight",
    "edge_attr",
    "y",
    "train_mask",
    "val_mask",
    "test_mask",
    "adj",
    "batch",
    "ptr",
    "edge_label_index",
)
"""The fields of a :class:`Graph`, in tuple order.

``roots`` comes first on purpose: generic batch code counts the samples of a batch by the first
dimension of its first tensor (forge's loader does, to resume mid-epoch), and ``roots`` has one
entry per dataset example the graph holds.
"""

_MASKS = ("train_mask", "val_mask", "test_mask")
_INDEX = {name: i for i, name in enumerate(GRAPH_FIELDS)}


def _check(g: Graph) -> None:
    """Validate every field of ``g`` (shapes, dtypes and node index ranges)."""
    x = g.x
    if not isinstance(x, Tensor) or x.dim() != 2 or not x.is_floating_point():
        got = f"{x.dtype} {tuple(x.shape)}" if isinstance(x, Tensor) else type(x).__name__
        raise DataError(f"Graph.x must be a 2-D float tensor (nodes, features), got {got}")
    n = x.shape[0]
    ei = g.edge_index
    if not isinstance(ei, Tensor) or ei.dim() != 2 or ei.shape[0] != 2 or ei.dtype != torch.int64:
        got = f"{ei.dtype} {tuple(ei.shape)}" if isinstance(ei, Tensor) else type(ei).__name__
        raise DataError(f"Graph.edge_index must be int64 of shape (2, num_edges), got {got}")
    if ei.numel() and (int(ei.min()) < 0 or int(ei.max()) >= n):
        bad = int(((ei < 0) | (ei >= n)).any(dim=0).nonzero()[0])
        raise DataError(f"Graph.edge_index column {bad} = {ei[:, bad].tolist()} names a node outside 0..{n - 1}")
    e = ei.shape[1]
    w = g.edge_weight
    if w is not None and (w.shape != (e,) or not w.is_floating_point()):
        raise DataError(f"Graph.edge_weight must be a float tensor of shape ({e},), got {w.dtype} {tuple(w.shape)}")
    a = g.edge_attr
    if a is not None and (a.dim() < 1 or a.shape[0] != e):
        raise DataError(f"Graph.edge_attr must have one row per edge ({e}), got {tuple(a.shape)}")
    if g.y is not None and g.y.dim() >= 1 and g.y.shape[0] != n and g.batch is None:
        raise DataError(f"Graph.y must have one row per node ({n}) or be 0-d, got {tuple(g.y.shape)}")
    for name in _MASKS:
        mask = getattr(g, name)
        if mask is not None and (mask.shape != (n,) or mask.dtype != torch.bool):
            raise DataError(f"Graph.{name} must be a bool tensor of shape ({n},), got {mask.dtype} {tuple(mask.shape)}")
    if g.adj is not None and tuple(g.adj.shape) != (n, n):
        raise DataError(f"Graph.adj must be ({n}, {n}), got {tuple(g.adj.shape)}")
    b, ptr = g.batch, g.ptr
    if (b is None) != (ptr is None):
        raise DataError("Graph.batch and Graph.ptr must be given together (collate_graphs sets both)")
    if b is not None and ptr is not None:
        if b.shape != (n,) or b.dtype != torch.int64:
            raise DataError(f"Graph.batch must be int64 of shape ({n},), got {b.dtype} {tuple(b.shape)}")
        if ptr.dim() != 1 or ptr.numel() < 1 or ptr.dtype != torch.int64 or int(ptr[-1]) != n:
            raise DataError(f"Graph.ptr must be int64 node offsets ending at {n}, got {ptr.tolist()}")
    r = g.roots
    if not isinstance(r, Tensor) or r.dim() != 1 or r.dtype != torch.int64 or r.numel() < 1:
        got = f"{r.dtype} {tuple(r.shape)}" if isinstance(r, Tensor) else type(r).__name__
        raise DataError(f"Graph.roots must be a non-empty int64 vector (one node per example), got {got}")
    if n and (int(r.min()) < 0 or int(r.max()) >= n):
        raise DataError(f"Graph.roots names a node outside 0..{n - 1}")
    li = g.edge_label_index
    if li is not None:
        if li.dim() != 2 or li.shape[0] != 2 or li.dtype != torch.int64:
            raise DataError(f"Graph.edge_label_index must be int64 (2, num_pairs), got {li.dtype} {tuple(li.shape)}")
        if li.numel() and (int(li.min()) < 0 or int(li.max()) >= n):
            raise DataError(f"Graph.edge_label_index names a node outside 0..{n - 1}")


class Graph(tuple[Any, ...]):
    """One graph (or a batch of graphs merged into one disjoint graph), checked when made.

    Make one with keywords; every field but ``x`` and ``edge_index`` is optional.

    Attributes:
        roots: The root node of each dataset example the graph holds, ``int64`` ``(num_examples,)``:
            ``[0]`` (the default) for one whole graph, set by :func:`collate_graphs` and by neighbour
            sampling. Batch code counts samples by it.
        x: Node features ``(num_nodes, num_features)``, floating point.
        edge_index: ``(2, num_edges)`` ``int64`` source/target node indices.
        edge_weight: ``(num_edges,)`` floating-point edge weights, or None (all 1).
        edge_attr: Edge features ``(num_edges, ...)``, or None.
        y: Node labels ``(num_nodes,)`` (or a 0-d graph label), or None.
        train_mask: ``(num_nodes,)`` bool mask of the training nodes, or None.
        val_mask: Likewise for validation.
        test_mask: Likewise for testing.
        adj: A precomputed ``(num_nodes, num_nodes)`` (usually sparse) adjacency such as
            :class:`forge.graph.transforms.GCNNorm` makes, or None.
        batch: For a batch of graphs, the graph of each node ``(num_nodes,)`` ``int64``, else None.
        ptr: For a batch, node offsets of each graph ``(num_graphs + 1,)``, else None.
        edge_label_index: ``(2, num_pairs)`` node pairs to score (link prediction), or None.

    Raises:
        DataError: A tensor has the wrong shape or dtype, or an edge names a node that does not exist.

    Example:
        >>> g = Graph(x=torch.eye(3), edge_index=torch.tensor([[0, 1], [1, 2]]))
        >>> g.num_nodes, g.num_edges
        (3, 2)
    """

    __slots__ = ()

    def __new__(cls, *fields: Iterable[Tensor | None], **kwargs: Tensor | None) -> Graph:
        """Make a graph from keyword fields (checked), or rebuild one from its fields in order.

        ``Graph(x=..., edge_index=..., ...)`` is the way to make one. The one-iterable form
        ``Graph(values)`` is how generic batch code (the Trainer moving a batch to the GPU, the
        DataLoader pinning memory, pickling) rebuilds a graph it took apart; it checks the field
        count and types, not the node indices, which cannot change that way.

        Raises:
            DataError: An unknown or missing field, inconsistent fields, or a malformed rebuild.
        """
        if len(fields) > 1:
            raise DataError(f"Graph: pass the fields as keywords (or one iterable of all of them), got {len(fields)}")
        if fields:
            if kwargs:
                raise DataError("Graph: pass the fields either as one iterable or as keywords, not both")
            values = tuple(fields[0])
            if len(values) != len(GRAPH_FIELDS) or not all(v is None or isinstance(v, Tensor) for v in values):
                raise DataError(
                    f"Graph: rebuilding from fields needs {len(GRAPH_FIELDS)} tensors or None in the order "
                    f"{', '.join(GRAPH_FIELDS)}; got {len(values)} values"
                )
            return super().__new__(cls, values)
        unknown = sorted(set(kwargs) - set(GRAPH_FIELDS))
        if unknown:
            raise DataError(f"Graph: unknown field(s) {', '.join(unknown)}; fields are {', '.join(GRAPH_FIELDS)}")
        for required in ("x", "edge_index"):
            if kwargs.get(required) is None:
                raise DataError(f"Graph: {required} is required")
        if kwargs.get("roots") is None:
            x = kwargs["x"]
            kwargs["roots"] = torch.zeros(1, dtype=torch.int64, device=x.device if isinstance(x, Tensor) else None)
        graph = super().__new__(cls, tuple(kwargs.get(name) for name in GRAPH_FIELDS))
        _check(graph)
        return graph

    def __getnewargs__(self) -> tuple[tuple[Tensor | None, ...]]:
        return (tuple(self),)

    # Tensor fields cannot be compared with ==; two graphs are equal only when they are the same object.
    def __eq__(self, other: object) -> bool:
        return self is other

    def __ne__(self, other: object) -> bool:
        return self is not other

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        parts = [f"{name}={list(v.shape)}" for name, v in zip(GRAPH_FIELDS, self, strict=True) if isinstance(v, Tensor)]
        return f"Graph({', '.join(parts)})"

    @property
    def roots(self) -> Tensor:
        """The root node of each example this graph holds ``(num_examples,)``.

        ``[0]`` for one whole graph, the first node of each graph in a batch, the seed nodes of a
        neighbour-sampled subgraph.
        """
        return cast(Tensor, self[0])

    @property
    def x(self) -> Tensor:
        """Node features ``(num_nodes, num_features)``."""
        return cast(Tensor, self[1])

    @property
    def edge_index(self) -> Tensor:
        """``(2, num_edges)`` source/target node indices."""
        return cast(Tensor, self[2])

    @property
    def edge_weight(self) -> Tensor | None:
        """Edge weights ``(num_edges,)`` or None."""
        return cast("Tensor | None", self[3])

    @property
    def edge_attr(self) -> Tensor | None:
        """Edge features ``(num_edges, ...)`` or None."""
        return cast("Tensor | None", self[4])

    @property
    def y(self) -> Tensor | None:
        """Labels, or None."""
        return cast("Tensor | None", self[5])

    @property
    def train_mask(self) -> Tensor | None:
        """Training-node mask, or None."""
        return cast("Tensor | None", self[6])

    @property
    def val_mask(self) -> Tensor | None:
        """Validation-node mask, or None."""
        return cast("Tensor | None", self[7])

    @property
    def test_mask(self) -> Tensor | None:
        """Test-node mask, or None."""
        return cast("Tensor | None", self[8])

    @property
    def adj(self) -> Tensor | None:
        """Precomputed adjacency, or None."""
        return cast("Tensor | None", self[9])

    @property
    def batch(self) -> Tensor | None:
        """Graph id of each node in a batch, or None for a single graph."""
        return cast("Tensor | None", self[10])

    @property
    def ptr(self) -> Tensor | None:
        """Node offsets of each graph in a batch, or None."""
        return cast("Tensor | None", self[11])

    @property
    def edge_label_index(self) -> Tensor | None:
        """Node pairs to score, or None."""
        return cast("Tensor | None", self[12])

    # The counts below are shape entries, never int(...) of them: under torch.export a shape entry
    # is a symbolic size, and int() would specialize the exported program to the example's size.

    @property
    def num_nodes(self) -> int:
        """Number of nodes."""
        return self.x.shape[0]

    @property
    def num_edges(self) -> int:
        """Number of directed edges (an undirected edge counts twice)."""
        return self.edge_index.shape[1]

    @property
    def num_features(self) -> int:
        """Features per node."""
        return self.x.shape[1]

    @property
    def num_graphs(self) -> int:
        """Graphs merged into this one (1 unless it is a batch)."""
        return 1 if self.ptr is None else self.ptr.shape[0] - 1

    @property
    def num_examples(self) -> int:
        """Dataset examples in this graph: graphs of a batch, seeds of a sampled subgraph, else 1."""
        return self.roots.shape[0]

    @property
    def shape(self) -> torch.Size:
        """``(num_examples,)``, which generic batch code reads as the batch size (``shape[0]``)."""
        return torch.Size((self.num_examples,))

    @property
    def device(self) -> torch.device:
        """The device of the node features."""
        return self.x.device

    def replace(self, **changes: Tensor | None) -> Graph:
        """Return a copy with ``changes`` applied (checked like a new graph).

        Raises:
            DataError: A change names no field, or the result is inconsistent.
        """
        return Graph(**{**dict(zip(GRAPH_FIELDS, self, strict=True)), **changes})

    def to(self, device: torch.device | str, *, non_blocking: bool = False) -> Graph:
        """Return a copy with every tensor on ``device`` (``self`` when already there)."""
        device = torch.device(device)
        if all(v is None or v.device == device for v in self):
            return self
        return Graph(v if v is None else v.to(device, non_blocking=non_blocking) for v in self)

    def pin_memory(self) -> Graph:
        """Return a copy with dense tensors in pinned memory (what DataLoader's ``pin_memory`` calls)."""
        return Graph(v if v is None or v.is_sparse else v.pin_memory() for v in self)

    def is_undirected(self) -> bool:
        """Whether every edge ``(u, v)`` has its reverse ``(v, u)`` with the same weight."""
        n = self.num_nodes
        w = self.edge_weight if self.edge_weight is not None else torch.ones(self.num_edges, device=self.device)
        # Indices were checked when the graph was made, so torch's own invariant checks are redundant.
        a = torch.sparse_coo_tensor(self.edge_index, w, (n, n), check_invariants=False).coalesce()
        t = a.t().coalesce()
        return bool(torch.equal(a.indices(), t.indices()) and torch.equal(a.values(), t.values()))

    def in_degree(self) -> Tensor:
        """Number of edges arriving at each node ``(num_nodes,)`` ``int64``."""
        return torch.bincount(self.edge_index[1], minlength=self.num_nodes)

    def export_dynamic_dims(self) -> list[dict[int, str] | None]:
        """The dynamic dimensions of each field, by name, for ``torch.export`` (in field order).

        Nodes (``x``, masks, ``batch``, per-node ``y``), edges (``edge_index``'s columns, edge
        weights and features) and node pairs (``edge_label_index``) vary from graph to graph;
        so do graphs (``roots``, ``ptr``, per-graph ``y``) in a batch, and roots in a sampled
        subgraph with several. Forge's exporters read this (``forge.core.export.ExportableInput``).
        """
        batched = self.ptr is not None
        y = self.y
        y_dims: dict[int, str] | None = None
        if y is not None and y.dim() >= 1:
            per_graph = batched and y.shape[0] == self.num_graphs and y.shape[0] != self.num_nodes
            y_dims = {0: "graphs" if per_graph else "nodes"}
        dims: dict[str, dict[int, str] | None] = {
            "roots": {0: "graphs"} if batched else ({0: "roots"} if self.num_examples > 1 else None),
            "x": {0: "nodes"},
            "edge_index": {1: "edges"},
            "edge_weight": {0: "edges"},
            "edge_attr": {0: "edges"},
            "y": y_dims,
            "train_mask": {0: "nodes"},
            "val_mask": {0: "nodes"},
            "test_mask": {0: "nodes"},
            "adj": {0: "nodes", 1: "nodes"},
            "batch": {0: "nodes"},
            "ptr": {0: "graphs+1"},
            "edge_label_index": {1: "pairs"},
        }
        return [None if value is None else dims[name] for name, value in zip(GRAPH_FIELDS, self, strict=True)]

    def export_sample(self, size: int, generator: torch.Generator) -> Graph | None:
        """A random graph with the same fields as this one and other sizes, to verify an export.

        A single graph gets ``size`` more nodes (and ``2 * size`` more edges, ``size`` more pairs
        to score); a batch becomes ``size`` random graphs of about its mean size, batched. Edges
        and pairs name existing nodes; features, weights and labels follow this graph's ranges.
        None for a graph with a precomputed ``adj`` (a sparse matrix no exporter takes).

        Args:
            size: At least 1.
            generator: The random source.
        """
        if self.adj is not None:
            return None
        size = max(1, size)
        if self.ptr is None:
            roots = self.num_examples + size if self.num_examples > 1 else 1
            pairs = 0 if self.edge_label_index is None else self.edge_label_index.shape[1] + size
            return _random_graph_like(
                self, self.num_nodes + size, self.num_edges + 2 * size, pairs, roots, False, generator
            )
        graphs, nodes = self.num_graphs, self.num_nodes
        mean_nodes = max(2, nodes // max(graphs, 1))
        y = self.y
        per_graph_y = y is not None and y.dim() == 1 and y.shape[0] == graphs and y.shape[0] != nodes
        members = []
        for _ in range(size):
            n = int(torch.randint(max(2, mean_nodes // 2), mean_nodes + mean_nodes // 2 + 1, (), generator=generator))
            e = max(2, round(n * self.num_edges / max(nodes, 1)))
            p = 0 if self.edge_label_index is None else max(2, round(self.edge_label_index.shape[1] / graphs))
            members.append(_random_graph_like(self, n, e, p, 1, per_graph_y, generator))
        return collate_graphs(members)


def _draw_like(t: Tensor, shape: tuple[int, ...], generator: torch.Generator) -> Tensor:
    """Random values shaped ``shape`` in ``t``'s dtype and range: normal with its mean and spread
    for floats, uniform over its range for integers, fair coins for booleans."""
    if t.dtype == torch.bool:
        return torch.rand(shape, generator=generator) < 0.5
    if t.is_floating_point():
        values = t.detach().float()
        std = float(values.std()) if values.numel() > 1 else 1.0
        mean = float(values.mean()) if values.numel() else 0.0
        return (torch.randn(shape, generator=generator) * (std or 1.0) + mean).to(t.dtype)
    low, high = (int(t.min()), int(t.max())) if t.numel() else (0, 1)
    return torch.randint(low, high + 1, shape, generator=generator, dtype=t.dtype)


def _random_graph_like(
    template: Graph, nodes: int, edges: int, pairs: int, roots: int, graph_label: bool, generator: torch.Generator
) -> Graph:
    """One random (unbatched) graph with ``template``'s optional fields, in its dtypes and ranges."""
    fields: dict[str, Tensor | None] = {
        "x": _draw_like(template.x, (nodes, template.num_features), generator),
        "edge_index": torch.randint(0, nodes, (2, edges), generator=generator),
    }
    if roots > 1:
        fields["roots"] = torch.randint(0, nodes, (roots,), generator=generator)
    w = template.edge_weight
    if w is not None:
        low, high = (float(w.min()), float(w.max())) if w.numel() else (1.0, 1.0)
        fields["edge_weight"] = (torch.rand(edges, generator=generator) * (high - low) + low).to(w.dtype)
    a = template.edge_attr
    if a is not None:
        fields["edge_attr"] = _draw_like(a, (edges, *a.shape[1:]), generator)
    y = template.y
    if y is not None:
        fields["y"] = _draw_like(y, () if graph_label or y.dim() == 0 else (nodes, *y.shape[1:]), generator)
    for name in _MASKS:
        if getattr(template, name) is not None:
            fields[name] = torch.rand(nodes, generator=generator) < 0.5
    if pairs:
        fields["edge_label_index"] = torch.randint(0, nodes, (2, pairs), generator=generator)
    device = template.device
    return Graph(**{k: None if v is None else v.to(device) for k, v in fields.items()})


def _flatten_graph(graph: Graph) -> tuple[list[Tensor | None], None]:
    return list(graph), None


def _flatten_graph_with_keys(graph: Graph) -> tuple[list[tuple[pytree.KeyEntry, Tensor | None]], None]:
    return [(pytree.GetAttrKey(name), value) for name, value in zip(GRAPH_FIELDS, graph, strict=True)], None


def _unflatten_graph(values: Iterable[Any], context: None) -> Graph:
    # Not Graph(values): pytree transforms rebuild a graph around whatever they mapped its tensors
    # to (fake tensors, shapes, dynamic-shape specs), which the rebuild's type check would refuse.
    return tuple.__new__(Graph, tuple(values))


def _register_with_torch() -> None:
    """Make :class:`Graph` a pytree node and a type ``torch.load(weights_only=True)`` may rebuild.

    Idempotent: a second call does nothing. ``register_pytree_node`` is the API torch 2.4
    (forge's floor) through 2.13 share; ``register_dataclass`` fits dataclasses only, and a graph
    is a tuple. The safe-globals entry matters because a saved ExportedProgram keeps its example
    inputs: without it ``torch.export.load`` falls back to full unpickling of a graph export.
    """
    if Graph not in torch.serialization.get_safe_globals():
        torch.serialization.add_safe_globals([Graph])
    if Graph in pytree.SUPPORTED_NODES:
        return
    pytree.register_pytree_node(
        Graph,
        _flatten_graph,
        _unflatten_graph,
        serialized_type_name=f"{Graph.__module__}.{Graph.__qualname__}",
        flatten_with_keys_fn=_flatten_graph_with_keys,
    )


_register_with_torch()


class GraphSample(NamedTuple):
    """One dataset sample: a graph and its target.

    ``target`` holds a row per node (node tasks), per ``edge_label_index`` pair (link tasks), or is
    a 0-d tensor (a graph's class). :func:`collate_samples` concatenates targets along dimension 0
    (stacking 0-d ones), matching the node order of the merged graph.
    """

    graph: Graph
    target: Tensor


def _cat_field(values: list[Tensor | None], name: str) -> Tensor | None:
    present = [v is not None for v in values]
    if not any(present):
        return None
    if not all(present):
        raise DataError(f"collate_graphs: graph {present.index(False)} has no {name} but graph 0 has one")
    tensors = [v for v in values if v is not None]
    if tensors[0].dim() == 0:
        return torch.stack(tensors)
    return torch.cat(tensors)


def collate_graphs(graphs: Sequence[Graph]) -> Graph:
    """Merge graphs into one disjoint graph with a ``batch`` vector.

    Node indices of graph ``k`` are shifted by the nodes of graphs ``0..k-1``; node-level fields are
    concatenated, 0-d labels stacked into a ``(num_graphs,)`` vector.

    Args:
        graphs: At least one graph, none of them a batch already, all with the same optional fields.

    Returns:
        The merged graph, with ``batch`` (graph id of each node) and ``ptr`` (node offsets).

    Raises:
        DataError: ``graphs`` is empty, holds a batch or a non-graph, or the graphs' fields differ.

    Example:
        >>> g = Graph(x=torch.eye(2), edge_index=torch.tensor([[0], [1]]))
        >>> collate_graphs([g, g]).edge_index.tolist()
        [[0, 2], [1, 3]]
    """
    if not graphs:
        raise DataError("collate_graphs: no graphs to merge")
    for i, g in enumerate(graphs):
        if not isinstance(g, Graph):
            raise DataError(f"collate_graphs: item {i} is a {type(g).__name__}, not a Graph")
        if g.batch is not None:
            raise DataError(f"collate_graphs: item {i} is already a batch of {g.num_graphs} graphs")
        if g.adj is not None:
            raise DataError(f"collate_graphs: item {i} carries a precomputed adj; apply the transform after batching")
    dim = graphs[0].num_features
    for i, g in enumerate(graphs):
        if g.num_features != dim:
            raise DataError(f"collate_graphs: graph {i} has {g.num_features} node features, graph 0 has {dim}")
    sizes = torch.tensor([g.num_nodes for g in graphs], dtype=torch.int64)
    ptr = torch.zeros(len(graphs) + 1, dtype=torch.int64)
    torch.cumsum(sizes, 0, out=ptr[1:])
    offsets = ptr[:-1].tolist()
    device = graphs[0].device
    edge_index = torch.cat([g.edge_index + off for g, off in zip(graphs, offsets, strict=True)], dim=1)
    label_pairs: list[Tensor | None] = [
        None if g.edge_label_index is None else g.edge_label_index + off for g, off in zip(graphs, offsets, strict=True)
    ]
    batch = torch.repeat_interleave(torch.arange(len(graphs)), sizes).to(device)
    merged = {
        name: _cat_field([getattr(g, name) for g in graphs], name)
        for name in ("edge_weight", "edge_attr", "y", *_MASKS)
    }
    return Graph(
        roots=ptr[:-1].to(device),
        x=torch.cat([g.x for g in graphs]),
        edge_index=edge_index,
        batch=batch,
        ptr=ptr.to(device),
        edge_label_index=_cat_field(label_pairs, "edge_label_index"),
        edge_weight=merged["edge_weight"],
        edge_attr=merged["edge_attr"],
        y=merged["y"],
        train_mask=merged["train_mask"],
        val_mask=merged["val_mask"],
        test_mask=merged["test_mask"],
    )


def collate_samples(samples: Sequence[tuple[Graph, Tensor]]) -> tuple[Graph, Tensor]:
    """Batch ``(graph, target)`` samples: graphs by :func:`collate_graphs`, targets concatenated.

    Raises:
        DataError: The graphs cannot be merged, or a target is not a tensor.
    """
    graphs = [s[0] for s in samples]
    targets = [s[1] for s in samples]
    for i, t in enumerate(targets):
        if not isinstance(t, Tensor):
            raise DataError(f"collate_samples: sample {i}'s target is a {type(t).__name__}, not a tensor")
    if len(samples) == 1:
        # One graph (full-batch node tasks) passes through as is: no copy of a large graph per step.
        only = targets[0]
        return graphs[0], only.unsqueeze(0) if only.dim() == 0 else only
    target = torch.stack(targets) if targets[0].dim() == 0 else torch.cat(targets)
    return collate_graphs(graphs), target


def _collate_fn(batch: Sequence[Any], *, collate_fn_map: Any = None) -> Any:
    if isinstance(batch[0], GraphSample):
        return collate_samples(batch)
    return batch[0] if len(batch) == 1 else collate_graphs(batch)


# torch's documented extension point of default_collate: one collate function per element type.
default_collate_fn_map[GraphSample] = _collate_fn
default_collate_fn_map[Graph] = _collate_fn


class NodeSplit(torch.utils.data.Dataset[GraphSample]):
    """One split of a transductive node-classification task: a single ``(graph, target)`` sample.

    Every split holds the whole graph (message passing needs all of it); ``target`` is the label
    of each node in the split and :data:`IGNORE_INDEX` elsewhere, so a plain
    ``CrossEntropyLoss()(model(graph), target)`` trains or scores on exactly the split's nodes,
    and a metric with ``ignore_index=-100`` counts only them. Each training step of a recipe is
    then one full-batch step on the whole graph.

    Args:
        graph: The graph, with labels ``y``.
        mask: Bool mask of this split's nodes.

    Raises:
        DataError: The graph has no labels, or the mask does not fit it.
    """

    def __init__(self, graph: Graph, mask: Tensor) -> None:
        if graph.y is None:
            raise DataError("NodeSplit: the graph has no labels (Graph.y is None)")
        if mask.shape != (graph.num_nodes,) or mask.dtype != torch.bool:
            raise DataError(f"NodeSplit: mask must be bool ({graph.num_nodes},), got {mask.dtype} {tuple(mask.shape)}")
        self.graph = graph
        self.mask = mask
        self.target = torch.where(mask, graph.y, torch.full_like(graph.y, IGNORE_INDEX))

    def __len__(self) -> int:
        return 1

    def __getitem__(self, index: int) -> GraphSample:
        """The one sample ``(graph, target)``.

        Raises:
            IndexError: ``index`` is not 0 (or -1).
        """
        if index not in (0, -1):
            raise IndexError(f"a node split holds one graph; index {index} is out of range")
        return GraphSample(self.graph, self.target)
