"""Optimizer builders: each returns a factory that builds the optimizer for a model.

``registry.build("optimizer", "core.adamw", lr=3e-4)`` gives an :class:`OptimizerFactory`; the
trainer calls it with the model (after the model is placed on its device, so the fused/foreach
choice sees the real parameters)::

    factory = build_adamw(AdamWConfig(lr=3e-4, weight_decay=0.05))
    optimizer = factory(model)

With ``no_decay_bias_and_norm`` (the default), parameters are split into two groups: weight decay
for weights, none for biases and the weights of normalization layers (BatchNorm, LayerNorm,
GroupNorm, InstanceNorm, RMSNorm), the usual practice for transformers and CNNs alike. Each group
carries a ``"group"`` key (``"decay"`` / ``"no_decay"``) so logs and tests can tell them apart.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

import attrs
import torch
from torch import nn
from torch.optim import Optimizer

from forge.core.errors import ConfigError
from forge.core.optim._configs import AdamWConfig, Implementation, LambConfig, SGDConfig
from forge.core.optim._lamb import Lamb

__all__ = [
    "NORM_LAYERS",
    "OptimizerFactory",
    "build_adamw",
    "build_lamb",
    "build_sgd",
    "parameter_groups",
]

NORM_LAYERS: tuple[type[nn.Module], ...] = (
    nn.modules.batchnorm._NormBase,
    nn.LayerNorm,
    nn.GroupNorm,
    nn.LocalResponseNorm,
    nn.RMSNorm,
)
"""Module types whose weights count as normalization weights (no weight decay)."""

ModelOrParams = nn.Module | Iterable[torch.Tensor] | Iterable[dict[str, Any]]

_FORGE_FIELDS = ("no_decay_bias_and_norm", "implementation")
"""Optimizer config fields forge handles itself; every other field is an argument of the optimizer."""


def parameter_groups(
    model: ModelOrParams, weight_decay: float, *, no_decay_bias_and_norm: bool = True
) -> list[dict[str, Any]]:
    """Split trainable parameters into weight-decay and no-weight-decay groups.

    Parameters with ``requires_grad=False`` are left out; a parameter shared by several modules
    (tied weights) appears once. Given a plain iterable of tensors (no module to inspect),
    one-dimensional tensors count as biases or norm weights.

    Args:
        model: A module, an iterable of parameters, or ready-made parameter groups (passed
            through unchanged, with ``weight_decay`` as their default).
        weight_decay: The decay of the decayed group.
        no_decay_bias_and_norm: Split at all; when false, one group with ``weight_decay``.

    Returns:
        Parameter groups for a ``torch.optim.Optimizer``, empty groups omitted.

    Raises:
        ConfigError: There is no trainable parameter.
    """
    decay: list[torch.Tensor] = []
    no_decay: list[torch.Tensor] = []
    if isinstance(model, nn.Module):
        seen: set[int] = set()
        for module in model.modules():
            for name, param in module.named_parameters(recurse=False):
                if not param.requires_grad or id(param) in seen:
                    continue
                seen.add(id(param))
                is_no_decay = name.endswith("bias") or isinstance(module, NORM_LAYERS)
                (no_decay if no_decay_bias_and_norm and is_no_decay else decay).append(param)
    else:
        items = list(model)
        if items and all(isinstance(item, dict) for item in items):
            groups = [dict(g) for g in items if isinstance(g, dict)]
            for g in groups:
                g.setdefault("weight_decay", weight_decay)
            return groups
        for item in items:
            if not isinstance(item, torch.Tensor):
                raise ConfigError(f"expected parameters or parameter groups, got a {type(item).__name__}")
            if item.requires_grad:
                (no_decay if no_decay_bias_and_norm and item.ndim <= 1 else decay).append(item)
    if not decay and not no_decay:
        raise ConfigError("the model has no trainable parameters (every parameter has requires_grad=False)")
    result: list[dict[str, Any]] = []
    if decay:
        result.append({"params": decay, "weight_decay": weight_decay, "group": "decay"})
    if no_decay:
        result.append({"params": no_decay, "weight_decay": 0.0, "group": "no_decay"})
    return result


def _params_of(groups: list[dict[str, Any]]) -> list[torch.Tensor]:
    return [p for g in groups for p in g["params"]]


def _kernel_options(
    optimizer_cls: type[Optimizer], params: list[torch.Tensor], choice: Implementation
) -> dict[str, bool]:
    """The ``fused`` / ``foreach`` keyword arguments for ``optimizer_cls`` on ``params``."""
    accepted = inspect.signature(optimizer_cls.__init__).parameters
    on_cuda = bool(params) and all(p.is_cuda and p.is_floating_point() for p in params)
    if choice == "for_loop":
        return {"foreach": False} if "foreach" in accepted else {}
    if choice == "fused":
        if "fused" not in accepted:
            raise ConfigError(f"{optimizer_cls.__name__} in torch {torch.__version__} has no fused implementation")
        return {"fused": True}
    if choice == "auto" and on_cuda and "fused" in accepted:
        return {"fused": True}
    return {"foreach": True} if "foreach" in accepted else {}


class OptimizerFactory:
    """Builds an optimizer for a model: ``factory(model) -> torch.optim.Optimizer``.

    Args:
        name: The optimizer's name (for messages and ``repr``).
        build: Builds the optimizer from parameter groups.
        weight_decay: Weight decay of the decayed group.
        no_decay_bias_and_norm: Exempt biases and norm weights from weight decay.
    """

    def __init__(
        self,
        name: str,
        build: Callable[[list[dict[str, Any]]], Optimizer],
        *,
        weight_decay: float,
        no_decay_bias_and_norm: bool,
    ) -> None:
        self.name = name
        self._build = build
        self.weight_decay = weight_decay
        self.no_decay_bias_and_norm = no_decay_bias_and_norm

    def __call__(self, model: ModelOrParams) -> Optimizer:
        """Build the optimizer.

        Args:
            model: The module to optimize (preferred: names and module types pick the no-decay
                group), or its parameters, or parameter groups.

        Returns:
            The optimizer.

        Raises:
            ConfigError: No trainable parameters, or an implementation torch lacks.
        """
        groups = parameter_groups(model, self.weight_decay, no_decay_bias_and_norm=self.no_decay_bias_and_norm)
        return self._build(groups)

    def __repr__(self) -> str:
        return f"OptimizerFactory({self.name!r})"


def _factory(
    name: str, optimizer_class: type[Optimizer], config: AdamWConfig | SGDConfig | LambConfig
) -> OptimizerFactory:
    """A factory building ``optimizer_class`` with every field of ``config`` that is not forge's own."""
    kwargs = {k: v for k, v in attrs.asdict(config, recurse=False).items() if k not in _FORGE_FIELDS}

    implementation = getattr(config, "implementation", None)  # LAMB has no kernels to choose from

    def build(groups: list[dict[str, Any]]) -> Optimizer:
        kernels = {} if implementation is None else _kernel_options(optimizer_class, _params_of(groups), implementation)
        return optimizer_class(groups, **(kwargs | kernels))

    return OptimizerFactory(
        name, build, weight_decay=config.weight_decay, no_decay_bias_and_norm=config.no_decay_bias_and_norm
    )


def build_adamw(config: AdamWConfig) -> OptimizerFactory:
    """Build an AdamW factory (fused on CUDA where torch supports it, else foreach).

    Args:
        config: The AdamW settings.

    Returns:
        ``factory(model) -> torch.optim.AdamW``.
    """
    return _factory("adamw", torch.optim.AdamW, config)


def build_sgd(config: SGDConfig) -> OptimizerFactory:
    """Build an SGD factory (momentum, Nesterov; fused on CUDA where torch supports it).

    Args:
        config: The SGD settings.

    Returns:
        ``factory(model) -> torch.optim.SGD``.
    """
    return _factory("sgd", torch.optim.SGD, config)


def build_lamb(config: LambConfig) -> OptimizerFactory:
    """Build a LAMB factory (:class:`forge.core.optim._lamb.Lamb`).

    Args:
        config: The LAMB settings.

    Returns:
        ``factory(model) -> Lamb``.
    """
    return _factory("lamb", Lamb, config)
