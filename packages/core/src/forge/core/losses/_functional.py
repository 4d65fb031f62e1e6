"""Loss functions in functional form, all numerically stable.

Every function works on log-probabilities from ``log_softmax`` / ``logsigmoid`` (never
``log(softmax(x))``), so arbitrarily large logits give finite losses and gradients. Half-precision
inputs (fp16, bf16) are computed in float32 and the loss is returned in float32, as autocast does
for losses; gradients flow back to the half-precision inputs.

``reduction`` is ``"mean"``, ``"sum"`` or ``"none"``. For class-index targets with
``ignore_index``, ``"mean"`` averages over the non-ignored targets (weighted by the class weights
when given) and is 0, not NaN, when every target is ignored.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from forge.core.errors import ConfigError

__all__ = [
    "bce_with_logits",
    "cross_entropy",
    "distillation_loss",
    "focal_loss",
    "huber",
    "mse",
    "reduce_loss",
]

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ConfigError(f"reduction must be one of {', '.join(_REDUCTIONS)}, got {reduction!r}")


def _f32(x: Tensor) -> Tensor:
    return x.float() if x.is_floating_point() and x.dtype != torch.float64 else x


def reduce_loss(loss: Tensor, reduction: str, weight: Tensor | None = None) -> Tensor:
    """Reduce per-element losses.

    Args:
        loss: Per-element (or per-sample) losses.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        weight: Per-element weights already folded into ``loss``; ``"mean"`` divides by their sum
            instead of the count (and gives 0 when they sum to 0).

    Returns:
        The reduced loss (``loss`` itself for ``"none"``).

    Raises:
        ConfigError: Unknown ``reduction``.
    """
    _check_reduction(reduction)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if weight is None:
        return loss.mean() if loss.numel() > 0 else loss.sum()
    total = weight.sum()
    # A safe denominator keeps the gradient finite when every element is ignored (sum is 0 then).
    safe = torch.where(total > 0, total, torch.ones_like(total))
    return loss.sum() / safe


def _class_targets(logits: Tensor, target: Tensor, ignore_index: int) -> tuple[Tensor, Tensor]:
    """(valid mask, targets with ignored entries replaced by 0) for class-index targets."""
    if target.dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
        raise ConfigError("expected class-index targets (an integer tensor)")
    valid = target != ignore_index
    # No range check here: it would synchronize with the GPU on every step; torch's own kernels
    # reject out-of-range indices.
    safe = torch.where(valid, target, torch.zeros_like(target))
    return valid, safe


def cross_entropy(
    logits: Tensor,
    target: Tensor,
    *,
    weight: Tensor | Sequence[float] | None = None,
    label_smoothing: float = 0.0,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Softmax cross-entropy with optional class weights and label smoothing.

    Args:
        logits: ``(N, C)`` or ``(N, C, d1, ...)`` unnormalized scores.
        target: Class indices ``(N, d1, ...)``, or class probabilities shaped like ``logits``.
        weight: One weight per class; ``"mean"`` is then the weighted mean (as in torch).
        label_smoothing: Mass spread uniformly over the classes (0 disables).
        ignore_index: Index target that contributes nothing.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
        The loss (float32 for half-precision logits).

    Raises:
        ConfigError: Bad ``reduction`` or ``weight`` length.
    """
    _check_reduction(reduction)
    x = _f32(logits)
    num_classes = x.shape[1] if x.ndim > 1 else x.shape[0]
    w: Tensor | None = None
    if weight is not None:
        w = torch.as_tensor(weight, dtype=x.dtype, device=x.device)
        if w.shape != (num_classes,):
            raise ConfigError(f"class weights have {tuple(w.shape)} entries, the logits {num_classes} classes")
    if target.is_floating_point():
        probs = _f32(target)
        loss = F.cross_entropy(x, probs, weight=w, label_smoothing=label_smoothing, reduction="none")
        return reduce_loss(loss, reduction)
    valid, safe_target = _class_targets(x, target, ignore_index)
    per_sample = F.cross_entropy(x, safe_target, weight=w, label_smoothing=label_smoothing, reduction="none")
    sample_weight = valid.to(per_sample.dtype)
    if w is not None:
        sample_weight = sample_weight * w[safe_target]
    per_sample = per_sample * valid.to(per_sample.dtype)
    return reduce_loss(per_sample, reduction, sample_weight if reduction == "mean" else None)


def focal_loss(
    logits: Tensor,
    target: Tensor,
    *,
    gamma: float = 2.0,
    alpha: float | Sequence[float] | Tensor | None = None,
    task: str = "multiclass",
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Focal loss: ``-alpha_t * (1 - p_t)**gamma * log(p_t)``.

    Args:
        logits: Multiclass: ``(N, C, ...)`` scores. Binary: any shape, one logit per element.
        target: Multiclass: class indices. Binary: 0/1 (or soft) targets shaped like ``logits``.
        gamma: Focusing parameter (0 gives cross-entropy).
        alpha: Binary: weight of positives (negatives get ``1 - alpha``). Multiclass: one weight,
            or one per class. ``None``: unweighted.
        task: ``"multiclass"`` or ``"binary"``.
        ignore_index: Multiclass target that contributes nothing.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
        The loss (float32 for half-precision logits).

    Raises:
        ConfigError: Bad ``task``, ``reduction`` or ``alpha``.
    """
    _check_reduction(reduction)
    x = _f32(logits)
    if task == "binary":
        y = _f32(target).to(x.dtype)
        log_p = F.logsigmoid(x)
        log_not_p = F.logsigmoid(-x)
        ce = -(y * log_p + (1.0 - y) * log_not_p)
        # p_t = p for positives, 1 - p for negatives; (1 - p_t) as a sigmoid keeps it exact.
        one_minus_pt = y * torch.sigmoid(-x) + (1.0 - y) * torch.sigmoid(x)
        loss = one_minus_pt.clamp_min(torch.finfo(x.dtype).tiny).pow(gamma) * ce if gamma else ce
        if alpha is not None:
            if not isinstance(alpha, (int, float)):
                raise ConfigError("binary focal loss takes one alpha (the weight of positives)")
            loss = (y * alpha + (1.0 - y) * (1.0 - alpha)) * loss
        return reduce_loss(loss, reduction)
    if task != "multiclass":
        raise ConfigError(f"focal loss task must be 'multiclass' or 'binary', got {task!r}")
    valid, safe_target = _class_targets(x, target, ignore_index)
    log_probs = F.log_softmax(x, dim=1)
    log_pt = log_probs.gather(1, safe_target.unsqueeze(1)).squeeze(1)
    # -expm1(log p) = 1 - p without cancellation when p is near 1.
    one_minus_pt = (-torch.expm1(log_pt)).clamp_min(torch.finfo(x.dtype).tiny)
    loss = -log_pt * (one_minus_pt.pow(gamma) if gamma else 1.0)
    if alpha is not None:
        num_classes = x.shape[1]
        a = torch.as_tensor(alpha, dtype=x.dtype, device=x.device)
        if a.ndim == 0:
            a = a.expand(num_classes)
        if a.shape != (num_classes,):
            raise ConfigError(f"focal alpha has {a.numel()} entries, the logits {num_classes} classes")
        loss = a[safe_target] * loss
    loss = loss * valid.to(loss.dtype)
    return reduce_loss(loss, reduction, valid.to(loss.dtype) if reduction == "mean" else None)


def bce_with_logits(
    logits: Tensor,
    target: Tensor,
    *,
    pos_weight: Tensor | Sequence[float] | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Binary cross-entropy on logits.

    Args:
        logits: Any shape.
        target: Probabilities (0/1 or soft) shaped like ``logits``.
        pos_weight: Weight of positives, broadcast over the last dimension.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (element-wise).

    Returns:
        The loss (float32 for half-precision logits).
    """
    _check_reduction(reduction)
    x = _f32(logits)
    pw = None if pos_weight is None else torch.as_tensor(pos_weight, dtype=x.dtype, device=x.device)
    return F.binary_cross_entropy_with_logits(x, _f32(target).to(x.dtype), pos_weight=pw, reduction=reduction)


def mse(prediction: Tensor, target: Tensor, *, reduction: str = "mean") -> Tensor:
    """Mean squared error (element-wise for ``"none"``).

    Args:
        prediction: Predictions.
        target: Targets, same shape.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
        The loss (float32 for half-precision inputs).
    """
    _check_reduction(reduction)
    x = _f32(prediction)
    return F.mse_loss(x, _f32(target).to(x.dtype), reduction=reduction)


def huber(prediction: Tensor, target: Tensor, *, delta: float = 1.0, reduction: str = "mean") -> Tensor:
    """Huber loss: ``0.5 * e**2`` for ``|e| <= delta``, ``delta * (|e| - 0.5 * delta)`` beyond.

    Args:
        prediction: Predictions.
        target: Targets, same shape.
        delta: The switch point.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
        The loss (float32 for half-precision inputs).
    """
    _check_reduction(reduction)
    x = _f32(prediction)
    return F.huber_loss(x, _f32(target).to(x.dtype), delta=delta, reduction=reduction)


def distillation_loss(
    student_logits: Tensor,
    teacher_logits: Tensor,
    target: Tensor | None,
    *,
    temperature: float = 4.0,
    alpha: float = 0.5,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Knowledge distillation: ``alpha * T**2 * KL(teacher_T || student_T) + (1 - alpha) * CE``.

    ``KL`` is between the temperature-softened distributions, summed over classes per sample;
    the ``T**2`` factor keeps the soft term's gradient scale independent of ``T``. The teacher
    gets no gradient. With ``target=None`` (or ``alpha=1``) only the soft term is used.

    Args:
        student_logits: ``(N, C)`` student scores.
        teacher_logits: ``(N, C)`` teacher scores.
        target: ``(N,)`` class indices for the hard term, or ``None``.
        temperature: Softmax temperature ``T``.
        alpha: Weight of the soft term.
        ignore_index: Hard-label value ignored by the hard term.
        reduction: ``"mean"`` (over all samples, ignored hard labels included in the count),
            ``"sum"`` or ``"none"`` (per sample).

    Returns:
        The loss (float32 for half-precision logits).

    Raises:
        ConfigError: Mismatched shapes or bad arguments.
    """
    _check_reduction(reduction)
    if student_logits.shape != teacher_logits.shape:
        raise ConfigError(
            f"student logits {tuple(student_logits.shape)} and teacher logits "
            f"{tuple(teacher_logits.shape)} differ in shape"
        )
    if temperature <= 0:
        raise ConfigError(f"temperature must be > 0, got {temperature}")
    s = _f32(student_logits)
    t = _f32(teacher_logits).detach().to(s.dtype)
    log_p_student = F.log_softmax(s / temperature, dim=1)
    log_p_teacher = F.log_softmax(t / temperature, dim=1)
    # KL with log-target: exp(log q) * (log q - log p); a 0-probability class contributes 0.
    soft = (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(dim=1) * temperature**2
    if target is None or alpha == 1.0:
        return reduce_loss(soft, reduction)
    hard = cross_entropy(s, target, ignore_index=ignore_index, reduction="none")
    return reduce_loss(alpha * soft + (1.0 - alpha) * hard, reduction)
