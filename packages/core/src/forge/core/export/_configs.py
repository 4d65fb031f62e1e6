"""Config classes of core's exporters (no torch import: ``forge info`` reads them)."""

from __future__ import annotations

from typing import Literal

import attrs

from forge.core.config import field

__all__ = ["AOTInductorConfig", "OnnxConfig", "TensorRTConfig", "TorchExportConfig", "TorchScriptConfig"]


@attrs.define
class TorchExportConfig:
    """``torch.export``: a ``.pt2`` ExportedProgram, loadable with ``torch.export.load``."""

    strict: bool = field(False, help="Trace with TorchDynamo's strict mode (non-strict follows Python as it runs).")


@attrs.define
class AOTInductorConfig:
    """AOTInductor: the ExportedProgram compiled ahead of time into a ``.pt2`` package of native code."""

    strict: bool = field(False, help="Trace with TorchDynamo's strict mode before compiling.")


@attrs.define
class OnnxConfig:
    """ONNX through the dynamo-based exporter, optimized by onnxscript, verified with onnxruntime."""

    opset: int = field(18, help="ONNX opset version (the dynamo exporter supports 13-23).", ge=13, le=23)
    optimize: bool = field(True, help="Run onnxscript's optimizer (constant folding, redundancy removal).")


@attrs.define
class TorchScriptConfig:
    """TorchScript (deprecated upstream; kept for deployments that still load it)."""

    method: Literal["trace", "script"] = field(
        "trace",
        help="trace (records the ops run on the example) or script (compiles the Python source).",
        one_of=("trace", "script"),
    )


@attrs.define
class TensorRTConfig:
    """TensorRT through torch_tensorrt's dynamo path (needs a CUDA GPU and torch_tensorrt)."""

    precision: Literal["fp32", "fp16", "bf16"] = field(
        "fp16", help="Precision TensorRT may use.", one_of=("fp32", "fp16", "bf16")
    )
    max_batch: int = field(64, help="Largest batch the engine is built for.", ge=2)
