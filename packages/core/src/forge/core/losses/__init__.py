"""Reduction-aware, numerically stable losses.

Importing this package is light; the names below import torch on first access. Functional forms
live in :mod:`forge.core.losses._functional`, modules and builders in
:mod:`forge.core.losses._modules`, config classes in :mod:`forge.core.losses._configs`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from forge.core._lazy import lazy_exports

if TYPE_CHECKING:
    from forge.core.losses._modules import BCEWithLogitsLoss as BCEWithLogitsLoss
    from forge.core.losses._modules import CrossEntropyLoss as CrossEntropyLoss
    from forge.core.losses._modules import DistillationLoss as DistillationLoss
    from forge.core.losses._modules import FocalLoss as FocalLoss
    from forge.core.losses._modules import HuberLoss as HuberLoss
    from forge.core.losses._modules import MSELoss as MSELoss

__getattr__, __dir__ = lazy_exports(__name__, __file__)
