"""Content fingerprints of in-memory data, for the provenance record of a dataset."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

__all__ = ["array_fingerprint"]


def array_fingerprint(*arrays: np.ndarray[Any, Any], meta: Any = None) -> str:
    """SHA-256 over the dtype, shape and bytes of each array, and JSON ``meta``.

    Args:
        *arrays: Arrays whose content identifies the data (images, labels, split indices).
        meta: JSON-able values that also identify it (e.g. generator parameters).

    Returns:
        ``"sha256:<hex>"``.
    """
    h = hashlib.sha256()
    for a in arrays:
        c = np.ascontiguousarray(a)
        h.update(f"{c.dtype.str}{c.shape}".encode())
        h.update(c.tobytes())
    h.update(json.dumps(meta, sort_keys=True, default=str).encode())
    return "sha256:" + h.hexdigest()
