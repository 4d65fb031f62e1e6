"""Post-training int8 quantization with torchao (``torch.ao.quantization`` is deprecated upstream).

- :func:`quantize_dynamic`: int8 weights, activations quantized per batch at run time, for
  ``nn.Linear`` layers. Two backends: ``"pt2e"`` (the model captured with ``torch.export`` and
  quantized by torchao's x86 Inductor quantizer in dynamic mode; compiled with freezing, its
  linear layers run as oneDNN ``qlinear`` kernels with VNNI / AMX) and ``"torchao"``
  (``Int8DynamicActivationInt8WeightConfig`` tensor subclasses, no capture needed). Best for
  linear-heavy models (Transformers, MLPs); convolutions stay in float.
- :func:`quantize_static`: int8 weights and activations with scales calibrated on real batches,
  through the PT2E flow (``prepare_pt2e`` / ``convert_pt2e`` with the x86 Inductor quantizer);
  the result is a graph module whose int8 kernels come from ``torch.compile`` (Inductor).
- :func:`compile_quantized`: ``torch.compile`` with Inductor's freezing on, which the int8
  kernels need: without freezing Inductor leaves the quantize / dequantize pairs as float code
  (measured: PT2E dynamic int8 on a 64-1024x3-10 MLP at batch 32, one thread, 3.7x fp32 eager
  with freezing, 0.7x without).
"""

from __future__ import annotations

import copy
import importlib.util
import io
import logging
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

import torch
from torch import nn

from forge.core.errors import ConfigError, ExportError

__all__ = [
    "DYNAMIC_BACKENDS",
    "compile_quantized",
    "model_size_bytes",
    "need_torchao",
    "quantize_dynamic",
    "quantize_static",
]

# "auto": pt2e when an example input is given (the faster kernels once compiled with freezing), else torchao
DYNAMIC_BACKENDS = ("auto", "pt2e", "torchao")
DynamicBackend = Literal["auto", "pt2e", "torchao"]


def need_torchao() -> None:
    """Raise :class:`ExportError` when torchao is missing; quiet its import-time log lines."""
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


def quantize_dynamic(
    model: nn.Module, example: Sequence[torch.Tensor] | None = None, *, backend: DynamicBackend = "auto"
) -> Any:
    """A copy of ``model`` (eval mode) with its linear layers quantized to int8, activations dynamic.

    Weights are int8 per output channel (symmetric); each activation gets its scale from the batch
    at run time, so no calibration is needed. Compile the result with :func:`compile_quantized`
    for the int8 speed (eager it runs the quantization arithmetic in float and is slower than fp32).

    Args:
        model: The float model.
        example: One example batch of positional inputs (batch at least 2; the batch dimension
            stays dynamic); the ``pt2e`` backend needs it to capture the model.
        backend: ``"pt2e"``: capture with ``torch.export`` and quantize with torchao's x86
            Inductor quantizer (``is_dynamic=True``); the result is a graph module whose linear
            layers become oneDNN ``qlinear`` kernels when compiled with freezing (the faster
            path on x86). ``"torchao"``: swap the linear weights for torchao's
            ``Int8DynamicActivationInt8WeightConfig`` tensors (no capture; works on models
            ``torch.export`` cannot capture). ``"auto"`` (default): ``pt2e`` when ``example`` is
            given, else ``torchao``.

    Returns:
        The quantized model; its ``forge_int8_backend`` attribute names the backend used.

    Raises:
        ExportError: torchao is not installed, the model has no linear layer to quantize,
            ``backend="pt2e"`` without ``example``, or the capture / annotation failed.
        ConfigError: unknown ``backend``.
    """
    need_torchao()
    if backend not in DYNAMIC_BACKENDS:
        raise ConfigError(f"dynamic int8: backend {backend!r}: expected one of {', '.join(DYNAMIC_BACKENDS)}")
    if not any(isinstance(m, nn.Linear) for m in model.modules()):
        raise ExportError("dynamic int8 quantization found no nn.Linear layer in the model (use static_int8)")
    chosen = backend if backend != "auto" else ("pt2e" if example is not None else "torchao")
    quantized: Any
    if chosen == "pt2e":
        if example is None:
            raise ExportError(
                "dynamic int8 (pt2e): an example batch is needed to capture the model "
                "(pass example=(inputs,), or backend='torchao')"
            )
        quantized = _pt2e(model, tuple(example), None, dynamic=True)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_

            quantized = copy.deepcopy(model).eval().cpu()
            quantize_(quantized, Int8DynamicActivationInt8WeightConfig())
    quantized.forge_int8_backend = chosen
    return quantized


def compile_quantized(model: Any) -> Callable[..., Any]:
    """``torch.compile`` of a quantized model with Inductor's freezing on, called without autograd.

    Freezing is what lets Inductor replace the quantize / dequantize patterns of
    :func:`quantize_dynamic` and :func:`quantize_static` by prepacked oneDNN int8 kernels (and
    torchao's int8 matmuls by the same). It is a global Inductor setting read when a graph
    compiles, so it is switched on only around each call (compilation, and recompilation for a
    new input shape, happen inside a call); other compiled models are not affected. Freezing
    treats the weights as constants: do not change them after the first call.

    Returns:
        A callable with the model's signature.
    """
    import torch._inductor.config as inductor_config

    compiled = torch.compile(model)

    def run(*args: Any, **kwargs: Any) -> Any:
        with inductor_config.patch(freezing=True), torch.no_grad():
            return compiled(*args, **kwargs)  # type: ignore[no-untyped-call]

    return run


# Module types whose calls torchao's x86 quantizer matches as patterns (conv/linear + norm/activation)
_PATTERN_MODULES = (
    nn.Conv2d,
    nn.Linear,
    nn.BatchNorm2d,
    nn.ReLU,
    nn.ReLU6,
    nn.Hardtanh,
    nn.Hardswish,
    nn.Hardsigmoid,
    nn.SiLU,
    nn.GELU,
    nn.LeakyReLU,
    nn.MaxPool2d,
    nn.AdaptiveAvgPool2d,
)


def _capture(
    model: nn.Module, example: tuple[torch.Tensor, ...], label: str = "static int8"
) -> tuple[torch.fx.GraphModule, str]:
    """The model as an ATen graph module, and which capture made it ("strict" or "non-strict").

    Strict (Dynamo) capture comes first: it records which call of a module each node came from
    (``source_fn_stack``), and torchao's x86 quantizer groups nodes into ops by it. A non-strict
    capture leaves it out and the quantizer groups by module instead, so a module called twice in
    one forward (a ResNet block applies its one ReLU twice) looks like a single op with two outputs
    and annotation fails with "Input partition has more than one output node". Models Dynamo
    cannot trace still get the non-strict capture.
    """
    dims = tuple({0: torch.export.Dim.DYNAMIC} for _ in example)
    try:
        return torch.export.export(model, example, dynamic_shapes=dims, strict=True).module(), "strict"
    except Exception as strict_exc:
        try:
            return torch.export.export(model, example, dynamic_shapes=dims).module(), "non-strict"
        except Exception as exc:
            first = str(strict_exc).strip().splitlines()[0] if str(strict_exc).strip() else type(strict_exc).__name__
            raise ExportError(
                f"{label}: torch.export could not capture {type(model).__name__} (strict: {first}; non-strict: {exc})"
            ) from exc


def _shared_calls(graph: torch.fx.GraphModule) -> list[str]:
    """Modules called more than once in one forward that the quantizer took for one op with several outputs."""
    from torch.fx.passes.utils.source_matcher_utils import get_source_partitions

    found = []
    for kind, partitions in get_source_partitions(graph.graph, list(_PATTERN_MODULES)).items():
        for partition in partitions:
            if len(partition.output_nodes) > 1:
                stack = partition.output_nodes[0].meta.get("nn_module_stack") or {}
                fqn = next(reversed(stack.values()))[0] if stack else "?"
                ops = ", ".join(sorted(str(n.target) for n in partition.output_nodes))
                found.append(f"{fqn} ({getattr(kind, '__name__', kind)}: {ops})")
    return found


def quantize_static(
    model: nn.Module, example: Sequence[torch.Tensor], calibration: Iterable[Sequence[torch.Tensor]]
) -> Any:
    """``model`` quantized to int8 (weights and activations) through PT2E, calibrated on ``calibration``.

    The model is captured in eval mode (batch norms use their running statistics and are folded
    into the convolutions by ``prepare_pt2e``), strict ``torch.export`` first (see ``_capture``).

    Args:
        model: The float model.
        example: One example batch (positional inputs; batch at least 2; the batch dimension
            stays dynamic).
        calibration: Batches of positional inputs that set the activation ranges.

    Returns:
        The quantized graph module (callable like the model; compile it for int8 speed). Its
        graph holds ``quantized_decomposed`` quantize/dequantize pairs around int8 weights.

    Raises:
        ExportError: torchao is missing, the model cannot be captured or annotated (the message
            names the model and the op), or no calibration batch came.
    """
    need_torchao()
    return _pt2e(model, tuple(example), calibration, dynamic=False)


def _pt2e(
    model: nn.Module,
    example: tuple[torch.Tensor, ...],
    calibration: Iterable[Sequence[torch.Tensor]] | None,
    *,
    dynamic: bool,
) -> Any:
    """Capture, annotate with torchao's x86 Inductor quantizer, calibrate (static) and convert."""
    label = "dynamic int8 (pt2e)" if dynamic else "static int8"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # importing the quantizer also registers its Inductor passes (oneDNN weight prepack, fusions)
        import torchao.quantization.pt2e.quantizer.x86_inductor_quantizer as xiq
        from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

        name = type(model).__name__
        model = copy.deepcopy(model).eval().cpu()
        graph, capture = _capture(model, example, label)
        quantizer = xiq.X86InductorQuantizer()
        quantizer.set_global(xiq.get_default_x86_inductor_quantization_config(is_dynamic=dynamic))
        try:
            prepared = prepare_pt2e(graph, quantizer)
        except Exception as exc:  # torchao's pattern matcher refuses some graphs (see docs/deploy.md)
            shared = _shared_calls(graph)
            more = f"; and {len(shared) - 3} more" if len(shared) > 3 else ""
            why = (
                f"; these modules are called more than once in one forward, which the quantizer takes for one op "
                f"with several outputs: {'; '.join(shared[:3])}{more} (give each call its own module instance)"
                if shared
                else ""
            )
            raise ExportError(
                f"{label}: torchao's x86 quantizer could not annotate {name} ({capture} capture): {exc}{why}"
            ) from exc
        # dynamic: the activation observers record nothing (scales come per batch at run time), but
        # the weight observers need one pass to see the weights
        seen = 0
        with torch.no_grad():
            for batch in calibration if calibration is not None else [example]:
                prepared(*batch)
                seen += 1
        if seen == 0:
            raise ExportError("static int8: the calibration set gave no batch")
        return _drop_unused_tensors(convert_pt2e(prepared))


def _drop_unused_tensors(graph: torch.fx.GraphModule) -> torch.fx.GraphModule:
    """Remove the parameters and buffers the converted graph no longer reads.

    ``convert_pt2e`` folds each quantized weight into an int8 constant but leaves the float
    weight registered on its module, so a saved program would carry both (larger than fp32).
    """
    used = {str(node.target) for node in graph.graph.nodes if node.op == "get_attr"}
    for name in [n for n, _ in (*graph.named_parameters(), *graph.named_buffers())]:
        if name not in used:
            owner, _, attr = name.rpartition(".")
            delattr(graph.get_submodule(owner) if owner else graph, attr)
    graph.delete_all_unused_submodules()
    graph.recompile()
    return graph
