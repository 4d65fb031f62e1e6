"""Graph transforms. Light to import: each name loads (with torch) on first access."""

from __future__ import annotations

from typing import TYPE_CHECKING

from forge.core import lazy_exports

if TYPE_CHECKING:
    from forge.graph.transforms.configs import GCNNormConfig as GCNNormConfig
    from forge.graph.transforms.gcn_norm import GCNNorm as GCNNorm
    from forge.graph.transforms.gcn_norm import gcn_norm_adjacency as gcn_norm_adjacency

__getattr__, __dir__ = lazy_exports(__name__, __file__)
