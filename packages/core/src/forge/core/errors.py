"""forge's exception types.

Every error forge raises for bad input is one of these, and its message says what was wrong,
where (file, key path, sample index, plugin name) and, where it can, what to do about it.
"""

from __future__ import annotations

__all__ = [
    "CheckpointError",
    "ConfigError",
    "DataError",
    "ExportError",
    "ForgeError",
    "PluginError",
    "RegistryError",
    "SchemaError",
]


class ForgeError(Exception):
    """Base class of every error forge raises on purpose."""


class ConfigError(ForgeError, ValueError):
    """A configuration file, override or value is invalid; the message names the key path."""


class RegistryError(ForgeError, LookupError):
    """A component is unknown, ambiguous, or cannot be built."""


class PluginError(ForgeError):
    """A plugin failed to import, register, or declares an unsupported plugin API."""


class CheckpointError(ForgeError):
    """A checkpoint is missing, corrupted, truncated or incompatible."""


class DataError(ForgeError):
    """A dataset or a sample is invalid."""


class SchemaError(DataError):
    """A batch or sample broke its declared schema; the message names the sample and the rule."""


class ExportError(ForgeError):
    """A model could not be exported or the export failed verification."""
