"""ResNet-18/34/50/101/152 (V1.5 striding) and their pre-activation variants, in pure PyTorch.

The post-activation model has torchvision's module names (``conv1``, ``bn1``, ``layer1.0.conv2``,
``layer2.0.downsample.0``, ``fc``), so torchvision and timm ResNet state dicts load unchanged and
the parameter counts are equal (ResNet-50: 25,557,032 at 1000 classes).

The pre-activation variant (He et al., "Identity Mappings in Deep Residual Networks") orders each
block norm -> activation -> conv, takes the projection shortcut from the pre-activated input, has
a stem without normalization and a final norm-activation before pooling (as timm's ResNetV2).
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from forge.vision.models.configs import RESNET_DEPTHS, ResNetConfig
from forge.vision.models.layers import (
    DropPath,
    NormFactory,
    forward_stages,
    init_conv_norm,
    make_activation,
    make_divisible,
    norm_factory,
    zero_init_last_norm,
)

__all__ = [
    "BasicBlock",
    "Bottleneck",
    "PreActBasicBlock",
    "PreActBottleneck",
    "ResNet",
    "build_resnet",
    "example_input",
]


def _conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride, 1, bias=False)


def _conv1x1(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 1, stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (ResNet-18/34).

    Args:
        inplanes: Input channels.
        planes: Output channels.
        stride: Stride of the first convolution.
        downsample: Projection of the shortcut when shape changes, else None.
        norm: Normalization factory.
        activation: Activation name.
        drop_path: Stochastic-depth rate of the residual branch.
    """

    expansion: ClassVar[int] = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int,
        downsample: nn.Module | None,
        *,
        norm: NormFactory,
        activation: str,
        drop_path: float = 0.0,
    ) -> None:
        super().__init__()
        self.conv1 = _conv3x3(inplanes, planes, stride)
        self.bn1 = norm(planes)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = norm(planes)
        self.act = make_activation(activation)
        self.downsample = downsample
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    @property
    def last_norm(self) -> nn.Module:
        """The norm ending the residual branch (zeroed by ``zero_init_residual``)."""
        return self.bn2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block to ``x`` (N, inplanes, H, W); returns (N, planes, H/stride, W/stride)."""
        identity = x if self.downsample is None else self.downsample(x)
        out: torch.Tensor = self.act(self.bn1(self.conv1(x)))
        out = self.drop_path(self.bn2(self.conv2(out)))
        out = self.act(out + identity)
        return out


class Bottleneck(nn.Module):
    """1x1 reduce -> 3x3 (strided, V1.5) -> 1x1 expand, with a residual connection.

    Args: as :class:`BasicBlock`; the output has ``planes * 4`` channels.
    """

    expansion: ClassVar[int] = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int,
        downsample: nn.Module | None,
        *,
        norm: NormFactory,
        activation: str,
        drop_path: float = 0.0,
    ) -> None:
        super().__init__()
        self.conv1 = _conv1x1(inplanes, planes)
        self.bn1 = norm(planes)
        self.conv2 = _conv3x3(planes, planes, stride)
        self.bn2 = norm(planes)
        self.conv3 = _conv1x1(planes, planes * self.expansion)
        self.bn3 = norm(planes * self.expansion)
        self.act = make_activation(activation)
        self.downsample = downsample
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    @property
    def last_norm(self) -> nn.Module:
        """The norm ending the residual branch (zeroed by ``zero_init_residual``)."""
        return self.bn3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block to ``x`` (N, inplanes, H, W); returns (N, 4 * planes, H/stride, W/stride)."""
        identity = x if self.downsample is None else self.downsample(x)
        out: torch.Tensor = self.act(self.bn1(self.conv1(x)))
        out = self.act(self.bn2(self.conv2(out)))
        out = self.drop_path(self.bn3(self.conv3(out)))
        out = self.act(out + identity)
        return out


class PreActBasicBlock(nn.Module):
    """Pre-activation basic block: (norm -> act -> 3x3 conv) twice, identity added after.

    Args: as :class:`BasicBlock`.
    """

    expansion: ClassVar[int] = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int,
        downsample: nn.Module | None,
        *,
        norm: NormFactory,
        activation: str,
        drop_path: float = 0.0,
    ) -> None:
        super().__init__()
        self.bn1 = norm(inplanes)
        self.conv1 = _conv3x3(inplanes, planes, stride)
        self.bn2 = norm(planes)
        self.conv2 = _conv3x3(planes, planes)
        # Not in place: the pre-activated input also feeds the projection shortcut.
        self.act = make_activation(activation, inplace=False)
        self.downsample = downsample
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    @property
    def last_conv(self) -> nn.Conv2d:
        """The convolution ending the residual branch (zeroed by ``zero_init_residual``)."""
        return self.conv2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block to ``x`` (N, inplanes, H, W); returns (N, planes, H/stride, W/stride)."""
        pre = self.act(self.bn1(x))
        shortcut = x if self.downsample is None else self.downsample(pre)
        out: torch.Tensor = self.conv1(pre)
        out = self.conv2(self.act(self.bn2(out)))
        out = self.drop_path(out) + shortcut
        return out


class PreActBottleneck(nn.Module):
    """Pre-activation bottleneck: norm -> act -> conv, three times (1x1, strided 3x3, 1x1).

    Args: as :class:`BasicBlock`; the output has ``planes * 4`` channels.
    """

    expansion: ClassVar[int] = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int,
        downsample: nn.Module | None,
        *,
        norm: NormFactory,
        activation: str,
        drop_path: float = 0.0,
    ) -> None:
        super().__init__()
        self.bn1 = norm(inplanes)
        self.conv1 = _conv1x1(inplanes, planes)
        self.bn2 = norm(planes)
        self.conv2 = _conv3x3(planes, planes, stride)
        self.bn3 = norm(planes)
        self.conv3 = _conv1x1(planes, planes * self.expansion)
        self.act = make_activation(activation, inplace=False)
        self.downsample = downsample
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    @property
    def last_conv(self) -> nn.Conv2d:
        """The convolution ending the residual branch (zeroed by ``zero_init_residual``)."""
        return self.conv3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block to ``x`` (N, inplanes, H, W); returns (N, 4 * planes, H/stride, W/stride)."""
        pre = self.act(self.bn1(x))
        shortcut = x if self.downsample is None else self.downsample(pre)
        out: torch.Tensor = self.conv1(pre)
        out = self.conv2(self.act(self.bn2(out)))
        out = self.conv3(self.act(self.bn3(out)))
        out = self.drop_path(out) + shortcut
        return out


_Block = type[BasicBlock] | type[Bottleneck] | type[PreActBasicBlock] | type[PreActBottleneck]


class ResNet(nn.Module):
    """A ResNet built from a :class:`~forge.vision.models.configs.ResNetConfig`.

    Attributes:
        config: The configuration it was built from.
        gradient_checkpointing: Whether stages recompute activations in backward (training only).
        num_features: Channels of the final feature map (input width of ``fc``).
        classifier_prefix: State-dict prefix of the classification layer.
        cam_target_layer: Name of the module whose output is the last feature map (for Grad-CAM).
    """

    classifier_prefix: ClassVar[str] = "fc."
    cam_target_layer: ClassVar[str] = "layer4"

    def __init__(self, config: ResNetConfig) -> None:
        super().__init__()
        self.config = config
        self.gradient_checkpointing = config.gradient_checkpointing
        kind, layers = RESNET_DEPTHS[config.depth]
        block: _Block
        if config.preact:
            block = PreActBasicBlock if kind == "basic" else PreActBottleneck
        else:
            block = BasicBlock if kind == "basic" else Bottleneck
        norm = norm_factory(config.norm, eps=1e-5 if config.norm_eps is None else config.norm_eps)
        widths = [make_divisible(c * config.width_multiplier, 8) for c in (64, 128, 256, 512)]
        self.inplanes = widths[0]

        if config.stem == "small":
            self.conv1 = nn.Conv2d(config.in_chans, self.inplanes, 3, 1, 1, bias=False)
            self.maxpool: nn.Module = nn.Identity()
        else:
            self.conv1 = nn.Conv2d(config.in_chans, self.inplanes, 7, 2, 3, bias=False)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        # Pre-activation blocks normalize their own input, so the stem is conv -> pool only.
        self.bn1: nn.Module = nn.Identity() if config.preact else norm(self.inplanes)
        self.act: nn.Module = nn.Identity() if config.preact else make_activation(config.activation)

        total = sum(layers)
        rates = [config.drop_path_rate * i / total for i in range(total)]
        stages = []
        for i, (width, count) in enumerate(zip(widths, layers, strict=True)):
            stage_rates = rates[sum(layers[:i]) : sum(layers[: i + 1])]
            stages.append(self._make_layer(block, width, count, 1 if i == 0 else 2, norm, config, stage_rates))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.num_features = widths[3] * block.expansion
        self.final_norm: nn.Module = norm(self.num_features) if config.preact else nn.Identity()
        self.final_act: nn.Module = make_activation(config.activation) if config.preact else nn.Identity()
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(config.dropout)
        self.fc = nn.Linear(self.num_features, config.num_classes)

        init_conv_norm(self)
        if config.zero_init_residual:
            for m in self.modules():
                if isinstance(m, (BasicBlock, Bottleneck)):
                    zero_init_last_norm(m.last_norm)
                elif isinstance(m, (PreActBasicBlock, PreActBottleneck)):
                    # No norm follows the last conv of a pre-activation branch: zero the conv.
                    nn.init.zeros_(m.last_conv.weight)

    def _make_layer(
        self,
        block: _Block,
        planes: int,
        blocks: int,
        stride: int,
        norm: NormFactory,
        config: ResNetConfig,
        rates: list[float],
    ) -> nn.Sequential:
        downsample: nn.Module | None = None
        out = planes * block.expansion
        if stride != 1 or self.inplanes != out:
            if config.preact:
                downsample = nn.Sequential(_conv1x1(self.inplanes, out, stride))
            else:
                downsample = nn.Sequential(_conv1x1(self.inplanes, out, stride), norm(out))
        layers: list[nn.Module] = []
        for i in range(blocks):
            layers.append(
                block(
                    self.inplanes,
                    planes,
                    stride if i == 0 else 1,
                    downsample if i == 0 else None,
                    norm=norm,
                    activation=config.activation,
                    drop_path=rates[i],
                )
            )
            self.inplanes = out
        return nn.Sequential(*layers)

    def set_gradient_checkpointing(self, enabled: bool = True) -> None:
        """Turn per-stage activation checkpointing on or off (applies while training)."""
        self.gradient_checkpointing = enabled

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Return the last feature map (N, num_features, H', W') for images ``x`` (N, in_chans, H, W)."""
        x = self.maxpool(self.act(self.bn1(self.conv1(x))))
        x = forward_stages(
            (self.layer1, self.layer2, self.layer3, self.layer4),
            x,
            checkpointing=self.gradient_checkpointing,
            training=self.training,
        )
        out: torch.Tensor = self.final_act(self.final_norm(x))
        return out

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Pool a feature map and classify it; returns logits (N, num_classes)."""
        x = torch.flatten(self.avgpool(features), 1)
        logits: torch.Tensor = self.fc(self.dropout(x))
        return logits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return logits (N, num_classes) for images ``x`` (N, in_chans, H, W)."""
        return self.forward_head(self.forward_features(x))


def build_resnet(config: ResNetConfig) -> ResNet:
    """Build a ResNet from its config.

    Args:
        config: The ResNet configuration.

    Returns:
        The model, freshly initialized (Kaiming-normal convolutions).

    Example:
        >>> model = build_resnet(ResNetConfig(depth=18, num_classes=10))
    """
    return ResNet(config)


def example_input(config: ResNetConfig) -> torch.Tensor:
    """A small random batch the model accepts: 2 x in_chans x 64 x 64 (8 x 8 for the small stem)."""
    size = 8 if config.stem == "small" else 64
    return torch.randn(2, config.in_chans, size, size)
