"""The content digest of forge: SHA-256 of canonical JSON, as 64 lowercase hex digits.

One function and one format for everything forge identifies by content: checkpoint manifests,
the config hash of a run's lineage, cache keys and config fingerprints. Files and folders of
files (exported artifacts, a checkpoint's directory) are hashed by :func:`file_sha256` and
:func:`directory_sha256`. Equal data gives an equal
digest in any process and on any machine (dict key order does not matter; Python's salted
``hash()`` is never used). The canonical form is the one checkpoints have been verified with since
forge-core 0.1, so every checkpoint on disk keeps verifying.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from forge.core.errors import DataError

__all__ = ["canonical_json", "digest", "directory_sha256", "file_sha256"]

_CHUNK = 1 << 20


def canonical_json(obj: Any) -> str:
    """Serialize plain data to one canonical JSON string (sorted keys, no spaces, ASCII, no NaN).

    Raises:
        DataError: ``obj`` holds something JSON cannot represent exactly (NaN, sets, objects).
    """
    try:
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise DataError(f"cannot make canonical JSON of {obj!r:.200}: {exc}") from exc


def digest(obj: Any) -> str:
    """Return the SHA-256 hex digest of ``obj``'s canonical JSON.

    Example:
        >>> digest({"b": [1, 2], "a": 1}) == digest({"a": 1, "b": [1, 2]})
        True

    Raises:
        DataError: ``obj`` is not plain JSON data (see :func:`canonical_json`).
    """
    return hashlib.sha256(canonical_json(obj).encode("ascii")).hexdigest()


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Return the SHA-256 hex digest of a file's bytes, read in 1 MiB chunks (any size fits in memory).

    Raises:
        OSError: the file cannot be read.
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def directory_sha256(path: str | os.PathLike[str]) -> str:
    """Return one SHA-256 hex digest over every file under ``path``: each file's relative path and digest.

    Files are taken in sorted order of their paths (``/``-separated), so the digest is the same on
    every platform and changes when a file is added, removed, renamed or altered.

    Raises:
        OSError: a file cannot be read.
    """
    root = Path(path)
    h = hashlib.sha256()
    for p in sorted(q for q in root.rglob("*") if q.is_file()):
        h.update(p.relative_to(root).as_posix().encode())
        h.update(file_sha256(p).encode())
    return h.hexdigest()
