"""MobileNetV2 and MobileNetV3-Small/-Large in pure PyTorch, laid out as torchvision's.

Module names are torchvision's (``features.{i}.conv`` for V2, ``features.{i}.block`` for V3,
``classifier``), so torchvision state dicts load by identity and timm's ``mobilenetv2_100``,
``mobilenetv3_large_100`` and ``mobilenetv3_small_100`` through :mod:`.interop`. Parameter counts
equal torchvision's (V2: 3,504,872; V3-Large: 5,483,032; V3-Small: 2,542,856 at 1000 classes).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import ClassVar, cast

import torch
from torch import nn

from forge.vision.models.configs import MobileNetConfig
from forge.vision.models.layers import (
    ConvNormAct,
    DropPath,
    MBConv,
    NormFactory,
    forward_stages,
    init_conv_norm,
    make_activation,
    make_divisible,
    norm_factory,
    zero_init_last_norm,
)

__all__ = [
    "InvertedResidualV2",
    "MobileNetV2",
    "MobileNetV3",
    "SmallInputWarning",
    "build_mobilenet",
    "example_input",
]


_is_tracing = cast(Callable[[], bool], torch.jit.is_tracing)  # type: ignore[attr-defined]  # not re-exported in torch's stubs


class SmallInputWarning(UserWarning):
    """The input images are smaller than the model downsamples: its features collapse to one pixel early."""


# expand ratio t, out channels c, repeats n, stride s (Sandler et al., table 2).
_V2_SETTING: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)

# in, kernel, expanded, out, squeeze-excite, hard-swish, stride, stage (Howard et al., tables 1 and 2).
# The stage index groups blocks as timm's arch definitions do, for the key map in .interop.
_V3Row = tuple[int, int, int, int, bool, bool, int, int]
_V3_LARGE: tuple[_V3Row, ...] = (
    (16, 3, 16, 16, False, False, 1, 0),
    (16, 3, 64, 24, False, False, 2, 1),
    (24, 3, 72, 24, False, False, 1, 1),
    (24, 5, 72, 40, True, False, 2, 2),
    (40, 5, 120, 40, True, False, 1, 2),
    (40, 5, 120, 40, True, False, 1, 2),
    (40, 3, 240, 80, False, True, 2, 3),
    (80, 3, 200, 80, False, True, 1, 3),
    (80, 3, 184, 80, False, True, 1, 3),
    (80, 3, 184, 80, False, True, 1, 3),
    (80, 3, 480, 112, True, True, 1, 4),
    (112, 3, 672, 112, True, True, 1, 4),
    (112, 5, 672, 160, True, True, 2, 5),
    (160, 5, 960, 160, True, True, 1, 5),
    (160, 5, 960, 160, True, True, 1, 5),
)
_V3_SMALL: tuple[_V3Row, ...] = (
    (16, 3, 16, 16, True, False, 2, 0),
    (16, 3, 72, 24, False, False, 2, 1),
    (24, 3, 88, 24, False, False, 1, 1),
    (24, 5, 96, 40, True, True, 2, 2),
    (40, 5, 240, 40, True, True, 1, 2),
    (40, 5, 240, 40, True, True, 1, 2),
    (40, 5, 120, 48, True, True, 1, 3),
    (48, 5, 144, 48, True, True, 1, 3),
    (48, 5, 288, 96, True, True, 2, 4),
    (96, 5, 576, 96, True, True, 1, 4),
    (96, 5, 576, 96, True, True, 1, 4),
)


def _stage_sizes(stages: list[int]) -> tuple[int, ...]:
    return tuple(stages.count(s) for s in range(max(stages) + 1))


class InvertedResidualV2(nn.Module):
    """MobileNetV2 block: [1x1 expand] -> 3x3 depthwise -> 1x1 linear projection (+ residual).

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        stride: Depthwise stride.
        expand_ratio: Hidden width relative to the input.
        norm: Normalization factory.
        activation: Activation name.
        drop_path: Stochastic-depth rate of the residual branch.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int,
        expand_ratio: int,
        *,
        norm: NormFactory,
        activation: str,
        drop_path: float,
    ) -> None:
        super().__init__()
        hidden = int(round(in_channels * expand_ratio))
        self.use_res_connect = stride == 1 and in_channels == out_channels
        self.has_expand = expand_ratio != 1
        layers: list[nn.Module] = []
        if self.has_expand:
            layers.append(ConvNormAct(in_channels, hidden, 1, norm=norm, activation=activation))
        layers += [
            ConvNormAct(hidden, hidden, 3, stride, groups=hidden, norm=norm, activation=activation),
            nn.Conv2d(hidden, out_channels, 1, bias=False),
            norm(out_channels),
        ]
        self.conv = nn.Sequential(*layers)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block; the residual is added when stride is 1 and channels match."""
        out: torch.Tensor = self.conv(x)
        if self.use_res_connect:
            out = self.drop_path(out) + x
        return out


class _MobileNetBase(nn.Module):
    """Shared forward logic: ``features`` (stem, blocks, head conv) -> pool -> ``classifier``."""

    cam_target_layer: ClassVar[str] = "features"
    features: nn.Sequential
    classifier: nn.Sequential
    stage_sizes: tuple[int, ...]
    __jit_unused_properties__: ClassVar[list[str]] = ["total_stride"]
    strides: tuple[int, ...]
    """The strides above 1 of the stem and the blocks, in order: their product is the total downsampling."""

    def __init__(self, config: MobileNetConfig) -> None:
        super().__init__()
        self.config = config
        self.gradient_checkpointing = config.gradient_checkpointing
        self._input_checked = False

    @property
    def total_stride(self) -> int:
        """How many times smaller than the input the last feature map is (32 for the ImageNet stem)."""
        return math.prod(self.strides)

    @torch.jit.unused
    def _check_input_size(self, x: torch.Tensor) -> None:
        """Warn (once, at the first forward) when ``x`` is smaller than the model's total downsampling.

        A MobileNet downsamples 32 times (16 with the small stem): on 8x8 digits its feature map is
        1x1 after the second or third stage, the later stages see no spatial structure, and the
        model trains to chance. Cheap: it looks at the first input's size only.
        """
        self._input_checked = True
        if x.dim() != 4:
            return
        height, width = int(x.shape[-2]), int(x.shape[-1])
        if min(height, width) >= self.total_stride:
            return
        size, collapsed = min(height, width), 0
        for stride in self.strides:
            if size <= 1:
                break
            size = -(-size // stride)
            collapsed += 1
        name = type(self).__name__
        warnings.warn(
            SmallInputWarning(
                f"{name} ({self.config.variant}, stem={self.config.stem!r}) downsamples its input "
                f"{self.total_stride}x, but got {height}x{width} images: its feature map is 1x1 after {collapsed} "
                f"of its {len(self.strides)} strided layers, so it sees little spatial structure and may train "
                f"to chance. Use images of at least {self.total_stride}x{self.total_stride} (resize them), or a model "
                "that downsamples less, e.g. vision.resnet18 with stem='small' (8x)."
            ),
            stacklevel=3,
        )

    def set_gradient_checkpointing(self, enabled: bool = True) -> None:
        """Turn per-stage activation checkpointing on or off (applies while training)."""
        self.gradient_checkpointing = enabled

    def _stages(self) -> list[nn.Module]:
        # ``features`` is flat (torchvision's layout); slices group its blocks into stages.
        out: list[nn.Module] = []
        start = 1
        for size in self.stage_sizes:
            out.append(self.features[start : start + size])
            start += size
        return out

    def _init(self, zero_init_residual: bool) -> None:
        init_conv_norm(self)
        for m in self.classifier.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, InvertedResidualV2) and m.use_res_connect:
                    zero_init_last_norm(m.conv[-1])
                elif isinstance(m, MBConv) and m.use_res_connect:
                    zero_init_last_norm(m.block[-1].get_submodule("1"))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Return the last feature map (N, C, H', W') for images ``x`` (N, in_chans, H, W)."""
        x = self.features[0](x)
        x = forward_stages(self._stages(), x, checkpointing=self.gradient_checkpointing, training=self.training)
        out: torch.Tensor = self.features[-1](x)
        return out

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Pool a feature map and classify it; returns logits (N, num_classes)."""
        pooled = torch.flatten(nn.functional.adaptive_avg_pool2d(features, 1), 1)
        out: torch.Tensor = self.classifier(pooled)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return logits (N, num_classes) for images ``x`` (N, in_chans, H, W)."""
        # is_compiling first: a compiled forward never reads (or guards on) the flag; a traced one skips it
        if not torch.compiler.is_compiling() and not _is_tracing() and not self._input_checked:
            self._check_input_size(x)
        return self.forward_head(self.forward_features(x))


class MobileNetV2(_MobileNetBase):
    """MobileNetV2 (Sandler et al., 2018) from a :class:`~forge.vision.models.configs.MobileNetConfig`.

    Attributes:
        config: The configuration it was built from.
        num_features: Channels of the final feature map.
        stage_sizes: Blocks per stage (the rows of the paper's table).
        classifier_prefix: State-dict prefix of the classification layer.
        cam_target_layer: Name of the module whose output is the last feature map (for Grad-CAM).
    """

    classifier_prefix: ClassVar[str] = "classifier.1."

    def __init__(self, config: MobileNetConfig) -> None:
        super().__init__(config)
        w = config.width_multiplier
        act = config.activation or "relu6"
        norm = norm_factory(config.norm, eps=1e-5 if config.norm_eps is None else config.norm_eps)
        cin = make_divisible(32 * w)
        self.num_features = make_divisible(1280 * max(1.0, w))
        layers: list[nn.Module] = [
            ConvNormAct(config.in_chans, cin, 3, 1 if config.stem == "small" else 2, norm=norm, activation=act)
        ]
        total = sum(n for _, _, n, _ in _V2_SETTING)
        index = 0
        for t, c, n, s in _V2_SETTING:
            cout = make_divisible(c * w)
            for i in range(n):
                rate = config.drop_path_rate * index / total
                layers.append(
                    InvertedResidualV2(cin, cout, s if i == 0 else 1, t, norm=norm, activation=act, drop_path=rate)
                )
                cin = cout
                index += 1
        layers.append(ConvNormAct(cin, self.num_features, 1, norm=norm, activation=act))
        self.features = nn.Sequential(*layers)
        self.stage_sizes = tuple(n for _, _, n, _ in _V2_SETTING)
        stem_stride = 1 if config.stem == "small" else 2
        self.strides = tuple(s for s in (stem_stride, *(s for _, _, _, s in _V2_SETTING)) if s > 1)
        self.classifier = nn.Sequential(nn.Dropout(p=config.dropout), nn.Linear(self.num_features, config.num_classes))
        self._init(config.zero_init_residual)


class MobileNetV3(_MobileNetBase):
    """MobileNetV3-Small/-Large (Howard et al., 2019) from a :class:`~forge.vision.models.configs.MobileNetConfig`.

    Attributes:
        config: The configuration it was built from.
        num_features: Channels of the final feature map.
        stage_sizes: Blocks per stage (grouped as timm's arch definitions, for the key map).
        classifier_prefix: State-dict prefix of the classification layer.
        cam_target_layer: Name of the module whose output is the last feature map (for Grad-CAM).
    """

    classifier_prefix: ClassVar[str] = "classifier.3."

    def __init__(self, config: MobileNetConfig) -> None:
        super().__init__(config)
        rows = _V3_LARGE if config.variant == "v3_large" else _V3_SMALL
        last_channel = 1280 if config.variant == "v3_large" else 1024
        w = config.width_multiplier

        def adjust(c: int) -> int:
            return make_divisible(c * w, 8)

        # torchvision ports the TensorFlow weights, hence TF's batch-norm constants.
        eps = 1e-3 if config.norm_eps is None else config.norm_eps
        norm = norm_factory(config.norm, eps=eps, momentum=0.01)
        hs = config.activation or "hardswish"
        re = config.activation or "relu"
        stem_stride = 1 if config.stem == "small" else 2
        layers: list[nn.Module] = [
            ConvNormAct(config.in_chans, adjust(rows[0][0]), 3, stem_stride, norm=norm, activation=hs)
        ]
        for index, (cin, k, exp, cout, se, use_hs, stride, _) in enumerate(rows):
            rate = config.drop_path_rate * index / len(rows)
            layers.append(
                MBConv(
                    adjust(cin),
                    adjust(exp),
                    adjust(cout),
                    k,
                    stride,
                    norm=norm,
                    activation=hs if use_hs else re,
                    se_channels=make_divisible(adjust(exp) // 4, 8) if se else None,
                    se_activation="relu",
                    se_gate="hardsigmoid",
                    drop_path=rate,
                )
            )
        last_in = adjust(rows[-1][3])
        last_out = 6 * last_in
        layers.append(ConvNormAct(last_in, last_out, 1, norm=norm, activation=hs))
        self.features = nn.Sequential(*layers)
        self.stage_sizes = _stage_sizes([r[7] for r in rows])
        self.strides = tuple(s for s in (stem_stride, *(r[6] for r in rows)) if s > 1)
        self.num_features = last_out
        hidden = adjust(last_channel)
        self.classifier = nn.Sequential(
            nn.Linear(last_out, hidden),
            make_activation(hs),
            nn.Dropout(p=config.dropout, inplace=True),
            nn.Linear(hidden, config.num_classes),
        )
        self._init(config.zero_init_residual)


def build_mobilenet(config: MobileNetConfig) -> MobileNetV2 | MobileNetV3:
    """Build a MobileNet from its config.

    Args:
        config: The MobileNet configuration; ``variant`` picks V2, V3-Small or V3-Large.

    Returns:
        The model, freshly initialized as torchvision initializes it.

    Example:
        >>> model = build_mobilenet(MobileNetConfig(variant="v3_small", num_classes=10))
    """
    if config.variant == "v2":
        return MobileNetV2(config)
    return MobileNetV3(config)


def example_input(config: MobileNetConfig) -> torch.Tensor:
    """A small random batch the model is made for: 2 x in_chans x 64 x 64 (16 x 16 for the small stem).

    Not smaller than the model downsamples (16x with the small stem), which would warn
    (:class:`SmallInputWarning`).
    """
    size = 16 if config.stem == "small" else 64
    return torch.randn(2, config.in_chans, size, size)
