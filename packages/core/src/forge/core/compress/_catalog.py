"""Registrations of the compression components (light: strings only, no torch)."""

from __future__ import annotations

from forge.core.hookspecs import Register

__all__ = ["register_callbacks", "register_losses", "register_models"]

_M = "forge.core.compress"


def register_models(register: Register) -> None:
    """Register ``core.distill``."""
    register(
        "distill",
        builder=f"{_M}._distill:build_distill_model",
        config=f"{_M}._configs:DistillConfig",
        summary="A student model trained against a frozen teacher run (knowledge distillation)",
        tags=("distillation",),
        example=f"{_M}._distill:example_input",
    )


def register_losses(register: Register) -> None:
    """Register ``core.kd``."""
    register(
        "kd",
        builder=f"{_M}._distill:build_kd_loss",
        config=f"{_M}._configs:KDLossConfig",
        summary="Knowledge-distillation loss: softened teacher targets (temperature, alpha) plus labels",
        tags=("classification", "distillation"),
    )


def register_callbacks(register: Register) -> None:
    """Register ``core.pruning``, ``core.qat`` and ``core.init_from``."""
    register(
        "pruning",
        builder=f"{_M}._prune:build_pruning",
        config=f"{_M}._configs:PruningConfig",
        summary="Magnitude pruning (unstructured or channels) on a cubic sparsity schedule",
    )
    register(
        "qat",
        builder=f"{_M}._qat:build_qat",
        config=f"{_M}._configs:QATConfig",
        summary="Quantization-aware training: int8 fake quantization of the linear layers (torchao)",
    )
    register(
        "init_from",
        builder=f"{_M}._init:build_init_from",
        config=f"{_M}._configs:InitFromConfig",
        summary="Start a new run from another run's best or last weights",
    )
