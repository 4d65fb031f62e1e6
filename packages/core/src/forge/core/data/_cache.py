"""A cache of preprocessed samples, in RAM or on disk, keyed by data fingerprint and pipeline config.

The key is ``sha256(dataset fingerprint + canonical JSON of the transform pipeline's config)``, so
changing either the data or any transform parameter selects a fresh cache: stale entries are never
served. On disk each sample is one safetensors file (tensors plus a JSON description of the
sample's structure and plain values in the file's metadata; no pickle), written atomically
(:mod:`forge.core._atomic`), so several DataLoader workers (or processes) can fill the same cache
concurrently and a reader only ever sees whole files. A file
that fails to load (truncated by a crash, say) counts as a miss and is rewritten.

Use the disk cache with DataLoader workers: a RAM cache lives in one process, and each worker
holds its own copy.

Random augmentations must come *after* the cached part of a pipeline, or every epoch would replay
the first epoch's random draws: wrap only the deterministic preprocessing in :class:`CachedDataset`.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch.utils.data import Dataset

from forge.core._atomic import write_file, write_json
from forge.core._digest import canonical_json, digest
from forge.core.data._compose import to_config
from forge.core.errors import DataError

__all__ = ["CachedDataset", "DiskCache", "RamCache", "SampleStore", "cache_key", "decode_sample", "encode_sample"]

_META_KEY = "forge.sample"


def cache_key(fingerprint: str, pipeline_config: Any) -> str:
    """Return the cache key of a dataset fingerprint and a transform pipeline config (hex sha256)."""
    return digest({"fingerprint": fingerprint, "pipeline": pipeline_config, "scheme": "cache:v1"})


def encode_sample(sample: Any) -> tuple[dict[str, torch.Tensor], str]:
    """Split a sample into its tensors and a JSON description of everything else.

    Supports tensors, ``None``, bools, ints, floats, strings and nested tuples, lists and
    string-keyed mappings.

    Returns:
        ``(tensors by generated name, structure JSON)``.

    Raises:
        DataError: For a value that cannot be stored without pickle.
    """
    tensors: dict[str, torch.Tensor] = {}

    def walk(value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            name = str(len(tensors))
            # clone: safetensors refuses tensors that share storage, and views may be strided
            tensors[name] = value.detach().to("cpu").contiguous().clone()
            return {"t": name}
        if value is None or isinstance(value, (bool, int, str)):
            return {"v": value}
        if isinstance(value, float):
            return {"f": repr(value)}  # repr round-trips exactly, NaN and inf included
        if isinstance(value, tuple):
            return {"tuple": [walk(v) for v in value]}
        if isinstance(value, list):
            return {"list": [walk(v) for v in value]}
        if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
            return {"dict": {k: walk(v) for k, v in value.items()}}
        raise DataError(f"cannot cache a sample value of type {type(value).__name__} (tensors and plain values only)")

    structure = walk(sample)
    return tensors, canonical_json(structure)


def decode_sample(tensors: Mapping[str, torch.Tensor], structure: str) -> Any:
    """Rebuild a sample from :func:`encode_sample` output."""

    def build(node: Mapping[str, Any]) -> Any:
        if "t" in node:
            return tensors[node["t"]]
        if "v" in node:
            return node["v"]
        if "f" in node:
            return float(node["f"])
        if "tuple" in node:
            return tuple(build(n) for n in node["tuple"])
        if "list" in node:
            return [build(n) for n in node["list"]]
        return {k: build(n) for k, n in node["dict"].items()}

    return build(json.loads(structure))


class SampleStore(Protocol):
    """Where cached samples live."""

    def get(self, key: str, index: int) -> Any | None:
        """Return the cached sample, or ``None`` on a miss."""

    def put(self, key: str, index: int, sample: Any) -> None:
        """Store a sample."""


class RamCache:
    """In-process cache (one copy per DataLoader worker); bounded by ``max_items`` when given."""

    def __init__(self, max_items: int | None = None) -> None:
        """Args:
        max_items: Stop adding entries beyond this many (``None``: unbounded).
        """
        self.max_items = max_items
        self._items: dict[tuple[str, int], Any] = {}

    def get(self, key: str, index: int) -> Any | None:
        """Return the cached sample, or ``None``."""
        return self._items.get((key, index))

    def put(self, key: str, index: int, sample: Any) -> None:
        """Store a sample unless the cache is full."""
        if self.max_items is None or len(self._items) < self.max_items:
            self._items[(key, index)] = sample

    def clear(self) -> None:
        """Drop every entry."""
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


class DiskCache:
    """One safetensors file per sample under ``root/<key>/``; safe for concurrent writers."""

    def __init__(self, root: str | Path) -> None:
        """Args:
        root: Cache folder (created when needed).
        """
        self.root = Path(root)

    def path(self, key: str, index: int) -> Path:
        """The file of sample ``index`` under ``key``."""
        return self.root / key / f"{index:08d}.safetensors"

    def get(self, key: str, index: int) -> Any | None:
        """Return the cached sample, or ``None`` when absent or unreadable."""
        path = self.path(key, index)
        if not path.is_file():
            return None
        try:
            with safe_open(str(path), framework="pt") as handle:
                metadata = handle.metadata() or {}
                tensors = {name: handle.get_tensor(name) for name in handle.keys()}
        except Exception:  # a torn or foreign file is a miss; put() replaces it atomically
            return None
        structure = metadata.get(_META_KEY)
        return None if structure is None else decode_sample(tensors, structure)

    def put(self, key: str, index: int, sample: Any) -> None:
        """Write a sample atomically (concurrent writers of one sample never see a partial file).

        Raises:
            DataError: When the sample holds a value that cannot be stored, or the write fails.
        """
        tensors, structure = encode_sample(sample)
        path = self.path(key, index)
        try:
            write_file(path, lambda tmp: save_file(tensors, str(tmp), metadata={_META_KEY: structure}))
        except OSError as exc:
            raise DataError(f"cannot write cache file {str(path)!r}: {exc}") from exc

    def write_manifest(self, key: str, manifest: Mapping[str, Any]) -> None:
        """Record what a key stands for (fingerprint, pipeline) in ``root/<key>/manifest.json``, atomically."""
        write_json(self.root / key / "manifest.json", dict(manifest), sort_keys=True)

    def keys(self) -> list[str]:
        """The cache keys present on disk."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir())

    def invalidate(self, key: str | None = None, *, keep: str | None = None) -> list[str]:
        """Delete one key's entries, or every key except ``keep``.

        Args:
            key: The key to delete; ``None`` deletes all keys but ``keep``.
            keep: A key to spare when ``key`` is ``None``.

        Returns:
            The keys deleted.
        """
        doomed = [key] if key is not None else [k for k in self.keys() if k != keep]
        for name in doomed:
            shutil.rmtree(self.root / name, ignore_errors=True)
        return doomed


class CachedDataset(Dataset[Any]):
    """A map-style dataset whose transformed samples are computed once and then served from a cache.

    Args:
        dataset: The source map-style dataset.
        transform: The deterministic preprocessing to cache (a serializable transform, e.g. a
            :class:`~forge.core.data._compose.Compose`); its config is part of the cache key.
        fingerprint: The source data's fingerprint (see :mod:`forge.core.data._fingerprint`).
        store: ``"ram"``, or a :class:`DiskCache`/:class:`RamCache`/any :class:`SampleStore`.
        after: Applied after the cache on every access (random augmentations go here).

    Raises:
        DataError: When the transform cannot be serialized (its config must key the cache).

    Example:
        >>> cached = CachedDataset(raw, Compose([...]), fingerprint=fp, store=DiskCache("cache/"))  # doctest: +SKIP
    """

    def __init__(
        self,
        dataset: Dataset[Any],
        transform: Callable[[Any], Any],
        *,
        fingerprint: str,
        store: SampleStore | str = "ram",
        after: Callable[[Any], Any] | None = None,
    ) -> None:
        self.dataset = dataset
        self.transform = transform
        self.pipeline_config = to_config(transform)
        self.fingerprint = fingerprint
        self.key = cache_key(fingerprint, self.pipeline_config)
        if isinstance(store, str):
            if store != "ram":
                raise DataError(f"unknown cache store {store!r}: pass 'ram' or a DiskCache")
            store = RamCache()
        self.store: SampleStore = store
        self.after = after
        if isinstance(store, DiskCache):
            store.write_manifest(self.key, {"fingerprint": fingerprint, "pipeline": self.pipeline_config})

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]  # map-style datasets define __len__

    def __getitem__(self, index: int) -> Any:
        sample = self.store.get(self.key, index)
        if sample is None:
            sample = self.transform(self.dataset[index])
            self.store.put(self.key, index, sample)
        return sample if self.after is None else self.after(sample)
