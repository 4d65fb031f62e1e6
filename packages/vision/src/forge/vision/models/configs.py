"""Config classes of forge-vision's CNN families (ResNet, EfficientNet, MobileNet).

This module never imports torch: ``forge list`` and ``forge info`` read these classes to describe
the models without loading any model code. The variant tables below hold the published
architecture hyperparameters, so the builders and the catalog share one source of truth.
"""

from __future__ import annotations

import attrs

from forge.core.config import field

__all__ = [
    "ACTIVATIONS",
    "EFFICIENTNET_VARIANTS",
    "MOBILENET_VARIANTS",
    "NORMS",
    "RESNET_DEPTHS",
    "STEMS",
    "EfficientNetConfig",
    "EfficientNetVariant",
    "MobileNetConfig",
    "ResNetConfig",
]

NORMS: tuple[str, ...] = ("batchnorm", "groupnorm", "layernorm2d")
"""Normalization layers every family accepts."""

ACTIVATIONS: tuple[str, ...] = ("relu", "relu6", "silu", "gelu", "hardswish", "mish", "leaky_relu")
"""Activation names every family accepts."""

STEMS: tuple[str, ...] = ("imagenet", "small")
"""``imagenet``: the published strided stem; ``small``: a 3x3 stride-1 stem (no max-pool) for 8x8 to 32x32 inputs."""

RESNET_DEPTHS: dict[int, tuple[str, tuple[int, int, int, int]]] = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}
"""ResNet depth -> (block type, blocks per stage)."""


@attrs.frozen
class EfficientNetVariant:
    """Compound-scaling coefficients of one EfficientNet size (as torchvision's efficientnet_bN)."""

    width: float
    depth: float
    resolution: int
    dropout: float
    norm_eps: float
    norm_momentum: float


EFFICIENTNET_VARIANTS: dict[str, EfficientNetVariant] = {
    "b0": EfficientNetVariant(1.0, 1.0, 224, 0.2, 1e-5, 0.1),
    "b1": EfficientNetVariant(1.0, 1.1, 240, 0.2, 1e-5, 0.1),
    "b2": EfficientNetVariant(1.1, 1.2, 288, 0.3, 1e-5, 0.1),
    "b3": EfficientNetVariant(1.2, 1.4, 300, 0.3, 1e-5, 0.1),
    "b4": EfficientNetVariant(1.4, 1.8, 380, 0.4, 1e-5, 0.1),
    # torchvision ports b5-b7 from the TensorFlow weights, hence TF's batch-norm constants.
    "b5": EfficientNetVariant(1.6, 2.2, 456, 0.4, 1e-3, 0.01),
    "b6": EfficientNetVariant(1.8, 2.6, 528, 0.5, 1e-3, 0.01),
    "b7": EfficientNetVariant(2.0, 3.1, 600, 0.5, 1e-3, 0.01),
}
"""EfficientNet size -> width, depth, input resolution, dropout and batch-norm constants."""

MOBILENET_VARIANTS: tuple[str, ...] = ("v2", "v3_small", "v3_large")
"""MobileNet variants."""


@attrs.frozen
class _ConvNetConfig:
    """Fields every forge CNN family shares."""

    num_classes: int = field(1000, help="Number of output classes (logits).", ge=1)
    in_chans: int = field(3, help="Number of input image channels.", ge=1)
    stem: str = field(
        "imagenet",
        help="'imagenet': the published strided stem; 'small': a 3x3 stride-1 stem without max-pool, "
        "for 8x8 to 32x32 inputs.",
        one_of=STEMS,
    )
    norm: str = field(
        "batchnorm",
        help="Normalization layer: 'batchnorm', 'groupnorm' (32 groups, or gcd(32, channels)) or "
        "'layernorm2d' (per-pixel over channels).",
        one_of=NORMS,
    )
    norm_eps: float | None = field(
        None,
        help="Normalization epsilon; None uses the family's published value.",
        gt=0,
    )
    drop_path_rate: float = field(
        0.0,
        help="Stochastic-depth rate of the last residual block; block i of n drops with rate * i / n.",
        ge=0,
        lt=1,
    )
    zero_init_residual: bool = field(
        False, help="Zero the last normalization gamma of every residual branch, so each block starts as identity."
    )
    gradient_checkpointing: bool = field(
        False,
        help="Recompute each stage's activations in backward instead of storing them (training only); "
        "batch-norm running statistics are then updated twice per step.",
    )


@attrs.frozen
class ResNetConfig(_ConvNetConfig):
    """ResNet (V1.5: the stride sits in the 3x3 convolution of the bottleneck), optionally pre-activation.

    Example:
        >>> ResNetConfig(depth=18, num_classes=10, stem="small").depth
        18
    """

    depth: int = field(
        50,
        help="Depth: 18, 34 (basic blocks), 50, 101 or 152 (bottleneck blocks).",
        one_of=tuple(RESNET_DEPTHS),
    )
    preact: bool = field(
        False, help="Pre-activation blocks (norm-act-conv, He et al. 2016) instead of post-activation."
    )
    width_multiplier: float = field(
        1.0,
        help="Scales every stage's channel count (rounded to a multiple of 8).",
        gt=0,
    )
    activation: str = field("relu", help="Activation function.", one_of=ACTIVATIONS)
    dropout: float = field(0.0, help="Dropout rate before the classifier.", ge=0, lt=1)


@attrs.frozen
class EfficientNetConfig(_ConvNetConfig):
    """EfficientNet-B0..B7 with torchvision's compound scaling of width, depth, resolution and dropout.

    Example:
        >>> EfficientNetConfig(variant="b3").resolution
        300
    """

    variant: str = field(
        "b0",
        help="Size: b0 .. b7 (selects width, depth, resolution, dropout).",
        one_of=tuple(EFFICIENTNET_VARIANTS),
    )
    width_multiplier: float | None = field(
        None,
        help="Channel multiplier; None uses the variant's.",
        gt=0,
    )
    depth_multiplier: float | None = field(
        None,
        help="Block-count multiplier; None uses the variant's.",
        gt=0,
    )
    dropout: float | None = field(None, help="Dropout rate before the classifier; None uses the variant's.", ge=0, lt=1)
    activation: str = field("silu", help="Activation function (also inside squeeze-excitation).", one_of=ACTIVATIONS)
    drop_path_rate: float = field(
        0.2,
        help="Stochastic-depth rate of the last block; block i of n drops with rate * i / n.",
        ge=0,
        lt=1,
    )

    @property
    def spec(self) -> EfficientNetVariant:
        """The variant's published coefficients."""
        return EFFICIENTNET_VARIANTS[self.variant]

    @property
    def resolution(self) -> int:
        """The input resolution the variant was designed for (torchvision's eval crop size)."""
        return self.spec.resolution


@attrs.frozen
class MobileNetConfig(_ConvNetConfig):
    """MobileNetV2, MobileNetV3-Small and MobileNetV3-Large.

    Example:
        >>> MobileNetConfig(variant="v2").dropout
        0.2
    """

    variant: str = field("v3_large", help="'v2', 'v3_small' or 'v3_large'.", one_of=MOBILENET_VARIANTS)
    width_multiplier: float = field(1.0, help="Scales every channel count (rounded to a multiple of 8).", gt=0)
    dropout: float = field(0.2, help="Dropout rate in the classifier.", ge=0, lt=1)
    activation: str | None = field(
        None,
        help="Activation everywhere in the body; None keeps the published ones (ReLU6 for v2, ReLU/hard-swish for v3).",
        one_of=ACTIVATIONS,
    )
