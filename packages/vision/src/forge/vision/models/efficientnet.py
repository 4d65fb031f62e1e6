"""EfficientNet-B0..B7 (Tan & Le, 2019) in pure PyTorch, scaled exactly as torchvision's.

Width and depth come from the variant's compound coefficients (channels rounded to multiples of
8, block counts rounded up), dropout and batch-norm constants from torchvision's builders. Module
names are torchvision's (``features.{stage}.{block}.block.{i}``, ``classifier.1``), so torchvision
state dicts load by identity and timm's ``efficientnet_b*`` through :mod:`.interop`; parameter
counts equal torchvision's (B0: 5,288,548 at 1000 classes).
"""

from __future__ import annotations

import math
from typing import ClassVar

import attrs
import torch
from torch import nn

from forge.vision.models.configs import EfficientNetConfig
from forge.vision.models.layers import (
    ConvNormAct,
    MBConv,
    forward_stages,
    init_conv_norm,
    make_divisible,
    norm_factory,
    zero_init_last_norm,
)

__all__ = ["EfficientNet", "StageSpec", "build_efficientnet", "example_input", "stage_specs"]


@attrs.frozen
class StageSpec:
    """One stage of MBConv blocks after width/depth scaling."""

    expand_ratio: int
    kernel: int
    stride: int
    in_channels: int
    out_channels: int
    num_layers: int


# expand ratio, kernel, stride, in channels, out channels, layers (the B0 baseline).
_BASELINE: tuple[tuple[int, int, int, int, int, int], ...] = (
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
)


def stage_specs(width: float, depth: float) -> list[StageSpec]:
    """The seven MBConv stages of an EfficientNet scaled by ``width`` and ``depth``.

    Args:
        width: Channel multiplier.
        depth: Block-count multiplier.

    Returns:
        One :class:`StageSpec` per stage.
    """
    return [
        StageSpec(e, k, s, make_divisible(cin * width), make_divisible(cout * width), int(math.ceil(n * depth)))
        for e, k, s, cin, cout, n in _BASELINE
    ]


class EfficientNet(nn.Module):
    """An EfficientNet built from a :class:`~forge.vision.models.configs.EfficientNetConfig`.

    Attributes:
        config: The configuration it was built from.
        num_features: Channels of the final feature map.
        gradient_checkpointing: Whether stages recompute activations in backward (training only).
        classifier_prefix: State-dict prefix of the classification layer.
        cam_target_layer: Name of the module whose output is the last feature map (for Grad-CAM).
    """

    classifier_prefix: ClassVar[str] = "classifier.1."
    cam_target_layer: ClassVar[str] = "features"

    def __init__(self, config: EfficientNetConfig) -> None:
        super().__init__()
        self.config = config
        self.gradient_checkpointing = config.gradient_checkpointing
        spec = config.spec
        width = spec.width if config.width_multiplier is None else config.width_multiplier
        depth = spec.depth if config.depth_multiplier is None else config.depth_multiplier
        dropout = spec.dropout if config.dropout is None else config.dropout
        eps = spec.norm_eps if config.norm_eps is None else config.norm_eps
        norm = norm_factory(config.norm, eps=eps, momentum=spec.norm_momentum)
        act = config.activation
        stages = stage_specs(width, depth)

        stem_stride = 1 if config.stem == "small" else 2
        layers: list[nn.Module] = [
            ConvNormAct(config.in_chans, stages[0].in_channels, 3, stem_stride, norm=norm, activation=act)
        ]
        total = sum(s.num_layers for s in stages)
        index = 0
        for s in stages:
            blocks: list[nn.Module] = []
            for i in range(s.num_layers):
                cin = s.in_channels if i == 0 else s.out_channels
                stride = s.stride if i == 0 else 1
                rate = config.drop_path_rate * index / total
                blocks.append(
                    MBConv(
                        cin,
                        make_divisible(cin * s.expand_ratio),
                        s.out_channels,
                        s.kernel,
                        stride,
                        norm=norm,
                        activation=act,
                        se_channels=max(1, cin // 4),
                        se_activation=act,
                        se_gate="sigmoid",
                        drop_path=rate,
                    )
                )
                index += 1
            layers.append(nn.Sequential(*blocks))
        last_in = stages[-1].out_channels
        self.num_features = 4 * last_in
        layers.append(ConvNormAct(last_in, self.num_features, 1, norm=norm, activation=act))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        linear = nn.Linear(self.num_features, config.num_classes)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True), linear)

        init_conv_norm(self)
        init_range = 1.0 / math.sqrt(config.num_classes)
        nn.init.uniform_(linear.weight, -init_range, init_range)
        nn.init.zeros_(linear.bias)
        if config.zero_init_residual:
            for m in self.modules():
                if isinstance(m, MBConv) and m.use_res_connect:
                    zero_init_last_norm(m.block[-1].get_submodule("1"))

    def set_gradient_checkpointing(self, enabled: bool = True) -> None:
        """Turn per-stage activation checkpointing on or off (applies while training)."""
        self.gradient_checkpointing = enabled

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Return the last feature map (N, num_features, H', W') for images ``x`` (N, in_chans, H, W)."""
        feats = list(self.features)
        x = feats[0](x)
        x = forward_stages(feats[1:-1], x, checkpointing=self.gradient_checkpointing, training=self.training)
        out: torch.Tensor = feats[-1](x)
        return out

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Pool a feature map and classify it; returns logits (N, num_classes)."""
        out: torch.Tensor = self.classifier(torch.flatten(self.avgpool(features), 1))
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return logits (N, num_classes) for images ``x`` (N, in_chans, H, W)."""
        return self.forward_head(self.forward_features(x))


def build_efficientnet(config: EfficientNetConfig) -> EfficientNet:
    """Build an EfficientNet from its config.

    Args:
        config: The EfficientNet configuration.

    Returns:
        The model, freshly initialized as torchvision initializes it.

    Example:
        >>> model = build_efficientnet(EfficientNetConfig(variant="b0", num_classes=10))
    """
    return EfficientNet(config)


def example_input(config: EfficientNetConfig) -> torch.Tensor:
    """A small random batch the model accepts: 2 x in_chans x 64 x 64 (8 x 8 for the small stem)."""
    size = 8 if config.stem == "small" else 64
    return torch.randn(2, config.in_chans, size, size)
