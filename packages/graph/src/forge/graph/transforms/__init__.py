"""Graph transforms."""

from __future__ import annotations

from forge.graph.transforms.configs import GCNNormConfig
from forge.graph.transforms.gcn_norm import GCNNorm, gcn_norm_adjacency

__all__ = ["GCNNorm", "GCNNormConfig", "gcn_norm_adjacency"]
