"""forge-serve: serving forge models.

The HTTP server and the ``forge serve`` command come in a later release. This one ships the piece
that stands alone: the JSON tensor payload codec every request and response goes through::

    from forge.core import registry
    codec = registry.build("transform", "serve.json_tensor", dtype="float32", shape=[-1, 3])
    tensor = codec({"shape": [2, 3], "data": [[1, 2, 3], [4, 5, 6]]})

Importing this package is light (no torch).
"""

from __future__ import annotations

from importlib import metadata

__all__ = ["FORGE_PLUGIN_API", "__version__"]

FORGE_PLUGIN_API = 1
"""The forge plugin API version this package implements (also set in :mod:`forge.serve.plugin`)."""

try:
    __version__: str = metadata.version("forge-serve")
except metadata.PackageNotFoundError:  # running from a source checkout that is not installed
    __version__ = "0.1.0"
