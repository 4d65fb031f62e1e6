"""Registrations of core's exporters (light: strings only, no torch)."""

from __future__ import annotations

from forge.core.hookspecs import Register

__all__ = ["register_exporters"]

_F = "forge.core.export._formats"
_C = "forge.core.export._configs"


def register_exporters(register: Register) -> None:
    """Register ``core.torch_export``, ``core.aoti``, ``core.onnx``, ``core.torchscript`` and ``core.tensorrt``."""
    register(
        "torch_export",
        builder=f"{_F}:TorchExportExporter",
        config=f"{_C}:TorchExportConfig",
        summary="torch.export ExportedProgram (.pt2), dynamic batch",
        tags=("pt2",),
    )
    register(
        "aoti",
        builder=f"{_F}:AOTInductorExporter",
        config=f"{_C}:AOTInductorConfig",
        summary="AOTInductor compiled package (.pt2 of native code), dynamic batch",
        tags=("pt2", "compiled"),
    )
    register(
        "onnx",
        builder=f"{_F}:OnnxExporter",
        config=f"{_C}:OnnxConfig",
        summary="ONNX (dynamo exporter, onnxscript-optimized), verified with onnxruntime",
        tags=("onnx",),
    )
    register(
        "torchscript",
        builder=f"{_F}:TorchScriptExporter",
        config=f"{_C}:TorchScriptConfig",
        summary="TorchScript by trace or script (deprecated upstream)",
        tags=("torchscript", "deprecated"),
    )
    register(
        "tensorrt",
        builder=f"{_F}:TensorRTExporter",
        config=f"{_C}:TensorRTConfig",
        summary="TensorRT engine through torch_tensorrt (CUDA GPU and torch_tensorrt needed)",
        tags=("gpu",),
    )
