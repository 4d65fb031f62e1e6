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
    from forge.core.data._cache import CachedDataset as CachedDataset
    from forge.core.data._cache import DiskCache as DiskCache
    from forge.core.data._cache import RamCache as RamCache
    from forge.core.data._compose import Compose as Compose
    from forge.core.data._compose import Transform as Transform
    from forge.core.data._compose import config_from_args as config_from_args
    from forge.core.data._compose import from_config as from_config
    from forge.core.data._configs import LoaderConfig as LoaderConfig
    from forge.core.data._fingerprint import fingerprint_dataset as fingerprint_dataset
    from forge.core.data._fingerprint import fingerprint_files as fingerprint_files
    from forge.core.data._fingerprint import fingerprint_samples as fingerprint_samples
    from forge.core.data._imbalance import OverSampler as OverSampler
    from forge.core.data._imbalance import UnderSampler as UnderSampler
    from forge.core.data._imbalance import class_weights as class_weights
    from forge.core.data._imbalance import smote as smote
    from forge.core.data._loader import ForgeDataLoader as ForgeDataLoader
    from forge.core.data._loader import build_loader as build_loader
    from forge.core.data._pii import PIIScrubber as PIIScrubber
    from forge.core.data._pii import scrub as scrub
    from forge.core.data._schema import Schema as Schema
    from forge.core.data._schema import SchemaViolation as SchemaViolation
    from forge.core.data._schema import SchemaWarning as SchemaWarning
    from forge.core.data._schema import TensorSpec as TensorSpec
    from forge.core.data._schema import validate_batch as validate_batch
    from forge.core.data._schema import validate_sample as validate_sample
    from forge.core.data._seeding import derive_seed as derive_seed
    from forge.core.data._sharding import ResumableSampler as ResumableSampler
    from forge.core.data._sharding import ShardedIterableDataset as ShardedIterableDataset
    from forge.core.data._streaming import CsvStream as CsvStream
    from forge.core.data._streaming import JsonlStream as JsonlStream
    from forge.core.data._streaming import SafetensorsShardStream as SafetensorsShardStream
    from forge.core.data._tabular import TabularPreprocessor as TabularPreprocessor
    from forge.core.data._tabular import build_tabular as build_tabular
    from forge.core.data._text import NormalizeText as NormalizeText
    from forge.core.data._text import decode_utf8 as decode_utf8
    from forge.core.data._text import iter_lines as iter_lines
    from forge.core.data._text import normalize_text as normalize_text
    from forge.core.data._text import read_text as read_text
    from forge.core.data._timeseries import WindowDataset as WindowDataset
    from forge.core.data._timeseries import window_splits as window_splits
    from forge.core.data._transfer import InlineCollate as InlineCollate
    from forge.core.data._types import DatasetInfo as DatasetInfo
    from forge.core.data._types import DatasetSplits as DatasetSplits

__getattr__, __dir__ = lazy_exports(__name__, __file__)
