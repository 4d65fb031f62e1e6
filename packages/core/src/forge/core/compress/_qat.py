"""Quantization-aware training with torchao: fake-quantized linear layers while the model fine-tunes.

The scheme is int8 dynamic activations (asymmetric, one scale per token) with int8 weights
(symmetric, one scale per output channel), on ``nn.Linear`` layers; convolutions stay in float
(torchao's QAT covers linear and embedding layers only; use ``static_int8`` for conv nets).

Why not ``QATConfig(base_config=...)`` with one of torchao's base configs: in torchao 0.18 the int8
base config whose QAT numerics are inferred (``Int8DynamicActivationIntxWeightConfig``) converts to
``IntxUnpackedToInt8Tensor``, a reference format that dequantizes and runs a float matmul on the
CPU, and ``Int8DynamicActivationInt8WeightConfig`` (int8 x int8 matmul kernels, what ``dynamic_int8``
writes) has no inferred fake-quantization. So the fake quantizers are given explicitly, matching
``Int8DynamicActivationInt8WeightConfig(act_mapping_type=ASYMMETRIC)`` bit for bit (activations are
asymmetric because torchao's fake quantizer has no symmetric per-token mode), and :func:`convert_qat`
applies that config: the fake-quantized model's outputs are the converted int8 model's outputs up
to float rounding, and the converted model exports like a ``dynamic_int8`` one.

:class:`QATCallback` (``core.qat``) swaps the linear layers for torchao's ``FakeQuantizedLinear``
when training starts. The swapped layers hold the very same weight and bias parameters (the
optimizer keeps stepping them) under the same state-dict keys, so checkpoints are ordinary float
state dicts of the original architecture, and the trainer's validation sees the int8 numerics.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

from torch import nn

from forge.core.compress._configs import QATConfig
from forge.core.compress._quantize import need_torchao
from forge.core.errors import ConfigError, ExportError
from forge.core.trainer import callback_hook

__all__ = ["QATCallback", "build_qat", "convert_qat", "fake_quantized_layers", "prepare_qat", "set_fake_quant"]


def _configs() -> tuple[Any, Any]:
    """torchao's fake-quantization configs of the activations and the weights."""
    import torch
    from torchao.quantization.qat import IntxFakeQuantizeConfig

    activations = IntxFakeQuantizeConfig(torch.int8, "per_token", is_symmetric=False)
    weights = IntxFakeQuantizeConfig(torch.int8, "per_channel", is_symmetric=True)
    return activations, weights


def _int8_config() -> Any:
    """The post-training config whose numerics the fake quantizers simulate."""
    from torchao.quantization import Int8DynamicActivationInt8WeightConfig
    from torchao.quantization.quant_primitives import MappingType

    return Int8DynamicActivationInt8WeightConfig(act_mapping_type=MappingType.ASYMMETRIC)


def fake_quantized_layers(model: nn.Module) -> list[str]:
    """Names of the fake-quantized linear layers in ``model`` (empty before :func:`prepare_qat`)."""
    from torchao.quantization.qat import FakeQuantizedLinear

    return [name for name, m in model.named_modules() if isinstance(m, FakeQuantizedLinear)]


def prepare_qat(model: nn.Module) -> nn.Module:
    """Put int8 fake quantization on every ``nn.Linear`` of ``model``, in place; returns ``model``.

    The weights stay the same parameter objects, so an optimizer built before keeps training them.

    Raises:
        ExportError: torchao is not installed.
        ConfigError: the model has no linear layer, or is itself a bare ``nn.Linear`` (which
            cannot be swapped in place).
    """
    need_torchao()
    if type(model) is nn.Linear:
        raise ConfigError("qat: the model is a bare nn.Linear, which cannot be swapped in place; wrap it in a module")
    if not any(isinstance(m, nn.Linear) for m in model.modules()):
        raise ConfigError(
            f"qat: {type(model).__name__} has no nn.Linear layer to fake-quantize "
            "(torchao's QAT covers linear layers; use static_int8 for convolutional models)"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torchao.quantization import quantize_
        from torchao.quantization.qat import QATConfig as TorchaoQATConfig

        activations, weights = _configs()
        quantize_(model, TorchaoQATConfig(activation_config=activations, weight_config=weights, step="prepare"))
    return model


def set_fake_quant(model: nn.Module, enabled: bool) -> None:
    """Switch the fake quantizers of ``model``'s fake-quantized layers on or off."""
    from torchao.quantization.qat.linear import enable_linear_fake_quant

    for m in model.modules():
        enable_linear_fake_quant(m, enabled)


def convert_qat(model: nn.Module) -> nn.Module:
    """A copy of ``model`` (eval mode, CPU) with its linear layers quantized to int8 for real.

    Takes a fake-quantized model or the float model its checkpoint loads into (the same weights);
    the result holds ``Int8Tensor`` weights and runs int8 x int8 matmuls with activations
    quantized per token at run time, as the fake quantizers simulated.

    Raises:
        ExportError: torchao is not installed, or the model has no linear layer.
    """
    need_torchao()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torchao.quantization import quantize_
        from torchao.quantization.qat import QATConfig as TorchaoQATConfig

        converted = copy.deepcopy(model).eval().cpu()
        # back to plain nn.Linear (same weights), then the real int8 quantization
        quantize_(converted, TorchaoQATConfig(step="convert"))
        if not any(isinstance(m, nn.Linear) for m in converted.modules()):
            raise ExportError(f"qat: {type(model).__name__} has no nn.Linear layer to quantize")
        quantize_(converted, _int8_config())
    return converted


class QATCallback:
    """Fake-quantize the model's linear layers (int8) for the whole fine-tune, or from ``start_step``.

    Runs after ``core.init_from`` has loaded the parent's weights (``trylast``); on a resumed run
    the checkpoint's weights are already in place, and the swap keeps them.
    """

    def __init__(self, config: QATConfig | None = None) -> None:
        self.config = config or QATConfig()
        self.layers: list[str] = []
        self._model: nn.Module | None = None
        self._enabled = False

    @callback_hook(trylast=True)
    def on_train_start(self, trainer: Any) -> None:
        """Swap in the fake-quantized layers."""
        model = trainer.unwrapped_model
        prepare_qat(model)
        self._model = model
        self.layers = fake_quantized_layers(model)
        self._enabled = True  # torchao's fake quantizers start switched on
        self._switch(trainer.global_step)

    def _switch(self, step: int) -> None:
        wanted = step >= self.config.start_step
        if self._model is not None and wanted != self._enabled:
            set_fake_quant(self._model, wanted)
            self._enabled = wanted

    def on_step_end(self, trainer: Any, loss: Any) -> None:
        """Turn the fake quantization on once ``start_step`` is reached."""
        self._switch(trainer.global_step)


def build_qat(config: QATConfig) -> QATCallback:
    """Builder of the ``core.qat`` callback."""
    return QATCallback(config)
