"""forge's data pipelines: loaders, sharding, streaming, caching, schemas, provenance, imbalance.

Importing this package is light: each name below loads on first attribute access, so
``import forge.core.data`` never imports torch.

Example:
    >>> from forge.core.data import LoaderConfig, build_loader
    >>> loader = build_loader(splits.train, LoaderConfig(batch_size=64), seed=0)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from forge.core._lazy import lazy_exports

if TYPE_CHECKING:
    from forge.core._digest import digest as digest
    from forge.core.data.cache import CachedDataset as CachedDataset
    from forge.core.data.cache import DiskCache as DiskCache
    from forge.core.data.cache import RamCache as RamCache
    from forge.core.data.compose import Compose as Compose
    from forge.core.data.compose import Transform as Transform
    from forge.core.data.compose import from_config as from_config
    from forge.core.data.configs import LoaderConfig as LoaderConfig
    from forge.core.data.fingerprint import fingerprint_dataset as fingerprint_dataset
    from forge.core.data.fingerprint import fingerprint_files as fingerprint_files
    from forge.core.data.fingerprint import fingerprint_samples as fingerprint_samples
    from forge.core.data.imbalance import OverSampler as OverSampler
    from forge.core.data.imbalance import UnderSampler as UnderSampler
    from forge.core.data.imbalance import class_weights as class_weights
    from forge.core.data.imbalance import smote as smote
    from forge.core.data.loader import ForgeDataLoader as ForgeDataLoader
    from forge.core.data.loader import build_loader as build_loader
    from forge.core.data.pii import PIIScrubber as PIIScrubber
    from forge.core.data.pii import scrub as scrub
    from forge.core.data.schema import Schema as Schema
    from forge.core.data.schema import SchemaViolation as SchemaViolation
    from forge.core.data.schema import SchemaWarning as SchemaWarning
    from forge.core.data.schema import TensorSpec as TensorSpec
    from forge.core.data.schema import validate_batch as validate_batch
    from forge.core.data.schema import validate_sample as validate_sample
    from forge.core.data.seeding import derive_seed as derive_seed
    from forge.core.data.sharding import ResumableSampler as ResumableSampler
    from forge.core.data.sharding import ShardedIterableDataset as ShardedIterableDataset
    from forge.core.data.streaming import CsvStream as CsvStream
    from forge.core.data.streaming import JsonlStream as JsonlStream
    from forge.core.data.streaming import SafetensorsShardStream as SafetensorsShardStream
    from forge.core.data.tabular import TabularPreprocessor as TabularPreprocessor
    from forge.core.data.tabular import build_tabular as build_tabular
    from forge.core.data.text import NormalizeText as NormalizeText
    from forge.core.data.text import iter_lines as iter_lines
    from forge.core.data.text import normalize_text as normalize_text
    from forge.core.data.text import read_text as read_text
    from forge.core.data.timeseries import WindowDataset as WindowDataset
    from forge.core.data.timeseries import window_splits as window_splits
    from forge.core.data.transfer import InlineCollate as InlineCollate
    from forge.core.data.types import DatasetInfo as DatasetInfo
    from forge.core.data.types import DatasetSplits as DatasetSplits

__getattr__, __dir__ = lazy_exports(__name__, __file__)
