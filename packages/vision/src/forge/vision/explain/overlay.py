"""Render an attribution map as a heatmap over its image, as a PNG a person can look at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor

from forge.core.errors import DataError

__all__ = ["COLORMAPS", "colorize", "heatmap", "render_overlay"]

COLORMAPS = ("jet", "hot", "gray")
"""Colormaps :func:`colorize` knows."""


def heatmap(attribution: Tensor, *, percentile: float = 99.0) -> Tensor:
    """Reduce an attribution to a ``(H, W)`` map in [0, 1].

    Channels are combined by summing absolute values; the map is divided by its ``percentile``
    value so a few extreme pixels do not wash out the rest.

    Args:
        attribution: ``(H, W)``, ``(C, H, W)`` or ``(1, C, H, W)``.
        percentile: Value that maps to 1.

    Returns:
        Float ``(H, W)`` on the CPU.

    Raises:
        DataError: for other shapes.
    """
    a = attribution.detach().float().cpu()
    if a.dim() == 4 and a.shape[0] == 1:
        a = a[0]
    if a.dim() == 3:
        a = a.abs().sum(0)
    elif a.dim() == 2:
        a = a.abs()
    else:
        raise DataError(f"heatmap: expected an attribution (H, W) or (C, H, W), got shape {tuple(attribution.shape)}")
    scale = float(torch.quantile(a.flatten(), percentile / 100.0)) if a.numel() > 1 else float(a.max())
    if scale <= 0:
        scale = float(a.max())
    return (a / scale).clamp(0, 1) if scale > 0 else torch.zeros_like(a)


def colorize(values: Tensor, colormap: str = "jet") -> np.ndarray[Any, Any]:
    """Map ``(H, W)`` values in [0, 1] to an RGB uint8 array ``(H, W, 3)``.

    Raises:
        DataError: for an unknown colormap.
    """
    x = values.clamp(0, 1).numpy().astype(np.float64)
    if colormap == "jet":
        rgb = np.stack([np.clip(1.5 - np.abs(4 * x - k), 0, 1) for k in (3.0, 2.0, 1.0)], -1)
    elif colormap == "hot":
        rgb = np.stack([np.clip(3 * x - k, 0, 1) for k in (0.0, 1.0, 2.0)], -1)
    elif colormap == "gray":
        rgb = np.stack([x, x, x], -1)
    else:
        raise DataError(f"unknown colormap {colormap!r}; choose from {', '.join(COLORMAPS)}")
    return (rgb * 255).round().astype(np.uint8)


def _image_rgb(image: Tensor) -> np.ndarray[Any, Any]:
    img = image.detach().float().cpu()
    if img.dim() == 4 and img.shape[0] == 1:
        img = img[0]
    if img.dim() == 2:
        img = img.unsqueeze(0)
    if img.dim() != 3 or img.shape[0] not in (1, 3):
        raise DataError(f"render_overlay: expected an image (1 or 3, H, W), got shape {tuple(image.shape)}")
    lo, hi = float(img.min()), float(img.max())
    if lo < 0 or hi > 1:  # a normalized image: stretch it back into view
        img = (img - lo) / (hi - lo or 1.0)
    if img.shape[0] == 1:
        img = img.expand(3, -1, -1)
    out: np.ndarray[Any, Any] = (img.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    return out


def render_overlay(
    image: Tensor,
    attribution: Tensor,
    path: str | Path | None = None,
    *,
    alpha: float = 0.5,
    colormap: str = "jet",
    min_size: int = 224,
    side_by_side: bool = True,
    title: str | None = None,
    colorbar: bool = False,
) -> Image.Image:
    """Draw the attribution heatmap over the image (and, by default, the plain image beside it).

    Args:
        image: ``(C, H, W)`` with C in (1, 3); values in [0, 1], or normalized values (stretched).
        attribution: Same height and width as the image (``(H, W)`` or ``(C, H, W)``).
        path: Where to write the PNG; nothing is written when None.
        alpha: Opacity of the heatmap.
        colormap: One of :data:`COLORMAPS`.
        min_size: Small images are enlarged (nearest neighbour) so their shorter side is at least this.
        side_by_side: Put the plain image left of the overlay.
        title: A line of text drawn above the panels (e.g. the class and its probability).
        colorbar: Draw the colormap below the panels, labelled from low to high attribution.

    Returns:
        The rendered Pillow image.

    Raises:
        DataError: if the shapes do not match, ``alpha`` is outside [0, 1], or the colormap is unknown.
    """
    if not 0.0 <= alpha <= 1.0:
        raise DataError(f"render_overlay: alpha must lie in [0, 1], got {alpha}")
    base = _image_rgb(image)
    heat = heatmap(attribution)
    if tuple(heat.shape) != base.shape[:2]:
        raise DataError(
            f"render_overlay: attribution size {tuple(heat.shape)} differs from image size {base.shape[:2]}"
        )
    colored = colorize(heat, colormap).astype(np.float64)
    blended = ((1 - alpha) * base.astype(np.float64) + alpha * colored).round().astype(np.uint8)
    panels = [base, blended] if side_by_side else [blended]
    gap = np.full((base.shape[0], max(1, base.shape[1] // 32), 3), 255, dtype=np.uint8)
    canvas = np.concatenate([p for pair in zip(panels, [gap] * len(panels), strict=True) for p in pair][:-1], axis=1)
    out = Image.fromarray(canvas, mode="RGB")
    short = min(base.shape[:2])
    if short < min_size:
        factor = -(-min_size // short)
        out = out.resize((out.width * factor, out.height * factor), Image.Resampling.NEAREST)
    if title is not None or colorbar:
        out = _annotate(out, title=title, colormap=colormap if colorbar else None)
    if path is not None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        out.save(target, format="PNG")
    return out


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (OSError, TypeError, ValueError):  # a Pillow built without FreeType has only the bitmap font
        return ImageFont.load_default()


def _annotate(panels: Image.Image, *, title: str | None, colormap: str | None) -> Image.Image:
    """``panels`` with a title band above and a labelled colour bar below (each when asked for)."""
    width = max(panels.width, 240)
    size = max(12, min(20, width // 28))
    font = _font(size)
    title_h = size * 2 if title is not None else 0
    bar_h = size * 3 if colormap is not None else 0
    canvas = Image.new("RGB", (width, title_h + panels.height + bar_h), "white")
    canvas.paste(panels, ((width - panels.width) // 2, title_h))
    draw = ImageDraw.Draw(canvas)
    if title is not None:
        draw.text((width // 2, title_h // 2), title, fill="black", font=font, anchor="mm")
    if colormap is not None:
        top = title_h + panels.height + size // 2
        left, right = width // 6, width - width // 6
        ramp = torch.linspace(0, 1, right - left).unsqueeze(0).expand(size, -1)
        canvas.paste(Image.fromarray(colorize(ramp, colormap), mode="RGB"), (left, top))
        draw.rectangle((left - 1, top - 1, right, top + size), outline="black")
        label_y = top + size // 2
        draw.text((left - 4, label_y), "low", fill="black", font=font, anchor="rm")
        draw.text((right + 4, label_y), "high", fill="black", font=font, anchor="lm")
        draw.text((width // 2, top + size + size // 2 + 1), "attribution", fill="black", font=font, anchor="mm")
    return canvas
