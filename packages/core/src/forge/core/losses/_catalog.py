"""Registrations of forge-core's losses (light: imports no torch).

Core's plugin module calls :func:`register_losses` from its losses hook; the names become
``core.cross_entropy``, ``core.focal`` and so on. Every builder returns an ``nn.Module`` called
as ``loss(outputs, target)``.
"""

from __future__ import annotations

from forge.core.hookspecs import Register

__all__ = ["register_losses"]

_MOD = "forge.core.losses._modules"
_CFG = "forge.core.losses._configs"


def register_losses(register: Register) -> None:
    """Register cross_entropy, weighted_cross_entropy, focal, bce_with_logits, mse, huber, distillation.

    Args:
        register: The registration callback the losses hook receives.
    """
    register(
        "cross_entropy",
        builder=f"{_MOD}:build_cross_entropy",
        config=f"{_CFG}:CrossEntropyConfig",
        summary="Softmax cross-entropy, optional label smoothing (epsilon 0.1)",
        tags=("classification",),
    )
    register(
        "weighted_cross_entropy",
        builder=f"{_MOD}:build_weighted_cross_entropy",
        config=f"{_CFG}:WeightedCrossEntropyConfig",
        summary="Cross-entropy with a weight per class, for imbalanced data",
        tags=("classification", "imbalanced"),
    )
    register(
        "focal",
        builder=f"{_MOD}:build_focal",
        config=f"{_CFG}:FocalLossConfig",
        summary="Focal loss (gamma, alpha), multiclass or binary",
        tags=("classification", "imbalanced", "detection"),
    )
    register(
        "bce_with_logits",
        builder=f"{_MOD}:build_bce_with_logits",
        config=f"{_CFG}:BCEWithLogitsConfig",
        summary="Binary cross-entropy on logits, for binary and multi-label tasks",
        tags=("classification", "multilabel"),
    )
    register(
        "mse",
        builder=f"{_MOD}:build_mse",
        config=f"{_CFG}:MSEConfig",
        summary="Mean squared error",
        tags=("regression",),
    )
    register(
        "huber",
        builder=f"{_MOD}:build_huber",
        config=f"{_CFG}:HuberConfig",
        summary="Huber loss (quadratic near 0, linear beyond delta)",
        tags=("regression", "robust"),
    )
    register(
        "distillation",
        builder=f"{_MOD}:build_distillation",
        config=f"{_CFG}:DistillationConfig",
        summary="Knowledge distillation: alpha * T^2 * KL(teacher || student) + (1 - alpha) * CE",
        tags=("classification", "distillation"),
    )
