"""Time-series windowing (lookback, horizon, stride) and time-ordered splits.

A window at time ``t`` has input ``series[t - lookback : t]`` and target ``series[t : t + horizon]``.
Splits are cut in time, never shuffled: train owns the targets in ``[0, a)``, validation
``[a, b)``, test ``[b, T)``. A window belongs to the split holding *all* of its target steps, so no
target is ever seen by two splits; its input may reach back into the previous split, which is
the past and what a deployed forecaster would see too. ``gap`` steps can be left unused between
splits for stricter separation. Normalization statistics come from the train range only.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.utils.data import Dataset

from forge.core.data._configs import SineWaveConfig
from forge.core.data._fingerprint import fingerprint_samples
from forge.core.data._schema import Schema, TensorSpec
from forge.core.data._types import DatasetInfo, DatasetSplits
from forge.core.errors import DataError

__all__ = ["WindowDataset", "build_sine_wave", "time_split", "window_splits"]


class WindowDataset(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """Sliding windows over a ``[time, channels]`` series whose targets lie in ``[start, end)``.

    Args:
        series: ``[T, C]`` (or ``[T]``, treated as one channel) tensor.
        lookback: Input length.
        horizon: Target length.
        stride: Steps between window starts.
        start: First time step a target may occupy.
        end: One past the last time step a target may occupy (default ``T``).
        target_channels: Channels to forecast (default: all).

    Raises:
        DataError: For non-positive lengths or a range outside the series.
    """

    def __init__(
        self,
        series: torch.Tensor,
        *,
        lookback: int,
        horizon: int,
        stride: int = 1,
        start: int = 0,
        end: int | None = None,
        target_channels: Sequence[int] | None = None,
    ) -> None:
        if lookback < 1 or horizon < 1 or stride < 1:
            raise DataError(f"lookback, horizon and stride must be >= 1 (got {lookback}, {horizon}, {stride})")
        self.series = series.unsqueeze(1) if series.dim() == 1 else series
        if self.series.dim() != 2:
            raise DataError(f"a series must be [time, channels], got shape {tuple(series.shape)}")
        length = int(self.series.shape[0])
        end = length if end is None else end
        if not 0 <= start <= end <= length:
            raise DataError(f"target range [{start}, {end}) is outside the series of length {length}")
        self.lookback, self.horizon, self.stride = lookback, horizon, stride
        self.target_channels = None if target_channels is None else list(target_channels)
        first = max(start, lookback)
        self.starts = list(range(first, end - horizon + 1, stride))

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        t = self.starts[index]
        inputs = self.series[t - self.lookback : t]
        target = self.series[t : t + self.horizon]
        if self.target_channels is not None:
            target = target[:, self.target_channels]
        return inputs, target


def time_split(length: int, val_fraction: float, test_fraction: float) -> tuple[int, int]:
    """Return the cut points ``(a, b)``: train ``[0, a)``, validation ``[a, b)``, test ``[b, length)``.

    Raises:
        DataError: When the fractions leave no training steps.
    """
    b = length - int(round(length * test_fraction))
    a = b - int(round(length * val_fraction))
    if a <= 0 or not 0 <= val_fraction < 1 or not 0 <= test_fraction < 1:
        raise DataError(f"val_fraction={val_fraction}, test_fraction={test_fraction} leave no training steps")
    return a, b


def window_splits(
    series: torch.Tensor,
    *,
    lookback: int,
    horizon: int,
    stride: int = 1,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    gap: int = 0,
    normalize: bool = True,
) -> tuple[WindowDataset, WindowDataset, WindowDataset, dict[str, list[float]]]:
    """Cut a series in time and window each part.

    Args:
        series: ``[T, C]`` tensor.
        lookback, horizon, stride: Window geometry.
        val_fraction, test_fraction: Shares of time steps at the end.
        gap: Steps left unused at the start of the val and test target ranges.
        normalize: Standardize channels with mean and std of the train range ``[0, a)`` only.

    Returns:
        ``(train, val, test, stats)`` where stats holds ``"mean"``, ``"std"`` (empty when not
        normalizing) and the cut points ``"cuts"``.

    Raises:
        DataError: For bad fractions or geometry.
    """
    series = series.unsqueeze(1) if series.dim() == 1 else series
    length = int(series.shape[0])
    a, b = time_split(length, val_fraction, test_fraction)
    stats: dict[str, list[float]] = {"cuts": [float(a), float(b)]}
    if normalize:
        train_part = series[:a].double()
        mean = train_part.mean(dim=0)
        std = train_part.std(dim=0, unbiased=False).clamp_min(1e-12)
        series = ((series.double() - mean) / std).to(series.dtype)
        stats["mean"], stats["std"] = mean.tolist(), std.tolist()

    def windows(start: int, end: int) -> WindowDataset:
        return WindowDataset(series, lookback=lookback, horizon=horizon, stride=stride, start=start, end=end)

    train, val, test = windows(0, a), windows(min(a + gap, b), b), windows(min(b + gap, length), length)
    return train, val, test, stats


def build_sine_wave(config: SineWaveConfig) -> DatasetSplits:
    """Build a seeded noisy multi-channel sine series, windowed for forecasting.

    Returns:
        Splits of ``([lookback, C], [horizon, C])`` samples, cut in time.
    """
    generator = torch.Generator().manual_seed(config.seed)
    t = torch.arange(config.length, dtype=torch.float64)
    periods = 20.0 + 15.0 * torch.rand(config.channels, generator=generator, dtype=torch.float64)
    phases = 6.283185307179586 * torch.rand(config.channels, generator=generator, dtype=torch.float64)
    clean = torch.sin(6.283185307179586 * t[:, None] / periods[None, :] + phases[None, :])
    noise = config.noise * torch.randn(config.length, config.channels, generator=generator, dtype=torch.float64)
    series = (clean + noise).float()
    train, val, test, stats = window_splits(
        series,
        lookback=config.lookback,
        horizon=config.horizon,
        stride=config.stride,
        val_fraction=config.val_fraction,
        test_fraction=config.test_fraction,
        normalize=config.normalize,
    )
    schema = Schema(
        {
            "input": TensorSpec(shape=("N", config.lookback, config.channels), dtype="float32", finite=True),
            "target": TensorSpec(shape=("N", config.horizon, config.channels), dtype="float32", finite=True),
        }
    )
    info = DatasetInfo(
        name="sine_wave",
        version="1",
        source="generated",
        license="Apache-2.0",
        fingerprint=fingerprint_samples([series, config.seed]),
        schema=schema,
        task="forecasting",
        extra={"normalization": stats, "channels": config.channels},
    )
    return DatasetSplits(train=train, val=val, test=test, info=info)
