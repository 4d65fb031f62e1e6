"""Attention interpretability: per-layer, per-head attention maps, attention rollout, heatmaps.

Works with any model that has ``attention_maps(input_ids, attention_mask=None)`` returning one
``(B, heads, T, T)`` tensor of attention probabilities per layer (every forge-nlp Transformer
does); rows are queries, columns keys.

Attention rollout (Abnar & Zuidema, "Quantifying Attention Flow in Transformers", 2020) follows
attention through the residual connections: each layer's heads are averaged, the identity is
added (the residual path) and rows are renormalized, ``Â_l = (mean_h A_l + I) / rowsum``, and the
layers are multiplied from the first up, ``R = Â_L ··· Â_2 Â_1``. Row ``i`` of ``R`` says how much
each input token flows into position ``i`` at the last layer.

Example:
    >>> maps = attention_maps(model, input_ids)            # doctest: +SKIP
    >>> rollout = attention_rollout(maps)                   # (B, T, T)  # doctest: +SKIP
    >>> save_heatmap(rollout[0], tokens, "rollout.png")    # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import torch
from torch import Tensor, nn

from forge.core.errors import DataError

__all__ = ["attention_maps", "attention_rollout", "save_heatmap", "token_importance"]


def attention_maps(model: nn.Module, input_ids: Tensor, attention_mask: Tensor | None = None) -> Tensor:
    """Every layer's and head's attention probabilities, in eval mode without gradients.

    Args:
        model: A model with ``attention_maps(input_ids, attention_mask=None)``.
        input_ids: ``(B, T)`` token ids.
        attention_mask: ``(B, T)``, true (or 1) on real tokens; None: all real.

    Returns:
        ``(layers, B, heads, T, T)``.

    Raises:
        DataError: The model has no ``attention_maps``, or returns no maps or maps of the wrong shape.
    """
    get = getattr(model, "attention_maps", None)
    if not callable(get):
        raise DataError(f"{type(model).__name__} has no attention_maps(input_ids, attention_mask=None) method")
    if input_ids.dim() != 2:
        raise DataError(f"input_ids must be (batch, tokens), got shape {tuple(input_ids.shape)}")
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            maps = list(get(input_ids, attention_mask))
    finally:
        model.train(was_training)
    if not maps:
        raise DataError(f"{type(model).__name__}.attention_maps returned no layers")
    b, t = input_ids.shape
    for i, m in enumerate(maps):
        if m.dim() != 4 or m.shape[0] != b or m.shape[2:] != (t, t):
            raise DataError(
                f"{type(model).__name__}.attention_maps layer {i}: expected (B={b}, heads, T={t}, T={t}), "
                f"got {tuple(m.shape)}"
            )
    return torch.stack([m.float() for m in maps])


def attention_rollout(
    maps: Tensor | Sequence[Tensor],
    *,
    head_fusion: Literal["mean", "max", "min"] = "mean",
    residual: bool = True,
) -> Tensor:
    """Attention rollout over layers (Abnar & Zuidema 2020).

    Args:
        maps: ``(layers, B, heads, T, T)`` or a list of ``(B, heads, T, T)``, first layer first.
        head_fusion: How heads are combined: ``"mean"`` (the paper's), ``"max"`` or ``"min"``.
        residual: Add the identity before renormalizing (the paper's); false multiplies the raw maps.

    Returns:
        ``(B, T, T)`` rollout; each row sums to 1.

    Raises:
        DataError: The maps are not 5-D (stacked) with square attention.
    """
    stacked = torch.stack(list(maps)) if not isinstance(maps, Tensor) else maps
    if stacked.dim() != 5 or stacked.shape[-1] != stacked.shape[-2]:
        raise DataError(f"attention_rollout: expected (layers, B, heads, T, T), got {tuple(stacked.shape)}")
    stacked = stacked.double()
    if head_fusion == "mean":
        fused = stacked.mean(dim=2)
    elif head_fusion == "max":
        fused = stacked.amax(dim=2)
    elif head_fusion == "min":
        fused = stacked.amin(dim=2)
    else:
        raise DataError(f"attention_rollout: head_fusion must be mean, max or min, got {head_fusion!r}")
    t = fused.shape[-1]
    if residual:
        fused = fused + torch.eye(t, dtype=fused.dtype)
    fused = fused / fused.sum(dim=-1, keepdim=True).clamp_min(torch.finfo(fused.dtype).tiny)
    rollout = fused[0]
    for layer in fused[1:]:
        rollout = layer @ rollout
    return rollout.float()


def token_importance(rollout: Tensor, position: int = 0) -> Tensor:
    """How much each input token flows into ``position`` (the pooled token of a classifier: 0).

    Args:
        rollout: ``(B, T, T)`` from :func:`attention_rollout`.
        position: The query position.

    Returns:
        ``(B, T)``, each row summing to 1.
    """
    if rollout.dim() != 3:
        raise DataError(f"token_importance: expected a (B, T, T) rollout, got {tuple(rollout.shape)}")
    return rollout[:, position, :]


def _colour(value: float) -> tuple[int, int, int]:
    # a perceptually ordered dark-blue -> teal -> yellow ramp (viridis' end points and middle)
    stops = ((68, 1, 84), (33, 145, 140), (253, 231, 37))
    v = min(max(value, 0.0), 1.0) * 2
    lo = stops[min(int(v), 1)]
    hi = stops[min(int(v), 1) + 1]
    f = v - min(int(v), 1)
    return (round(lo[0] + f * (hi[0] - lo[0])), round(lo[1] + f * (hi[1] - lo[1])), round(lo[2] + f * (hi[2] - lo[2])))


def save_heatmap(
    matrix: Tensor,
    tokens: Sequence[str],
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
    cell: int = 24,
) -> Path:
    """Draw a ``(T, T)`` attention (or rollout) matrix as a PNG heatmap labelled with the tokens.

    Rows (queries) are labelled on the left, columns (keys) along the top, written vertically.
    Colours are scaled to the matrix's own maximum.

    Args:
        matrix: ``(T, T)`` non-negative weights (one head or a rollout of one sample).
        tokens: ``T`` token strings (``tokenizer.id_to_token`` or decoded pieces).
        path: The PNG to write (parent folders are created).
        title: Optional caption at the top.
        cell: Pixels per cell.

    Returns:
        The path written.

    Raises:
        DataError: The matrix is not square, or the token count differs from its size.
    """
    from PIL import Image, ImageDraw, ImageFont

    if matrix.dim() != 2 or matrix.shape[0] != matrix.shape[1]:
        raise DataError(f"save_heatmap: expected a square (T, T) matrix, got {tuple(matrix.shape)}")
    t = matrix.shape[0]
    if len(tokens) != t:
        raise DataError(f"save_heatmap: {len(tokens)} tokens for a {t}x{t} matrix")
    values = matrix.detach().double().cpu()
    peak = float(values.max()) if t else 0.0
    scaled = values / peak if peak > 0 else values
    font = ImageFont.load_default()
    labels = [repr(tok)[1:-1][:16] for tok in tokens]  # escapes whitespace and control characters
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    widest = max((int(probe.textlength(s, font=font)) for s in labels), default=0) + 8
    title_h = 20 if title else 0
    width, height = widest + t * cell + 4, title_h + widest + t * cell + 4
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    if title:
        draw.text((4, 4), title, fill="black", font=font)
    top = title_h + widest
    for i in range(t):
        draw.text((4, top + i * cell + cell // 2 - 5), labels[i], fill="black", font=font)
        column = Image.new("RGB", (widest, cell), "white")
        ImageDraw.Draw(column).text((4, cell // 2 - 5), labels[i], fill="black", font=font)
        image.paste(column.rotate(90, expand=True), (widest + i * cell, title_h))
        for j in range(t):
            x0, y0 = widest + j * cell, top + i * cell
            draw.rectangle((x0, y0, x0 + cell - 1, y0 + cell - 1), fill=_colour(float(scaled[i, j])))
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out, format="PNG")
    return out
