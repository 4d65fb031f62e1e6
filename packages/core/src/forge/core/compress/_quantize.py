"""Post-training int8 quantization with torchao (``torch.ao.quantization`` is deprecated upstream).

- :func:`quantize_dynamic`: int8 weights, activations quantized per batch at run time, for
  ``nn.Linear`` layers (torchao's ``Int8DynamicActivationInt8WeightConfig``). Best for
  linear-heavy models (Transformers, MLPs); convolutions stay in float.
- :func:`quantize_static`: int8 weights and activations with scales calibrated on real batches,
  through the PT2E flow (``prepare_pt2e`` / ``convert_pt2e`` with the x86 Inductor quantizer);
  the result is a graph module whose int8 kernels come from ``torch.compile`` (Inductor).
"""

from __future__ import annotations

import copy
import importlib.util
import io
import logging
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import nn

from forge.core.errors import ExportError

__all__ = ["model_size_bytes", "quantize_dynamic", "quantize_static"]


def _need_torchao() -> None:
    if importlib.util.find_spec("torchao") is None:
        raise ExportError("quantization needs torchao, which is not installed: pip install torchao")
    # torchao reports its optional GPU kernels that fail to load on a CPU machine, and torch warns
    # about its enum registrations: neither concerns a CPU quantization, so keep them out of forge's output
    for name in ("torchao", "torch.utils._pytree"):
        logging.getLogger(name).setLevel(logging.ERROR)


def model_size_bytes(model: nn.Module) -> int:
    """Bytes of the model's serialized state dict (``torch.save``), the size a deployment ships."""
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.tell()


def quantize_dynamic(model: nn.Module) -> nn.Module:
    """A copy of ``model`` (eval mode) with its linear layers quantized to int8, activations dynamic.

    Raises:
        ExportError: torchao is not installed, or the model has no linear layer to quantize.
    """
    _need_torchao()
    if not any(isinstance(m, nn.Linear) for m in model.modules()):
        raise ExportError("dynamic int8 quantization found no nn.Linear layer in the model (use static_int8)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_

        quantized = copy.deepcopy(model).eval().cpu()
        quantize_(quantized, Int8DynamicActivationInt8WeightConfig())
    return quantized


def quantize_static(
    model: nn.Module, example: Sequence[torch.Tensor], calibration: Iterable[Sequence[torch.Tensor]]
) -> Any:
    """``model`` quantized to int8 (weights and activations) through PT2E, calibrated on ``calibration``.

    Args:
        model: The float model.
        example: One example batch (positional inputs; batch at least 2; the batch dimension
            stays dynamic).
        calibration: Batches of positional inputs that set the activation ranges.

    Returns:
        The quantized graph module (callable like the model; compile it for int8 speed).

    Raises:
        ExportError: torchao is missing, the model cannot be captured, or no calibration batch came.
    """
    _need_torchao()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import torchao.quantization.pt2e.quantizer.x86_inductor_quantizer as xiq
        from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

        model = copy.deepcopy(model).eval().cpu()
        dims = tuple({0: torch.export.Dim.DYNAMIC} for _ in example)
        try:
            graph = torch.export.export(model, tuple(example), dynamic_shapes=dims).module()
        except Exception as exc:
            raise ExportError(f"static int8: torch.export could not capture the model: {exc}") from exc
        quantizer = xiq.X86InductorQuantizer()
        quantizer.set_global(xiq.get_default_x86_inductor_quantization_config())
        try:
            prepared = prepare_pt2e(graph, quantizer)
        except Exception as exc:  # torchao's pattern matcher refuses some graphs (see docs/deploy.md)
            raise ExportError(f"static int8: torchao's x86 quantizer could not annotate this model: {exc}") from exc
        seen = 0
        with torch.no_grad():
            for batch in calibration:
                prepared(*batch)
                seen += 1
        if seen == 0:
            raise ExportError("static int8: the calibration set gave no batch")
        return convert_pt2e(prepared)
