"""forge-serve: a production inference server for forge models, and its payload codecs.

``forge serve RUN_DIR`` (added to forge's CLI by this plugin) serves any model the registry can
rebuild from a run directory, an export, or a folder of versioned run directories: dynamic
batching, binary tensor bodies, the Open Inference Protocol, SSE streaming, API keys, canary
releases, Prometheus metrics and graceful shutdown. In Python::

    from forge.serve import ServeConfig, serve
    serve(ServeConfig(models=("runs/digits",), workers=2))

or build the ASGI app yourself with :func:`create_app`. Importing this package is light (no torch,
no fastapi): each name below is imported on first use.
"""

from __future__ import annotations

from importlib import metadata
from typing import TYPE_CHECKING

from forge.core import lazy_exports

if TYPE_CHECKING:
    from forge.serve.app import ServerState as ServerState
    from forge.serve.app import create_app as create_app
    from forge.serve.batching import Batcher as Batcher
    from forge.serve.canary import CanaryPolicy as CanaryPolicy
    from forge.serve.canary import Router as Router
    from forge.serve.configs import ApiKeyConfig as ApiKeyConfig
    from forge.serve.configs import BatchingConfig as BatchingConfig
    from forge.serve.configs import CanaryConfig as CanaryConfig
    from forge.serve.configs import LimitsConfig as LimitsConfig
    from forge.serve.configs import ServeConfig as ServeConfig
    from forge.serve.configs import TlsConfig as TlsConfig
    from forge.serve.drift import DriftMonitor as DriftMonitor
    from forge.serve.drift import save_reference as save_reference
    from forge.serve.errors import RequestError as RequestError
    from forge.serve.models import ServedModel as ServedModel
    from forge.serve.payloads import JsonTensorCodec as JsonTensorCodec
    from forge.serve.schema import InputSchema as InputSchema
    from forge.serve.server import serve as serve
    from forge.serve.streaming import StreamingModel as StreamingModel

__all__ = [
    "FORGE_PLUGIN_API",
    "ApiKeyConfig",
    "Batcher",
    "BatchingConfig",
    "CanaryConfig",
    "CanaryPolicy",
    "DriftMonitor",
    "InputSchema",
    "JsonTensorCodec",
    "LimitsConfig",
    "RequestError",
    "Router",
    "ServeConfig",
    "ServedModel",
    "ServerState",
    "StreamingModel",
    "TlsConfig",
    "__version__",
    "create_app",
    "save_reference",
    "serve",
]

FORGE_PLUGIN_API = 1
"""The forge plugin API version this package implements (also set in :mod:`forge.serve.plugin`)."""

try:
    __version__: str = metadata.version("forge-serve")
except metadata.PackageNotFoundError:  # running from a source checkout that is not installed
    __version__ = "0.2.0"

__getattr__, __dir__ = lazy_exports(__name__, __file__)
