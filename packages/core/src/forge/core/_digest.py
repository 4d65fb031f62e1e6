"""The content digest of forge: SHA-256 of canonical JSON, as 64 lowercase hex digits.

One function and one format for everything forge identifies by content: checkpoint manifests,
the config hash of a run's lineage, cache keys and config fingerprints. Equal data gives an equal
digest in any process and on any machine (dict key order does not matter; Python's salted
``hash()`` is never used). The canonical form is the one checkpoints have been verified with since
forge-core 0.1, so every checkpoint on disk keeps verifying.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from forge.core.errors import DataError

__all__ = ["canonical_json", "digest"]


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
