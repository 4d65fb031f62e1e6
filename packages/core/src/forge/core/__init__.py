"""forge-core: interfaces, registry, configuration, logging, trainer and CLI of the forge SDK.

The face of the package is small and light (importing it does not import torch)::

    from forge.core import registry
    model = registry.build("model", "core.mlp", in_features=16, num_classes=3)
"""

from __future__ import annotations

from forge.core.errors import (
    CheckpointError,
    ConfigError,
    DataError,
    ExportError,
    ForgeError,
    PluginError,
    RegistryError,
    SchemaError,
)
from forge.core.plugins import PLUGIN_API_VERSION, SUPPORTED_PLUGIN_APIS, core_version
from forge.core.registry import ComponentSpec, Registry, registry

__version__ = core_version()

__all__ = [
    "PLUGIN_API_VERSION",
    "SUPPORTED_PLUGIN_APIS",
    "CheckpointError",
    "ComponentSpec",
    "ConfigError",
    "DataError",
    "ExportError",
    "ForgeError",
    "PluginError",
    "Registry",
    "RegistryError",
    "SchemaError",
    "__version__",
    "registry",
]
