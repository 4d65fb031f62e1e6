"""Making graphs from edge lists, CSV files, NetworkX graphs and SciPy sparse matrices (and back).

Every converter checks its input and raises :class:`forge.core.errors.DataError` naming what is
wrong and where (the row of a file, the position in a list) instead of building a broken graph.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Hashable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from forge.core.errors import DataError
from forge.graph.data import Graph

__all__ = ["from_csv", "from_edge_list", "from_networkx", "from_scipy", "to_networkx", "to_scipy"]


def _features(x: Tensor | None, num_nodes: int, where: str) -> Tensor:
    if x is None:
        return torch.ones(num_nodes, 1)
    if x.dim() != 2 or x.shape[0] != num_nodes:
        raise DataError(f"{where}: node features must have one row per node ({num_nodes}), got {tuple(x.shape)}")
    return x if x.is_floating_point() else x.to(torch.float32)


def _index_tensor(values: Any, where: str) -> Tensor:
    t = values if isinstance(values, Tensor) else torch.as_tensor(np.asarray(values))
    if t.is_floating_point():
        if not bool(torch.all(t == torch.round(t))):
            bad = int((t != torch.round(t)).flatten().nonzero()[0])
            raise DataError(
                f"{where}: node indices must be integers, got {t.flatten()[bad].item()!r} at position {bad}"
            )
        t = t.to(torch.int64)
    if (
        t.dtype == torch.bool
        or t.is_complex()
        or t.dtype not in (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)
    ):
        raise DataError(f"{where}: node indices must be integers, got {t.dtype}")
    return t.to(torch.int64)


def from_edge_list(
    edges: Sequence[Sequence[Any]] | Tensor | np.ndarray[Any, Any],
    *,
    num_nodes: int | None = None,
    x: Tensor | None = None,
    y: Tensor | None = None,
    weights: Sequence[float] | Tensor | None = None,
    undirected: bool = False,
) -> Graph:
    """Make a graph from ``(source, target)`` pairs of integer node indices.

    Args:
        edges: Pairs as a list, an ``(E, 2)`` array or tensor (or ``(2, E)`` tensor when E != 2).
        num_nodes: Number of nodes; left out, the largest index + 1 (or the rows of ``x``).
        x: Node features ``(num_nodes, F)``; left out, a constant 1 per node.
        y: Node labels, or None.
        weights: One weight per pair, or None.
        undirected: Add the reverse of every pair (with the same weight).

    Returns:
        The checked graph.

    Raises:
        DataError: A pair is malformed, an index is negative, non-integer or ``>= num_nodes``, or a
            feature/weight count does not match.

    Example:
        >>> from_edge_list([(0, 1), (1, 2)], undirected=True).num_edges
        4
    """
    where = "from_edge_list"
    t = _index_tensor(edges, where) if len(edges) else torch.zeros(0, 2, dtype=torch.int64)
    if t.dim() == 2 and t.shape[1] == 2:
        ei = t.t()
    elif t.dim() == 2 and t.shape[0] == 2:
        ei = t
    else:
        raise DataError(f"{where}: expected (E, 2) pairs, got shape {tuple(t.shape)}")
    ei = ei.contiguous()
    if ei.numel() and int(ei.min()) < 0:
        col = int((ei < 0).any(dim=0).nonzero()[0])
        raise DataError(f"{where}: pair {col} = {ei[:, col].tolist()} has a negative node index")
    n = (
        num_nodes
        if num_nodes is not None
        else (x.shape[0] if x is not None else (int(ei.max()) + 1 if ei.numel() else 0))
    )
    if ei.numel() and int(ei.max()) >= n:
        col = int((ei >= n).any(dim=0).nonzero()[0])
        raise DataError(f"{where}: pair {col} = {ei[:, col].tolist()} names a node outside 0..{n - 1}")
    w = None
    if weights is not None:
        w = torch.as_tensor(weights, dtype=torch.float32) if not isinstance(weights, Tensor) else weights.float()
        if w.shape != (ei.shape[1],):
            raise DataError(f"{where}: {ei.shape[1]} pairs but weights of shape {tuple(w.shape)}")
    if undirected:
        ei = torch.cat([ei, ei.flip(0)], dim=1)
        w = None if w is None else torch.cat([w, w])
    return Graph(x=_features(x, n, where), edge_index=ei, edge_weight=w, y=y)


def from_csv(
    path: str | os.PathLike[str],
    *,
    source: str = "source",
    target: str = "target",
    weight: str | None = None,
    num_nodes: int | None = None,
    undirected: bool = False,
    delimiter: str = ",",
) -> tuple[Graph, list[str]]:
    """Read an edge list from a CSV file with a header row.

    Node names are the strings in the two columns; they are numbered in order of first
    appearance (pure integers keep their own values when ``num_nodes`` is given).

    Args:
        path: The file.
        source: Column of the edge sources.
        target: Column of the edge targets.
        weight: Column of the edge weights, or None.
        num_nodes: With integer node names, the node count (isolated nodes allowed).
        undirected: Add the reverse of every edge.
        delimiter: Field separator.

    Returns:
        The graph (constant node features) and the name of each node in index order.

    Raises:
        DataError: The file is missing, a column is absent, a row is short, a weight is not a number,
            or (with ``num_nodes``) a node name is not an integer in range; the message names the line.
    """
    file = Path(path)
    if not file.is_file():
        raise DataError(f"from_csv: no file {file}")
    with file.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh, delimiter=delimiter)
        header = reader.fieldnames or []
        for col in (source, target, *([weight] if weight else [])):
            if col not in header:
                raise DataError(f"{file}: no column {col!r} (columns: {', '.join(header) or 'none'})")
        names: dict[Hashable, int] = {}
        pairs: list[tuple[int, int]] = []
        weights: list[float] = []
        for row in reader:
            line = reader.line_num
            a, b = row.get(source), row.get(target)
            if a is None or b is None or a == "" or b == "":
                raise DataError(f"{file}:{line}: missing {source!r} or {target!r}")
            ids = []
            for name in (a.strip(), b.strip()):
                if num_nodes is not None:
                    try:
                        idx = int(name)
                    except ValueError:
                        raise DataError(f"{file}:{line}: node {name!r} is not an integer index") from None
                    if not 0 <= idx < num_nodes:
                        raise DataError(f"{file}:{line}: node {idx} is outside 0..{num_nodes - 1}")
                    ids.append(idx)
                else:
                    ids.append(names.setdefault(name, len(names)))
            pairs.append((ids[0], ids[1]))
            if weight:
                raw = row.get(weight) or ""
                try:
                    weights.append(float(raw))
                except ValueError:
                    raise DataError(f"{file}:{line}: weight {raw!r} is not a number") from None
    if num_nodes is not None:
        node_names = [str(i) for i in range(num_nodes)]
    else:
        node_names = [str(k) for k in names]
    n = num_nodes if num_nodes is not None else len(names)
    edges = torch.tensor(pairs, dtype=torch.int64).reshape(-1, 2)
    graph = from_edge_list(edges, num_nodes=n, weights=weights if weight else None, undirected=undirected)
    return graph, node_names


def from_networkx(
    graph: Any,
    *,
    features: str | None = None,
    label: str | None = None,
    weight: str | None = None,
) -> tuple[Graph, list[Hashable]]:
    """Convert a NetworkX graph (undirected graphs give both directions of each edge).

    Args:
        graph: A ``networkx.Graph`` or ``DiGraph``.
        features: Node attribute holding a number or a vector per node; None for a constant 1.
        label: Node attribute holding an integer label, or None.
        weight: Edge attribute holding the weight, or None.

    Returns:
        The graph and the NetworkX node of each index.

    Raises:
        DataError: A node lacks the feature or label attribute, or feature lengths differ.
    """
    nodes = list(graph.nodes)
    index = {node: i for i, node in enumerate(nodes)}
    src: list[int] = []
    dst: list[int] = []
    ws: list[float] = []
    for u, v, data in graph.edges(data=True):
        pairs = [(index[u], index[v])] if graph.is_directed() else [(index[u], index[v]), (index[v], index[u])]
        for a, b in pairs:
            src.append(a)
            dst.append(b)
            if weight is not None:
                if weight not in data:
                    raise DataError(f"from_networkx: edge ({u!r}, {v!r}) has no attribute {weight!r}")
                ws.append(float(data[weight]))
    x = None
    if features is not None:
        rows = []
        for node in nodes:
            if features not in graph.nodes[node]:
                raise DataError(f"from_networkx: node {node!r} has no attribute {features!r}")
            rows.append(np.atleast_1d(np.asarray(graph.nodes[node][features], dtype=np.float32)))
        if len({r.shape for r in rows}) > 1:
            raise DataError(f"from_networkx: node attribute {features!r} has vectors of different lengths")
        x = torch.from_numpy(np.stack(rows)) if rows else torch.zeros(0, 1)
    y = None
    if label is not None:
        labels = []
        for node in nodes:
            if label not in graph.nodes[node]:
                raise DataError(f"from_networkx: node {node!r} has no attribute {label!r}")
            labels.append(graph.nodes[node][label])
        y = _index_tensor(labels, f"from_networkx label {label!r}")
    edges = torch.tensor([src, dst], dtype=torch.int64).reshape(2, -1)
    g = from_edge_list(edges, num_nodes=len(nodes), x=x, y=y, weights=ws if weight is not None else None)
    return g, nodes


def from_scipy(matrix: Any, *, x: Tensor | None = None, y: Tensor | None = None) -> Graph:
    """Convert a square SciPy sparse matrix: entry ``(i, j)`` is an edge ``i -> j`` weighted by its value.

    Raises:
        DataError: The matrix is not square or not a SciPy sparse matrix.
    """
    import scipy.sparse as sp

    if not sp.issparse(matrix):
        raise DataError(f"from_scipy: expected a scipy.sparse matrix, got {type(matrix).__name__}")
    if matrix.shape[0] != matrix.shape[1]:
        raise DataError(f"from_scipy: the adjacency must be square, got {matrix.shape}")
    coo = matrix.tocoo()
    edges = torch.from_numpy(np.stack([coo.row, coo.col]).astype(np.int64))
    w = torch.from_numpy(np.asarray(coo.data, dtype=np.float32))
    return from_edge_list(edges, num_nodes=int(matrix.shape[0]), x=x, y=y, weights=w)


def to_scipy(graph: Graph) -> Any:
    """The weighted adjacency as a ``scipy.sparse.coo_matrix`` (duplicate edges kept, summed on conversion)."""
    import scipy.sparse as sp

    ei = graph.edge_index.cpu().numpy()
    w = np.ones(ei.shape[1], dtype=np.float32) if graph.edge_weight is None else graph.edge_weight.cpu().numpy()
    return sp.coo_matrix((w, (ei[0], ei[1])), shape=(graph.num_nodes, graph.num_nodes))


def to_networkx(graph: Graph, *, directed: bool = True) -> Any:
    """A NetworkX ``DiGraph`` (or ``Graph``) with nodes ``0..N-1`` and a ``weight`` per edge."""
    import networkx as nx

    g: Any = nx.DiGraph() if directed else nx.Graph()
    g.add_nodes_from(range(graph.num_nodes))
    ei = graph.edge_index.cpu().tolist()
    w: Iterable[float] = [1.0] * graph.num_edges if graph.edge_weight is None else graph.edge_weight.cpu().tolist()
    g.add_weighted_edges_from(zip(ei[0], ei[1], w, strict=True))
    return g
