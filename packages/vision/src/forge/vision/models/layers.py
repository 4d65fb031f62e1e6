"""Building blocks shared by forge's CNN families: norm and activation factories, conv-norm-act,
squeeze-excitation, stochastic depth, the mobile inverted bottleneck, per-stage gradient
checkpointing and channel rounding.

Module and parameter names follow torchvision's (``Conv2dNormActivation`` is a ``Sequential`` of
conv ``0``, norm ``1``, activation ``2``; squeeze-excitation holds ``fc1`` and ``fc2``), so
torchvision state dicts load by identity and timm ones by a short key map (:mod:`.interop`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from forge.core.errors import ConfigError

__all__ = [
    "ConvNormAct",
    "DropPath",
    "LayerNorm2d",
    "MBConv",
    "NormFactory",
    "SqueezeExcitation",
    "forward_stages",
    "groupnorm_groups",
    "init_conv_norm",
    "make_activation",
    "make_divisible",
    "norm_factory",
    "zero_init_last_norm",
]

NormFactory = Callable[[int], nn.Module]
"""Builds a normalization layer for a given channel count."""

NORM_TYPES: tuple[type[nn.Module], ...] = (nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm)


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round ``value`` to the nearest multiple of ``divisor``, never more than 10% below it.

    This is the rounding of the MobileNet and EfficientNet papers (and torchvision's and timm's),
    so channel counts, and hence parameter counts, match theirs.

    Args:
        value: The unrounded channel count.
        divisor: The multiple to round to.
        min_value: Lower bound (default ``divisor``).

    Returns:
        The rounded channel count.
    """
    low = divisor if min_value is None else min_value
    rounded = max(low, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def groupnorm_groups(channels: int, preferred: int = 32) -> int:
    """The number of GroupNorm groups for ``channels``: ``preferred`` when it divides, else gcd."""
    return math.gcd(preferred, channels)


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of each pixel of an NCHW tensor (as in ConvNeXt).

    Works on channels-last and contiguous tensors alike: the permutes are views, and the
    normalization runs over the (then last) channel dimension.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalize ``x`` of shape (N, C, H, W) over C; returns the same shape."""
        y = F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias, self.eps)
        return y.permute(0, 3, 1, 2)


def norm_factory(kind: str, *, eps: float, momentum: float = 0.1) -> NormFactory:
    """Return a callable building the normalization layer ``kind`` for a channel count.

    Args:
        kind: ``"batchnorm"``, ``"groupnorm"`` or ``"layernorm2d"``.
        eps: Numerical epsilon.
        momentum: Running-statistics momentum (batch norm only).

    Returns:
        ``channels -> nn.Module``.

    Raises:
        ConfigError: ``kind`` is unknown.
    """
    if kind == "batchnorm":
        return lambda c: nn.BatchNorm2d(c, eps=eps, momentum=momentum)
    if kind == "groupnorm":
        return lambda c: nn.GroupNorm(groupnorm_groups(c), c, eps=eps)
    if kind == "layernorm2d":
        return lambda c: LayerNorm2d(c, eps=eps)
    raise ConfigError(f"norm: unknown normalization {kind!r}; use batchnorm, groupnorm or layernorm2d")


_ACTIVATIONS: dict[str, Callable[[bool], nn.Module]] = {
    "relu": lambda inplace: nn.ReLU(inplace=inplace),
    "relu6": lambda inplace: nn.ReLU6(inplace=inplace),
    "silu": lambda inplace: nn.SiLU(inplace=inplace),
    "gelu": lambda inplace: nn.GELU(),
    "hardswish": lambda inplace: nn.Hardswish(inplace=inplace),
    "mish": lambda inplace: nn.Mish(inplace=inplace),
    "leaky_relu": lambda inplace: nn.LeakyReLU(0.01, inplace=inplace),
}


def make_activation(name: str, *, inplace: bool = True) -> nn.Module:
    """Build the activation ``name`` (one of :data:`forge.vision.models.configs.ACTIVATIONS`).

    Raises:
        ConfigError: ``name`` is unknown.
    """
    try:
        return _ACTIVATIONS[name](inplace)
    except KeyError:
        raise ConfigError(f"activation: unknown activation {name!r}; use one of {', '.join(_ACTIVATIONS)}") from None


class ConvNormAct(nn.Sequential):
    """Conv2d (no bias) -> norm -> optional activation, as children ``0``, ``1``, ``2``.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        kernel_size: Square kernel size; padding keeps the spatial size at stride 1.
        stride: Convolution stride.
        groups: Convolution groups (``in_channels`` for depthwise).
        norm: Normalization factory.
        activation: Activation name, or None for a linear output.
        dilation: Convolution dilation.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        *,
        groups: int = 1,
        norm: NormFactory,
        activation: str | None,
        dilation: int = 1,
    ) -> None:
        padding = (kernel_size - 1) // 2 * dilation
        layers: list[nn.Module] = [
            nn.Conv2d(
                in_channels, out_channels, kernel_size, stride, padding, dilation=dilation, groups=groups, bias=False
            ),
            norm(out_channels),
        ]
        if activation is not None:
            layers.append(make_activation(activation))
        super().__init__(*layers)
        self.out_channels = out_channels


class SqueezeExcitation(nn.Module):
    """Squeeze-and-excitation: rescale channels by a gate computed from their global average.

    Args:
        channels: Channels of the input (and output).
        squeeze_channels: Width of the bottleneck.
        activation: Activation name between ``fc1`` and ``fc2``.
        gate: ``"sigmoid"`` (EfficientNet) or ``"hardsigmoid"`` (MobileNetV3).
    """

    def __init__(self, channels: int, squeeze_channels: int, *, activation: str, gate: str = "sigmoid") -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)
        self.activation = make_activation(activation)
        self.scale_activation: nn.Module = nn.Hardsigmoid() if gate == "hardsigmoid" else nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``x`` scaled per channel by the excitation gate (same shape as ``x``)."""
        scale = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        out: torch.Tensor = x * scale
        return out


class DropPath(nn.Module):
    """Stochastic depth: drop the whole residual branch for a random subset of samples.

    In training, each sample's branch output is zeroed with probability ``rate`` and the
    survivors are scaled by ``1 / (1 - rate)``; in eval mode it is the identity.

    Args:
        rate: Drop probability in [0, 1).
    """

    def __init__(self, rate: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= rate < 1.0:
            raise ConfigError(f"drop path rate must be in [0, 1), got {rate!r}")
        self.rate = rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply stochastic depth to a branch output ``x`` of shape (N, ...)."""
        if not self.training or self.rate == 0.0:
            return x
        keep = 1.0 - self.rate
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask.div_(keep)

    def extra_repr(self) -> str:
        """Show the rate in ``print(model)``."""
        return f"rate={self.rate}"


class MBConv(nn.Module):
    """Mobile inverted bottleneck: [1x1 expand] -> kxk depthwise -> [squeeze-excitation] -> 1x1 project.

    The block of EfficientNet (squeeze-excitation always, sigmoid gate) and MobileNetV3 (optional,
    hard-sigmoid gate); the input is added back when stride is 1 and channels match.

    Args:
        in_channels: Input channels.
        hidden: Channels of the expanded (depthwise) layer; no expansion conv when equal to ``in_channels``.
        out_channels: Output channels.
        kernel: Depthwise kernel size.
        stride: Depthwise stride.
        norm: Normalization factory.
        activation: Activation name of the expand and depthwise layers.
        se_channels: Bottleneck width of squeeze-excitation, or None for no squeeze-excitation.
        se_activation: Activation name inside squeeze-excitation.
        se_gate: Gate of squeeze-excitation, ``"sigmoid"`` or ``"hardsigmoid"``.
        drop_path: Stochastic-depth rate of the residual branch.

    Attributes:
        layer_roles: What each child of ``block`` is ("expand", "depthwise", "se", "project"),
            which is what a foreign key map needs.
    """

    def __init__(
        self,
        in_channels: int,
        hidden: int,
        out_channels: int,
        kernel: int,
        stride: int,
        *,
        norm: NormFactory,
        activation: str,
        se_channels: int | None,
        se_activation: str,
        se_gate: str,
        drop_path: float,
    ) -> None:
        super().__init__()
        self.use_res_connect = stride == 1 and in_channels == out_channels
        layers: dict[str, nn.Module] = {}
        if hidden != in_channels:
            layers["expand"] = ConvNormAct(in_channels, hidden, 1, norm=norm, activation=activation)
        layers["depthwise"] = ConvNormAct(
            hidden, hidden, kernel, stride, groups=hidden, norm=norm, activation=activation
        )
        if se_channels is not None:
            layers["se"] = SqueezeExcitation(hidden, se_channels, activation=se_activation, gate=se_gate)
        layers["project"] = ConvNormAct(hidden, out_channels, 1, norm=norm, activation=None)
        self.block = nn.Sequential(*layers.values())
        self.layer_roles: tuple[str, ...] = tuple(layers)
        self.stochastic_depth = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block to ``x`` (N, in_channels, H, W); returns (N, out_channels, H', W')."""
        out: torch.Tensor = self.block(x)
        if self.use_res_connect:
            out = self.stochastic_depth(out) + x
        return out


def forward_stages(
    stages: Sequence[nn.Module], x: torch.Tensor, *, checkpointing: bool, training: bool
) -> torch.Tensor:
    """Run ``stages`` in order, recomputing each one's activations in backward when asked.

    Checkpointing only applies while training with gradients enabled; in eval or under
    ``torch.no_grad()`` the stages run plainly.

    Args:
        stages: Modules applied one after another.
        x: Input of the first stage.
        checkpointing: Whether to checkpoint each stage.
        training: The model's training flag.

    Returns:
        The output of the last stage.
    """
    use_ckpt = checkpointing and training and torch.is_grad_enabled()
    for stage in stages:
        if use_ckpt:
            x = cast(torch.Tensor, checkpoint(stage, x, use_reentrant=False))
        else:
            x = stage(x)
    return x


def init_conv_norm(module: nn.Module) -> None:
    """Kaiming-normal (fan-out) convolutions, zero conv biases, unit-gamma zero-beta norms.

    Args:
        module: The model whose submodules are initialized in place.
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, NORM_TYPES):
            weight, bias = getattr(m, "weight", None), getattr(m, "bias", None)
            if isinstance(weight, torch.Tensor) and isinstance(bias, torch.Tensor):
                nn.init.ones_(weight)
                nn.init.zeros_(bias)


def zero_init_last_norm(norm_layer: nn.Module) -> None:
    """Zero the gamma of ``norm_layer`` so the residual branch it ends starts as zero."""
    weight = getattr(norm_layer, "weight", None)
    if isinstance(weight, torch.Tensor):
        nn.init.zeros_(weight)
