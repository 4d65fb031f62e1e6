"""forge-graph: graph data, datasets, neighbour sampling and pure-PyTorch graph neural networks.

Importing this package is light (no torch); components are reached through forge's registry::

    from forge.core import registry
    splits = registry.build("dataset", "graph.karate_club")
    model = registry.build("model", "graph.gcn", in_features=34, num_classes=2)
    graph, target = splits.train[0]
    scores = model(graph)                       # (34, 2)

or directly from :mod:`forge.graph.data` (the Graph type, batching), :mod:`forge.graph.convert`,
:mod:`forge.graph.nn` (layers, pooling, PyG weight conversion), :mod:`forge.graph.models`,
:mod:`forge.graph.datasets`, :mod:`forge.graph.sampling`, :mod:`forge.graph.links` and
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
    __version__ = "0.2.0"
