"""Config classes of the graph transforms (no torch import)."""

from __future__ import annotations

import attrs

from forge.core.config import field

__all__ = ["GCNNormConfig"]


@attrs.frozen
class GCNNormConfig:
    """Kipf & Welling's renormalized adjacency: D^-1/2 (A + I) D^-1/2 with D the row sums of A + I."""

    add_self_loops: bool = field(True, help="Give each node without a self loop one (the '+ I' of GCN).")
    fill_value: float = field(1.0, help="Weight of the added self loops (2.0 gives the 'improved' GCN).", gt=0)
    use_edge_weight: bool = field(True, help="Use the graph's edge weights; off, every edge weighs 1.")
