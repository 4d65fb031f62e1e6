"""Writing sample grids and point clouds as PNG files (zlib only, no imaging library)."""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

import torch
from torch import Tensor

from forge.core.errors import DataError

__all__ = ["image_grid", "scatter_image", "write_png"]


def write_png(path: str | Path, pixels: Tensor) -> Path:
    """Write a ``(H, W)`` grey or ``(H, W, 3)`` RGB uint8 tensor as an 8-bit PNG.

    Raises:
        DataError: the tensor is not uint8 of one of those shapes.
    """
    if pixels.dtype != torch.uint8 or pixels.dim() not in (2, 3) or (pixels.dim() == 3 and pixels.shape[2] != 3):
        raise DataError(f"write_png: expected uint8 (H, W) or (H, W, 3), got {pixels.dtype} {tuple(pixels.shape)}")
    h, w = pixels.shape[:2]
    colour = 2 if pixels.dim() == 3 else 0
    rows = pixels.reshape(h, -1).cpu().numpy()
    raw = b"".join(b"\x00" + rows[i].tobytes() for i in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(png)
    return out


def image_grid(images: Tensor, *, nrow: int | None = None, scale: int = 4, pad: int = 1) -> Tensor:
    """Tile ``(N, C, H, W)`` images in [-1, 1] into one uint8 picture, each pixel a ``scale`` x ``scale`` block.

    Args:
        images: 1 or 3 channels.
        nrow: Images per row (default: about sqrt(N)).
        scale: Upscaling factor, so 8x8 digits are visible.
        pad: Grey pixels between tiles (before scaling).

    Returns:
        ``(H', W')`` (grey) or ``(H', W', 3)`` uint8.

    Raises:
        DataError: the images are not ``(N, 1 or 3, H, W)``.
    """
    if images.dim() != 4 or images.shape[1] not in (1, 3) or images.shape[0] == 0:
        raise DataError(f"image_grid: expected (N, 1 or 3, H, W) images, got {tuple(images.shape)}")
    n, c, h, w = images.shape
    nrow = nrow or max(1, math.ceil(math.sqrt(n)))
    ncol = math.ceil(n / nrow)
    canvas = torch.full((c, ncol * (h + pad) + pad, nrow * (w + pad) + pad), 0.5)
    pixels = (images.detach().float().cpu().clamp(-1, 1) + 1) / 2
    for i in range(n):
        r, k = divmod(i, nrow)
        top, left = pad + r * (h + pad), pad + k * (w + pad)
        canvas[:, top : top + h, left : left + w] = pixels[i]
    canvas = canvas.repeat_interleave(scale, 1).repeat_interleave(scale, 2)
    out = (canvas * 255).round().to(torch.uint8)
    return out[0] if c == 1 else out.permute(1, 2, 0).contiguous()


def scatter_image(points: Tensor, reference: Tensor | None = None, *, size: int = 384, extent: float = 3.0) -> Tensor:
    """Draw 2-D points (black) over optional reference points (light blue) on ``[-extent, extent]^2``.

    Returns:
        ``(size, size, 3)`` uint8 RGB.

    Raises:
        DataError: the points are not ``(N, 2)``.
    """
    canvas = torch.full((size, size, 3), 255, dtype=torch.uint8)
    for pts, colour in ((reference, (150, 190, 240)), (points, (20, 20, 20))):
        if pts is None:
            continue
        if pts.dim() != 2 or pts.shape[1] != 2:
            raise DataError(f"scatter_image: expected (N, 2) points, got {tuple(pts.shape)}")
        ij = ((pts.detach().float().cpu() + extent) / (2 * extent) * (size - 1)).round().long()
        keep = ((ij >= 0) & (ij < size)).all(1)
        ij = ij[keep]
        canvas[size - 1 - ij[:, 1], ij[:, 0]] = torch.tensor(colour, dtype=torch.uint8)
    return canvas
