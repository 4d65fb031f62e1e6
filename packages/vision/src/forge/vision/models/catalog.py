"""Registration of every forge-vision CNN variant, by name, without importing torch.

The plugin module calls :func:`register_models` from its ``forge_register_models`` hook; builders,
config classes and example inputs are named as ``"module:attr"`` strings and imported only when a
model is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from forge.vision.models.configs import EFFICIENTNET_VARIANTS, RESNET_DEPTHS

if TYPE_CHECKING:
    from forge.core.hookspecs import Register

__all__ = ["MODEL_NAMES", "register_models"]

_PKG = "forge.vision.models"
_TASK_TAGS = ("image-classification", "cnn")


def _entries() -> list[tuple[str, str, str, dict[str, Any], str, tuple[str, ...]]]:
    """(name, module, config class, defaults, summary, extra tags) for every variant."""
    out: list[tuple[str, str, str, dict[str, Any], str, tuple[str, ...]]] = []
    for depth, (kind, layers) in RESNET_DEPTHS.items():
        blocks = "basic" if kind == "basic" else "bottleneck"
        out.append(
            (
                f"resnet{depth}",
                "resnet",
                "ResNetConfig",
                {"depth": depth},
                f"ResNet-{depth} ({blocks} blocks {'-'.join(map(str, layers))}, V1.5 striding)",
                ("resnet",),
            )
        )
    for depth in (18, 34, 50, 101, 152):
        out.append(
            (
                f"preact_resnet{depth}",
                "resnet",
                "ResNetConfig",
                {"depth": depth, "preact": True},
                f"Pre-activation ResNet-{depth} (He et al. 2016, identity mappings)",
                ("resnet", "preact"),
            )
        )
    for variant, spec in EFFICIENTNET_VARIANTS.items():
        out.append(
            (
                f"efficientnet_{variant}",
                "efficientnet",
                "EfficientNetConfig",
                {"variant": variant},
                f"EfficientNet-{variant.upper()} (width {spec.width}, depth {spec.depth}, {spec.resolution}px, "
                f"dropout {spec.dropout})",
                ("efficientnet",),
            )
        )
    for variant, summary in (
        ("v2", "MobileNetV2 (inverted residuals, linear bottlenecks)"),
        ("v3_small", "MobileNetV3-Small (squeeze-excitation, hard-swish)"),
        ("v3_large", "MobileNetV3-Large (squeeze-excitation, hard-swish)"),
    ):
        out.append(
            (f"mobilenet_{variant}", "mobilenet", "MobileNetConfig", {"variant": variant}, summary, ("mobilenet",))
        )
    return out


MODEL_NAMES: tuple[str, ...] = tuple(e[0] for e in _entries())
"""Short names of every registered model, e.g. ``"resnet50"``, ``"efficientnet_b3"``."""


def register_models(register: Register) -> None:
    """Register every ResNet, pre-activation ResNet, EfficientNet and MobileNet variant.

    Args:
        register: The callback a ``forge_register_models`` hook receives
            (:class:`forge.core.hookspecs.Register`).

    Example:
        >>> names = []
        >>> register_models(lambda name, **kw: names.append(name))
        >>> "resnet50" in names and "efficientnet_b7" in names
        True
    """
    for name, module, config_cls, defaults, summary, tags in _entries():
        register(
            name,
            builder=f"{_PKG}.{module}:build_{module}",
            config=f"{_PKG}.configs:{config_cls}",
            defaults=defaults,
            summary=summary,
            tags=(*_TASK_TAGS, *tags),
            example=f"{_PKG}.{module}:example_input",
        )
