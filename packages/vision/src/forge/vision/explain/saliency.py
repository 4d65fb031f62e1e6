"""Saliency maps through Captum: vanilla gradients, Integrated Gradients, SmoothGrad and Grad-CAM.

:func:`explain` is the one entry point; it puts the model in eval mode for the call (restoring
its mode after), accepts one image or a batch, and returns attributions shaped like the input
(Grad-CAM: one channel, upsampled to the input's height and width).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from forge.core import get_logger
from forge.core.errors import ConfigError, DataError

__all__ = ["METHODS", "explain", "last_conv_layer"]

_log = get_logger(__name__)

METHODS = ("gradients", "integrated_gradients", "smoothgrad", "grad_cam")
"""The attribution methods :func:`explain` knows."""

_OPTIONS: dict[str, frozenset[str]] = {
    "gradients": frozenset({"abs"}),
    "integrated_gradients": frozenset({"baseline", "n_steps", "integration", "internal_batch_size"}),
    "smoothgrad": frozenset({"abs", "samples", "stdev", "seed"}),
    "grad_cam": frozenset({"layer", "relu"}),
}


def last_conv_layer(model: nn.Module) -> nn.Module:
    """The last :class:`torch.nn.Conv2d` registered in ``model``, Grad-CAM's default layer.

    Raises:
        ConfigError: if the model has no Conv2d.
    """
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ConfigError(f"grad_cam: {type(model).__name__} has no Conv2d layer; pass layer= explicitly")
    return convs[-1]


def _resolve_layer(model: nn.Module, layer: nn.Module | str | None) -> nn.Module:
    if layer is None:
        return last_conv_layer(model)
    if isinstance(layer, nn.Module):
        return layer
    try:
        return model.get_submodule(layer)
    except AttributeError:
        raise ConfigError(f"grad_cam: model {type(model).__name__} has no submodule {layer!r}") from None


def _targets(model: nn.Module, inputs: Tensor, target: int | Tensor | None) -> Tensor:
    n = inputs.shape[0]
    if target is None:
        with torch.no_grad():
            predicted: Tensor = model(inputs).argmax(dim=-1)
        return predicted
    t = torch.as_tensor(target, dtype=torch.int64, device=inputs.device)
    if t.dim() == 0:
        return t.expand(n)
    if t.shape != (n,):
        raise DataError(f"explain: expected one target per input ({n}), got shape {tuple(t.shape)}")
    return t


def explain(
    model: nn.Module,
    inputs: Tensor,
    target: int | Tensor | None = None,
    method: str = "integrated_gradients",
    **opts: Any,
) -> Tensor:
    """Attribute the model's output for ``target`` to the input pixels.

    Args:
        model: A classifier returning logits ``(N, K)``.
        inputs: One image ``(C, H, W)`` or a batch ``(N, C, H, W)``, preprocessed as the model expects.
        target: Class index (one for all, or one per image); None explains the predicted class.
        method: One of :data:`METHODS`.
        **opts: Method options:

            - gradients: ``abs`` (True) takes the absolute gradient.
            - integrated_gradients: ``baseline`` (zeros; a tensor or a float), ``n_steps`` (64),
              ``integration`` ("gausslegendre" or "riemann_trapezoid", ...), ``internal_batch_size``.
            - smoothgrad: ``samples`` (16), ``stdev`` (0.15 of the input's value range), ``abs``
              (True), ``seed`` (None) for reproducible noise.
            - grad_cam: ``layer`` (a module or its dotted name; the last Conv2d by default),
              ``relu`` (True) keeps positive evidence only.

    Returns:
        Attributions with the input's shape (Grad-CAM: ``(N, 1, H, W)`` or ``(1, H, W)``), detached.

    Raises:
        ConfigError: for an unknown method or option.
        DataError: if the input or target shapes are wrong.

    Example::

        attr = explain(model, image, target=3, method="integrated_gradients", n_steps=64)
    """
    if method not in METHODS:
        raise ConfigError(f"explain: unknown method {method!r}; choose from {', '.join(METHODS)}")
    unknown = set(opts) - _OPTIONS[method]
    if unknown:
        raise ConfigError(
            f"explain: unknown option(s) {sorted(unknown)} for {method}; known: {sorted(_OPTIONS[method])}"
        )
    if not isinstance(inputs, Tensor) or inputs.dim() not in (3, 4) or not inputs.is_floating_point():
        raise DataError(
            "explain: expected a float image (C, H, W) or batch (N, C, H, W), got "
            f"{getattr(inputs, 'dtype', type(inputs).__name__)} {tuple(getattr(inputs, 'shape', ()))}"
        )
    single = inputs.dim() == 3
    # requiring gradients here spares Captum its "did not already require gradients" warning
    x = (inputs.unsqueeze(0) if single else inputs).detach().requires_grad_(True)
    was_training = model.training
    model.eval()
    try:
        targets = _targets(model, x, target)
        with warnings.catch_warnings(record=True) as caught:
            # Captum's own warnings are about its internals, not the caller's model: logged, not shown
            warnings.filterwarnings("always", module=r"captum(\.|$)")
            attributions = _METHOD_FUNCS[method](model, x, targets, opts).detach()
        for warning in caught:
            if warning.filename and "captum" in Path(warning.filename).parts:
                _log.debug("explain.captum_warning", category=warning.category.__name__, message=str(warning.message))
            else:
                warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    finally:
        model.train(was_training)
    return attributions[0] if single else attributions


def _gradients(model: nn.Module, x: Tensor, targets: Tensor, opts: dict[str, Any]) -> Tensor:
    from captum.attr import Saliency

    out: Tensor = Saliency(model).attribute(x, target=targets, abs=bool(opts.get("abs", True)))
    return out


def _integrated_gradients(model: nn.Module, x: Tensor, targets: Tensor, opts: dict[str, Any]) -> Tensor:
    from captum.attr import IntegratedGradients

    baseline = opts.get("baseline", 0.0)
    if isinstance(baseline, Tensor):
        baseline = baseline.to(device=x.device, dtype=x.dtype)
        if baseline.dim() == 3:
            baseline = baseline.unsqueeze(0)
    out: Tensor = IntegratedGradients(model).attribute(
        x,
        baselines=baseline,
        target=targets,
        n_steps=int(opts.get("n_steps", 64)),
        method=str(opts.get("integration", "gausslegendre")),
        internal_batch_size=opts.get("internal_batch_size"),
    )
    return out


def _smoothgrad(model: nn.Module, x: Tensor, targets: Tensor, opts: dict[str, Any]) -> Tensor:
    from captum.attr import NoiseTunnel, Saliency

    span = float(x.detach().max() - x.detach().min()) or 1.0
    stdev = float(opts.get("stdev", 0.15 * span))
    seed = opts.get("seed")
    # Captum draws the noise from torch's global generator; fork it so a seed does not disturb the caller.
    devices = [x.device] if x.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(int(seed))
        out: Tensor = NoiseTunnel(Saliency(model)).attribute(
            x,
            nt_type="smoothgrad",
            nt_samples=int(opts.get("samples", 16)),
            stdevs=stdev,
            target=targets,
            abs=bool(opts.get("abs", True)),
        )
    return out


def _grad_cam(model: nn.Module, x: Tensor, targets: Tensor, opts: dict[str, Any]) -> Tensor:
    from captum.attr import LayerAttribution, LayerGradCam

    layer = _resolve_layer(model, opts.get("layer"))
    cam: Tensor = LayerGradCam(model, layer).attribute(
        x, target=targets, relu_attributions=bool(opts.get("relu", True))
    )
    out: Tensor = LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), interpolate_mode="bilinear")
    return out


_METHOD_FUNCS: dict[str, Callable[[nn.Module, Tensor, Tensor, dict[str, Any]], Tensor]] = {
    "gradients": _gradients,
    "integrated_gradients": _integrated_gradients,
    "smoothgrad": _smoothgrad,
    "grad_cam": _grad_cam,
}
