"""A node-classification dataset read from CSV files: an edge list and a node-label table."""

from __future__ import annotations

import csv
from pathlib import Path

import torch

from forge.core.data import DatasetInfo, DatasetSplits, Schema, TensorSpec, fingerprint_files
from forge.core.errors import DataError
from forge.graph.convert import from_csv
from forge.graph.data import NodeSplit
from forge.graph.datasets.configs import EdgeListConfig
from forge.graph.datasets.karate import stratified_node_masks

__all__ = ["build_edge_list"]


def _labels(path: Path, node_col: str, label_col: str) -> dict[str, int]:
    if not path.is_file():
        raise DataError(f"edge_list: no label file {path}")
    out: dict[str, int] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        for col in (node_col, label_col):
            if col not in header:
                raise DataError(f"{path}: no column {col!r} (columns: {', '.join(header) or 'none'})")
        for row in reader:
            raw = (row.get(label_col) or "").strip()
            try:
                out[(row.get(node_col) or "").strip()] = int(raw)
            except ValueError:
                raise DataError(f"{path}:{reader.line_num}: label {raw!r} is not an integer") from None
    return out


def build_edge_list(config: EdgeListConfig) -> DatasetSplits:
    """Build a transductive node-classification dataset from two CSV files.

    Returns:
        Splits of :class:`NodeSplit` with stratified, seeded masks.

    Raises:
        DataError: A file or column is missing, a node has no label, or a label is negative.
    """
    edges, labels_path = Path(config.edges), Path(config.labels)
    graph, names = from_csv(
        edges, source=config.source, target=config.target, weight=config.weight, undirected=config.undirected
    )
    table = _labels(labels_path, config.node, config.label)
    missing = [name for name in names if name not in table]
    if missing:
        raise DataError(f"{labels_path}: no label for node(s) {', '.join(missing[:5])}")
    y = torch.tensor([table[name] for name in names], dtype=torch.int64)
    if bool((y < 0).any()):
        raise DataError(f"{labels_path}: labels must be >= 0")
    n = graph.num_nodes
    x = torch.eye(n) if config.features == "identity" else graph.in_degree().to(torch.float32).unsqueeze(1)
    masks = [
        torch.from_numpy(m)
        for m in stratified_node_masks(y.numpy(), config.val_fraction, config.test_fraction, config.seed)
    ]
    graph = graph.replace(x=x, y=y, train_mask=masks[0], val_mask=masks[1], test_mask=masks[2])
    info = DatasetInfo(
        name="graph.edge_list",
        version="1",
        source=f"{edges} + {labels_path}",
        license="as the files'",
        fingerprint=fingerprint_files([edges, labels_path]),
        num_classes=int(y.max()) + 1,
        task="graph",
        # "input" is the node-feature matrix of a graph: recipes take model.in_features from it.
        schema=Schema({"input": TensorSpec(shape=("nodes", graph.num_features), dtype="float32")}),
        extra={"level": "node", "num_nodes": n, "num_edges": graph.num_edges, "nodes": names[:1000]},
    )
    return DatasetSplits(
        train=NodeSplit(graph, masks[0]),
        val=NodeSplit(graph, masks[1]) if bool(masks[1].any()) else None,
        test=NodeSplit(graph, masks[2]) if bool(masks[2].any()) else None,
        info=info,
    )
