"""Sample-quality measures and the PNG writer."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
import torch

from forge.core.errors import DataError
from forge.diffusion.datasets.digits import load_digits_images
from forge.diffusion.metrics.digits_judge import DigitsJudge
from forge.diffusion.metrics.distances import energy_distance, mmd_rbf
from forge.diffusion.sampling.png import image_grid, scatter_image, write_png


def test_distances_vanish_for_equal_sets_and_grow_with_a_shift() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(400, 2, generator=gen)
    assert energy_distance(x, x) == pytest.approx(0.0, abs=1e-12)
    assert mmd_rbf(x, x) == pytest.approx(0.0, abs=1e-12)
    near, far = x + 0.2, x + 2.0
    assert 0 < energy_distance(x, near) < energy_distance(x, far)
    assert 0 < mmd_rbf(x, near, bandwidth=1.0) < mmd_rbf(x, far, bandwidth=1.0)
    # One dimension, one point each: the energy distance is 2|a - b|.
    assert energy_distance(torch.tensor([[0.0]]), torch.tensor([[3.0]])) == pytest.approx(6.0)
    with pytest.raises(DataError, match=r"\(N, D\)"):
        energy_distance(x, torch.randn(5, 3))


def test_digits_judge_recognizes_real_digits_and_not_noise() -> None:
    judge = DigitsJudge()
    assert judge.real_accuracy > 0.93
    images, labels = load_digits_images()
    real = judge.score(torch.from_numpy(images[:200]), torch.from_numpy(labels[:200]))
    assert real.accuracy > 0.95 and real.coverage == 1.0
    noise = judge.score(torch.rand(200, 1, 8, 8) * 2 - 1, torch.from_numpy(labels[:200]))
    assert noise.accuracy < 0.3
    with pytest.raises(DataError, match="8, 8"):
        judge.predict(torch.zeros(2, 1, 7, 7))


def _read_png(path: Path) -> tuple[int, int, int, bytes]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0] == zlib.crc32(kind + body)
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    w, h, _, colour = struct.unpack(">IIBB", header[:10])
    return w, h, colour, zlib.decompress(idat)


def test_png_round_trips_pixels(tmp_path: Path) -> None:
    pixels = torch.arange(12, dtype=torch.uint8).reshape(3, 4) * 20
    w, h, colour, raw = _read_png(write_png(tmp_path / "a.png", pixels))
    assert (w, h, colour) == (4, 3, 0)
    rows = [raw[i * 5 : (i + 1) * 5] for i in range(3)]
    assert all(r[0] == 0 for r in rows)  # filter type "none"
    assert b"".join(r[1:] for r in rows) == pixels.numpy().tobytes()
    with pytest.raises(DataError, match="uint8"):
        write_png(tmp_path / "b.png", pixels.float())


def test_grid_and_scatter_place_what_they_draw() -> None:
    images = torch.full((3, 1, 2, 2), -1.0)
    images[1] = 1.0
    grid = image_grid(images, nrow=3, scale=1, pad=1)
    assert grid.shape == (4, 10)
    assert int(grid[1, 1]) == 0 and int(grid[1, 4]) == 255 and int(grid[0, 0]) == 128
    canvas = scatter_image(torch.tensor([[0.0, 0.0]]), size=11, extent=1.0)
    assert canvas[5, 5].tolist() == [20, 20, 20] and canvas[0, 0].tolist() == [255, 255, 255]
    with pytest.raises(DataError, match="1 or 3"):
        image_grid(torch.zeros(2, 2, 4, 4))
