"""Graph neural network layers, readouts and PyG weight conversion (imports torch)."""

from __future__ import annotations

from forge.graph.nn.conv import GATConv, GCNConv, GINConv, SAGEConv
from forge.graph.nn.ops import (
    SparseAdjacency,
    add_remaining_self_loops,
    gcn_edge_weights,
    scatter_max,
    scatter_mean,
    scatter_sum,
    segment_softmax,
)
from forge.graph.nn.pool import AttentionPooling, global_add_pool, global_max_pool, global_mean_pool
from forge.graph.nn.pyg import PYG_LAYERS, convert_pyg_state_dict

__all__ = [
    "PYG_LAYERS",
    "AttentionPooling",
    "GATConv",
    "GCNConv",
    "GINConv",
    "SAGEConv",
    "SparseAdjacency",
    "add_remaining_self_loops",
    "convert_pyg_state_dict",
    "gcn_edge_weights",
    "global_add_pool",
    "global_max_pool",
    "global_mean_pool",
    "scatter_max",
    "scatter_mean",
    "scatter_sum",
    "segment_softmax",
]
