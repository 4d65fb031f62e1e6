"""forge.core.compress: static int8 (PT2E, x86 quantizer) on forge-vision's conv nets, and its errors."""

from __future__ import annotations

import importlib.util

import pytest
import torch
from torch import nn

from forge.core import registry
from forge.core.compress import _quantize as quantize_module
from forge.core.compress import quantize_static
from forge.core.errors import ExportError

needs_torchao = pytest.mark.skipif(importlib.util.find_spec("torchao") is None, reason="torchao is not installed")
needs_vision = pytest.mark.skipif(
    importlib.util.find_spec("forge.vision") is None, reason="forge-vision is not installed"
)

_QDQ = (
    "quantized_decomposed.quantize_per_tensor.default",
    "quantized_decomposed.dequantize_per_tensor.default",
    "quantized_decomposed.dequantize_per_channel.default",
)


def _vision_model(name: str) -> nn.Module:
    torch.manual_seed(0)
    if name.startswith("vision.mobilenet"):
        # at its own initialisation MobileNet's logits are ~1e-10 (zeroed residual norms, a 0.01-std
        # head), far below any int8 step: give it a head and blocks that produce comparable logits
        model: nn.Module = registry.build("model", name, num_classes=10, zero_init_residual=False)
        for m in model.modules():
            if isinstance(m, nn.Linear):
                m.reset_parameters()
        return model.eval()
    built: nn.Module = registry.build("model", name, num_classes=10)
    return built.eval()


@needs_torchao
@needs_vision
@pytest.mark.parametrize("name", ["vision.resnet18", "vision.mobilenet_v3_small"])
def test_static_int8_quantizes_vision_models_and_agrees_with_fp32(name: str) -> None:
    model = _vision_model(name)
    calibration = [torch.randn(16, 3, 32, 32, generator=torch.Generator().manual_seed(i)) for i in range(4)]
    quantized = quantize_static(model, (calibration[0][:2],), [(batch,) for batch in calibration])
    targets = [str(n.target) for n in quantized.graph.nodes if n.op == "call_function"]
    for op in _QDQ:
        assert op in targets, f"{op} missing from the quantized graph of {name}"
    # every conv's weight is int8 behind a per-channel dequantize
    convs = sum(isinstance(m, nn.Conv2d) for m in model.modules())
    assert targets.count("quantized_decomposed.dequantize_per_channel.default") >= convs
    x = torch.cat(calibration)
    with torch.no_grad():
        reference, out = model(x), quantized(x)
    agreement = (reference.argmax(1) == out.argmax(1)).float().mean().item()
    relative = ((out - reference).norm() / reference.norm()).item()
    assert agreement >= 0.9, f"{name}: top-1 agreement with fp32 {agreement:.3f} < 0.9"
    assert 0 < relative < 0.1, f"{name}: relative L2 error {relative:.4f} outside (0, 0.1)"


class _SharedActivationBlock(nn.Module):
    """A residual block applying one ReLU module twice, as torchvision's and forge's ResNets do."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(4, 4, 3, padding=1), nn.Conv2d(4, 4, 3, padding=1)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv2(self.act(self.conv1(x))) + x)


@needs_torchao
def test_static_int8_captures_strict_so_shared_modules_quantize() -> None:
    model = _SharedActivationBlock().eval()
    calibration = [(torch.randn(4, 4, 8, 8),) for _ in range(2)]
    quantized = quantize_static(model, (torch.randn(2, 4, 8, 8),), calibration)
    x = torch.randn(3, 4, 8, 8)
    with torch.no_grad():
        assert ((quantized(x) - model(x)).norm() / model(x).norm()).item() < 0.1


@needs_torchao
def test_static_int8_names_the_model_and_the_shared_module_when_the_quantizer_refuses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def non_strict(
        model: nn.Module, example: tuple[torch.Tensor, ...], label: str = "static int8"
    ) -> tuple[torch.fx.GraphModule, str]:
        dims = tuple({0: torch.export.Dim.DYNAMIC} for _ in example)
        return torch.export.export(model, example, dynamic_shapes=dims, strict=False).module(), "non-strict"

    # what a model Dynamo cannot trace gets: the non-strict capture, without per-call source info
    monkeypatch.setattr(quantize_module, "_capture", non_strict)
    with pytest.raises(ExportError, match=r"_SharedActivationBlock \(non-strict capture\).*act \(ReLU: aten\.relu_"):
        quantize_static(_SharedActivationBlock().eval(), (torch.randn(2, 4, 8, 8),), [(torch.randn(2, 4, 8, 8),)])
