"""Content fingerprints for datasets: the same data gives the same hex digest on any run.

Two sources: files on disk (path relative to a root, size and bytes) and a deterministic sample
stream (the first N samples hashed over tensor dtype, shape and bytes, and over plain values).
Configs and other plain data go through :func:`forge.core.data.digest`; every fingerprint has its
format, 64 hex digits of a SHA-256. The hashed streams start with a versioned prefix, so a future
change of the scheme can never collide with an old digest. Python's ``hash()`` is never used: it
is salted per process.

Light: torch is imported only when a tensor is hashed.
"""

from __future__ import annotations

import hashlib
import itertools
import struct
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from forge.core import _deprecated
from forge.core.errors import DataError

__all__ = ["fingerprint_dataset", "fingerprint_files", "fingerprint_samples"]

_CHUNK = 1 << 20


def __getattr__(name: str) -> Any:
    return _deprecated.moved_attribute(__name__, name)


def fingerprint_files(paths: Iterable[str | Path], *, root: str | Path | None = None) -> str:
    """Hash files by name and content.

    Args:
        paths: The files; their order does not matter.
        root: Names are taken relative to this folder (so a moved dataset keeps its fingerprint);
            without it, the file name alone is used.

    Returns:
        The sha256 hex digest.

    Raises:
        DataError: When a file is missing or unreadable, or two files have the same name.
    """
    named: dict[str, Path] = {}
    for raw in paths:
        path = Path(raw)
        try:
            name = path.relative_to(root).as_posix() if root is not None else path.name
        except ValueError as exc:
            raise DataError(f"file {str(path)!r} is not under the fingerprint root {str(root)!r}") from exc
        if name in named:
            raise DataError(f"two files are named {name!r} ({named[name]}, {path}); pass root= to disambiguate")
        named[name] = path
    digest = hashlib.sha256(b"files:v1\n")
    for name in sorted(named):
        path = named[name]
        try:
            size = path.stat().st_size
            digest.update(f"{name}\0{size}\0".encode())
            with path.open("rb") as handle:
                for chunk in iter(lambda: handle.read(_CHUNK), b""):
                    digest.update(chunk)
        except OSError as exc:
            raise DataError(f"cannot fingerprint file {str(path)!r}: {exc}") from exc
    return digest.hexdigest()


def _update(digest: Any, value: Any) -> None:
    if value is None:
        digest.update(b"N")
    elif isinstance(value, bool):
        digest.update(b"B1" if value else b"B0")
    elif isinstance(value, int):
        text = str(value).encode()
        digest.update(b"I" + struct.pack("<Q", len(text)) + text)
    elif isinstance(value, float):
        digest.update(b"F" + struct.pack("<d", value))
    elif isinstance(value, str):
        data = value.encode("utf-8")
        digest.update(b"S" + struct.pack("<Q", len(data)) + data)
    elif isinstance(value, bytes):
        digest.update(b"Y" + struct.pack("<Q", len(value)) + value)
    elif isinstance(value, Mapping):
        digest.update(b"D" + struct.pack("<Q", len(value)))
        for key in sorted(value, key=str):
            _update(digest, str(key))
            _update(digest, value[key])
    elif isinstance(value, (tuple, list)):
        digest.update(b"L" + struct.pack("<Q", len(value)))
        for item in value:
            _update(digest, item)
    else:
        _update_array(digest, value)


def _update_array(digest: Any, value: Any) -> None:
    import numpy as np
    import torch

    if isinstance(value, np.ndarray):
        value = torch.from_numpy(np.ascontiguousarray(value))
    elif isinstance(value, np.generic):
        value = torch.as_tensor(value)
    if not isinstance(value, torch.Tensor):
        raise DataError(f"cannot fingerprint a sample value of type {type(value).__name__}")
    tensor = value.detach().to("cpu").contiguous()
    header = f"{tensor.dtype}|{tuple(tensor.shape)}".encode()
    digest.update(b"T" + struct.pack("<Q", len(header)) + header)
    digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())


def fingerprint_samples(samples: Iterable[Any], *, limit: int | None = 1000) -> str:
    """Hash the first ``limit`` samples of a deterministic stream.

    Args:
        samples: Samples made of tensors, numpy arrays, numbers, strings, bytes, tuples, lists
            and mappings.
        limit: How many samples to hash (``None`` hashes all of them).

    Returns:
        The sha256 hex digest (covers the number of samples hashed).

    Raises:
        DataError: When a sample holds a value that cannot be hashed deterministically.
    """
    digest = hashlib.sha256(b"samples:v1\n")
    count = 0
    for sample in itertools.islice(samples, limit):
        _update(digest, sample)
        count += 1
    digest.update(f"\0count={count}".encode())
    return digest.hexdigest()


def fingerprint_dataset(dataset: Any, *, limit: int | None = 1000) -> str:
    """Fingerprint a map-style dataset (by index, plus its length) or an iterable one (by stream).

    Args:
        dataset: Anything with ``__len__`` and ``__getitem__``, or any iterable.
        limit: How many samples to hash.

    Returns:
        The sha256 hex digest.
    """
    if hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__"):
        size = len(dataset)
        count = size if limit is None else min(size, limit)
        inner = fingerprint_samples((dataset[i] for i in range(count)), limit=None)
        return hashlib.sha256(f"map:v1\n{size}\n{inner}".encode()).hexdigest()
    return fingerprint_samples(iter(dataset), limit=limit)
