"""Reduction-aware, numerically stable losses.

Importing this package is light; the names below import torch on first access. Functional forms
live in :mod:`forge.core.losses.functional`, modules and builders in
:mod:`forge.core.losses.modules`, config classes in :mod:`forge.core.losses.configs`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from forge.core.losses.modules import (
        BCEWithLogitsLoss,
        CrossEntropyLoss,
        DistillationLoss,
        FocalLoss,
        HuberLoss,
        MSELoss,
    )

__all__ = [
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "DistillationLoss",
    "FocalLoss",
    "HuberLoss",
    "MSELoss",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.modules"), name)
