"""Input drift: per-feature statistics of live requests against a training reference (PSI and KS).

A *feature* is one number per sample: for image-like inputs (``[N, C, ...]``) the mean of each
channel, for tabular inputs (``[N, F]``) each column. The reference is a safetensors file holding
a ``features`` tensor ``[R, F]`` computed the same way on training data (:func:`save_reference`;
:func:`features` computes them). :class:`DriftMonitor` keeps the features of the most recent
requests and, every ``every`` samples, computes for each feature:

- PSI (population stability index) over the reference's decile bins; above 0.2 is usually read as
  a significant shift, above 0.1 as a moderate one;
- the two-sample Kolmogorov-Smirnov statistic (largest gap between the two empirical CDFs).

Both come from forge-core's drift utilities (:mod:`forge.core.evaluator`). The server exports
both as gauges (``forge_serve_drift_psi`` / ``forge_serve_drift_ks``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import Tensor

from forge.core.errors import DataError
from forge.core.evaluator import ks_statistic, psi

__all__ = ["DriftMonitor", "features", "ks_statistic", "load_reference", "psi", "save_reference"]


def features(x: Tensor) -> Tensor:
    """The drift features of a batch ``x`` (batch first): ``[N, F]`` float64."""
    x = x.detach().to("cpu", torch.float64)
    if x.dim() == 1:
        return x[:, None]
    if x.dim() == 2:
        return x
    return x.flatten(2).mean(dim=2)


def save_reference(path: str | os.PathLike[str], reference_features: Tensor) -> Path:
    """Write a drift reference file (``features`` ``[R, F]``) for ``forge serve --drift-reference``."""
    from safetensors.torch import save_file

    if reference_features.dim() != 2 or reference_features.shape[0] < 10:
        raise DataError(f"drift reference: expected features [R >= 10, F], got {list(reference_features.shape)}")
    out = Path(path)
    save_file({"features": reference_features.to(torch.float64).contiguous()}, str(out))
    return out


def load_reference(path: str | os.PathLike[str]) -> Tensor:
    """Read a drift reference file.

    Raises:
        DataError: the file is missing, unreadable, or holds no ``features`` ``[R, F]`` tensor.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(path))
    except (OSError, SafetensorError) as exc:
        raise DataError(f"drift reference {path}: cannot read ({exc})") from None
    ref = tensors.get("features")
    if ref is None or ref.dim() != 2 or ref.shape[0] < 10:
        raise DataError(f"drift reference {path}: needs a 'features' tensor [R >= 10, F]; has {sorted(tensors)}")
    return ref.to(torch.float64)


class DriftMonitor:
    """Keeps recent request features and reports PSI and KS per feature against the reference.

    Args:
        reference: ``[R, F]`` training features.
        report: Called with ``(feature index, psi, ks)`` for each feature when recomputed.
        window: Recent samples compared with the reference.
        every: Recompute after this many new samples.
    """

    def __init__(
        self,
        reference: Tensor,
        report: Callable[[int, float, float], None],
        *,
        window: int = 512,
        every: int = 64,
    ) -> None:
        self.reference = reference.to(torch.float64)
        self._report = report
        self._window = window
        self._every = every
        self._buffer = torch.empty(0, reference.shape[1], dtype=torch.float64)
        self._since = 0
        self.last: list[tuple[float, float]] = []

    def observe(self, x: Tensor) -> None:
        """Add a request batch; recomputes when ``every`` samples have come since the last time.

        Inputs whose feature count differs from the reference's are ignored (the schema check
        already refused malformed ones; a model with free channel counts has no single reference).
        """
        f = features(x)
        if f.shape[1] != self.reference.shape[1]:
            return
        self._buffer = torch.cat([self._buffer, f])[-self._window :]
        self._since += f.shape[0]
        if self._since >= self._every:
            self._since = 0
            self.compute()

    def compute(self) -> Sequence[tuple[float, float]]:
        """PSI and KS of every feature over the current window (reported and returned)."""
        if self._buffer.shape[0] < 2:
            return []
        out = []
        for j in range(self.reference.shape[1]):
            p = psi(self.reference[:, j], self._buffer[:, j])
            k = ks_statistic(self.reference[:, j], self._buffer[:, j])
            self._report(j, p, k)
            out.append((p, k))
        self.last = out
        return out
