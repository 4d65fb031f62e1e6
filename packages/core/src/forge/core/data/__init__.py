"""forge's data pipelines: loaders, sharding, streaming, caching, schemas, provenance, imbalance.

Importing this package is light: the value types (:class:`DatasetSplits`, :class:`DatasetInfo`,
:class:`Schema`, :class:`LoaderConfig`) load at once; everything that needs torch loads on first
attribute access, so ``import forge.core.data`` never imports torch.

Example:
    >>> from forge.core.data import LoaderConfig, build_loader
    >>> loader = build_loader(splits.train, LoaderConfig(batch_size=64), seed=0)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from forge.core.data.configs import LoaderConfig
from forge.core.data.schema import Schema, SchemaViolation, SchemaWarning, TensorSpec, validate_batch, validate_sample
from forge.core.data.types import DatasetInfo, DatasetSplits

if TYPE_CHECKING:  # pragma: no cover - typing only
    from forge.core.data.cache import CachedDataset, DiskCache, RamCache
    from forge.core.data.compose import Compose, Transform, from_config
    from forge.core.data.fingerprint import fingerprint_dataset, fingerprint_files, fingerprint_samples
    from forge.core.data.imbalance import OverSampler, UnderSampler, class_weights, smote
    from forge.core.data.loader import ForgeDataLoader, build_loader
    from forge.core.data.pii import PIIScrubber, scrub
    from forge.core.data.seeding import derive_seed
    from forge.core.data.sharding import ResumableSampler, ShardedIterableDataset
    from forge.core.data.streaming import CsvStream, JsonlStream, SafetensorsShardStream
    from forge.core.data.tabular import TabularPreprocessor, build_tabular
    from forge.core.data.text import NormalizeText, iter_lines, normalize_text, read_text
    from forge.core.data.timeseries import WindowDataset, window_splits
    from forge.core.data.transfer import InlineCollate

_LAZY = {
    "CachedDataset": "cache",
    "DiskCache": "cache",
    "RamCache": "cache",
    "Compose": "compose",
    "Transform": "compose",
    "from_config": "compose",
    "fingerprint_dataset": "fingerprint",
    "fingerprint_files": "fingerprint",
    "fingerprint_samples": "fingerprint",
    "OverSampler": "imbalance",
    "UnderSampler": "imbalance",
    "class_weights": "imbalance",
    "smote": "imbalance",
    "ForgeDataLoader": "loader",
    "build_loader": "loader",
    "PIIScrubber": "pii",
    "scrub": "pii",
    "derive_seed": "seeding",
    "ResumableSampler": "sharding",
    "ShardedIterableDataset": "sharding",
    "CsvStream": "streaming",
    "JsonlStream": "streaming",
    "SafetensorsShardStream": "streaming",
    "TabularPreprocessor": "tabular",
    "build_tabular": "tabular",
    "NormalizeText": "text",
    "iter_lines": "text",
    "normalize_text": "text",
    "read_text": "text",
    "WindowDataset": "timeseries",
    "window_splits": "timeseries",
    "InlineCollate": "transfer",
}

# Written out (not computed from _LAZY) so that linters and type checkers see the public surface.
__all__ = [
    "CachedDataset",
    "Compose",
    "CsvStream",
    "DatasetInfo",
    "DatasetSplits",
    "DiskCache",
    "ForgeDataLoader",
    "InlineCollate",
    "JsonlStream",
    "LoaderConfig",
    "NormalizeText",
    "OverSampler",
    "PIIScrubber",
    "RamCache",
    "ResumableSampler",
    "SafetensorsShardStream",
    "Schema",
    "SchemaViolation",
    "SchemaWarning",
    "ShardedIterableDataset",
    "TabularPreprocessor",
    "TensorSpec",
    "Transform",
    "UnderSampler",
    "WindowDataset",
    "build_loader",
    "build_tabular",
    "class_weights",
    "derive_seed",
    "fingerprint_dataset",
    "fingerprint_files",
    "fingerprint_samples",
    "from_config",
    "iter_lines",
    "normalize_text",
    "read_text",
    "scrub",
    "smote",
    "validate_batch",
    "validate_sample",
    "window_splits",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'forge.core.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"forge.core.data.{module}"), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
