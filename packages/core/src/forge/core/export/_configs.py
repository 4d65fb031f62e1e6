"""Config classes of core's exporters (no torch import: ``forge info`` reads them)."""

from __future__ import annotations

from typing import Literal

import attrs

from forge.core.config import field

__all__ = ["AOTInductorConfig", "OnnxConfig", "TensorRTConfig", "TorchExportConfig", "TorchScriptConfig"]


def _opset(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not 13 <= value <= 23:
        raise ValueError(f"{attribute.name}: opset {value} is outside the range the dynamo exporter supports (13-23)")


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

    opset: int = field(18, help="ONNX opset version (13-23).", validator=_opset)
    optimize: bool = field(True, help="Run onnxscript's optimizer (constant folding, redundancy removal).")


@attrs.define
class TorchScriptConfig:
    """TorchScript (deprecated upstream; kept for deployments that still load it)."""

    method: Literal["trace", "script"] = field(
        "trace",
        help="trace (records the ops run on the example) or script (compiles the Python source).",
        validator=attrs.validators.in_(("trace", "script")),
    )


@attrs.define
class TensorRTConfig:
    """TensorRT through torch_tensorrt's dynamo path (needs a CUDA GPU and torch_tensorrt)."""

    precision: Literal["fp32", "fp16", "bf16"] = field(
        "fp16", help="Precision TensorRT may use.", validator=attrs.validators.in_(("fp32", "fp16", "bf16"))
    )
    max_batch: int = field(64, help="Largest batch the engine is built for.", validator=attrs.validators.ge(2))
