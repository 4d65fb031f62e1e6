"""forge-graph: graph data, graph datasets and graph transforms.

Importing this package is light (no torch); components are reached through forge's registry::

    from forge.core import registry
    splits = registry.build("dataset", "graph.karate_club")
    norm = registry.build("transform", "graph.gcn_norm")
    graph, target = norm(splits.train[0])

or directly from :mod:`forge.graph.data`, :mod:`forge.graph.datasets` and
:mod:`forge.graph.transforms`, which import torch.
"""

from __future__ import annotations

from importlib import metadata

__all__ = ["FORGE_PLUGIN_API", "__version__"]

FORGE_PLUGIN_API = 1
"""The forge plugin API version this package implements (also set in :mod:`forge.graph.plugin`)."""

try:
    __version__: str = metadata.version("forge-graph")
except metadata.PackageNotFoundError:  # running from a source checkout that is not installed
    __version__ = "0.1.0"
