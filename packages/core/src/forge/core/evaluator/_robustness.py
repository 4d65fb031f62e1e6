"""Robustness: image corruptions and token perturbations at several severities, and OOD scores.

Image corruptions act on float images ``[N, C, H, W]`` in ``[0, 1]`` (or normalised: ``clip`` says
whether to clip to ``[0, 1]``): Gaussian noise, Gaussian blur, contrast reduction and a JPEG-like
quantization (8x8 block DCT with quantized coefficients), each at severities 1-5. Every function is
seeded. OOD scores: maximum softmax probability and the (negative) energy ``logsumexp(logits)``,
with the AUROC of telling in-distribution from OOD examples by them.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from forge.core.errors import ConfigError

__all__ = ["CORRUPTIONS", "corrupt", "ood_auroc", "ood_scores", "perturb_tokens"]


def _check(severity: int) -> None:
    if severity not in (1, 2, 3, 4, 5):
        raise ConfigError(f"severity: {severity} is not one of 1-5")


def _noise(x: torch.Tensor, s: int, g: torch.Generator) -> torch.Tensor:
    sigma = (0.04, 0.08, 0.12, 0.18, 0.26)[s - 1]
    return x + sigma * torch.randn(x.shape, generator=g, dtype=x.dtype)


def _blur(x: torch.Tensor, s: int, g: torch.Generator) -> torch.Tensor:
    sigma = (0.4, 0.6, 0.8, 1.0, 1.4)[s - 1]
    radius = max(1, math.ceil(2 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype)
    k = torch.exp(-(t**2) / (2 * sigma**2))
    k = k / k.sum()
    c = x.shape[1]
    pad = torch.nn.functional.pad(x, (radius, radius, radius, radius), mode="replicate")
    h = torch.nn.functional.conv2d(pad, k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return torch.nn.functional.conv2d(h, k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def _contrast(x: torch.Tensor, s: int, g: torch.Generator) -> torch.Tensor:
    factor = (0.75, 0.6, 0.45, 0.3, 0.15)[s - 1]
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * factor + mean


def _dct_matrix(n: int, dtype: torch.dtype) -> torch.Tensor:
    i = torch.arange(n, dtype=dtype)
    m = torch.cos(math.pi * (2 * i[None, :] + 1) * i[:, None] / (2 * n)) * math.sqrt(2 / n)
    m[0] /= math.sqrt(2)
    return m


def _jpeg(x: torch.Tensor, s: int, g: torch.Generator) -> torch.Tensor:
    step = (0.02, 0.04, 0.08, 0.12, 0.2)[s - 1]
    n = 8
    _, _, h, w = x.shape
    ph, pw = (-h) % n, (-w) % n
    padded = torch.nn.functional.pad(x, (0, pw, 0, ph), mode="replicate")
    blocks = padded.unfold(2, n, n).unfold(3, n, n)  # N, C, H/8, W/8, 8, 8
    d = _dct_matrix(n, x.dtype)
    coef = d @ blocks @ d.T
    weights = (
        1 + torch.arange(n, dtype=x.dtype)[:, None] + torch.arange(n, dtype=x.dtype)[None, :]
    )  # coarser at high freq
    q = torch.round(coef / (step * weights)) * (step * weights)
    out = d.T @ q @ d
    rows = out.permute(0, 1, 2, 4, 3, 5).reshape(padded.shape)
    return rows[:, :, :h, :w]


CORRUPTIONS: dict[str, Callable[[torch.Tensor, int, torch.Generator], torch.Tensor]] = {
    "gaussian_noise": _noise,
    "gaussian_blur": _blur,
    "contrast": _contrast,
    "jpeg": _jpeg,
}


def corrupt(images: torch.Tensor, name: str, severity: int, *, seed: int = 0, clip: bool = True) -> torch.Tensor:
    """``images`` [N, C, H, W] with corruption ``name`` at ``severity`` (1-5)."""
    _check(severity)
    if name not in CORRUPTIONS:
        raise ConfigError(f"corruption {name!r}: expected one of {', '.join(CORRUPTIONS)}")
    if images.ndim != 4 or not images.dtype.is_floating_point:
        raise ConfigError(f"corrupt: expected float images [N, C, H, W], got {images.dtype} {tuple(images.shape)}")
    out = CORRUPTIONS[name](images, severity, torch.Generator().manual_seed(seed))
    return out.clamp(0, 1) if clip else out


def perturb_tokens(
    ids: torch.Tensor, severity: int, *, vocab_size: int, seed: int = 0, protected: tuple[int, ...] = (0,)
) -> torch.Tensor:
    """Token ids [N, T] with a share of positions (5%-25% by severity) replaced, deleted or swapped.

    Substitution draws a random id; deletion shifts the rest of the row left and pads with the
    first protected id; swapping exchanges a token with its right neighbour. ``protected`` ids
    (padding, special tokens) are never changed.
    """
    _check(severity)
    rate = (0.05, 0.1, 0.15, 0.2, 0.25)[severity - 1]
    g = torch.Generator().manual_seed(seed)
    out = ids.clone()
    for row in out:
        editable = torch.tensor([int(t) not in protected for t in row])
        for pos in torch.nonzero(editable & (torch.rand(row.shape, generator=g) < rate)).flatten().tolist():
            op = int(torch.randint(0, 3, (1,), generator=g))
            if op == 0:
                row[pos] = int(torch.randint(0, vocab_size, (1,), generator=g))
            elif op == 1:
                row[pos:-1] = row[pos + 1 :].clone()
                row[-1] = protected[0]
            elif pos + 1 < row.numel() and int(row[pos + 1]) not in protected:
                row[pos], row[pos + 1] = int(row[pos + 1]), int(row[pos])
    return out


def ood_scores(logits: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-example in-distribution scores (higher = more in-distribution): ``msp`` and ``energy``."""
    return {"msp": logits.softmax(-1).max(-1).values, "energy": torch.logsumexp(logits, dim=-1)}


def ood_auroc(in_logits: torch.Tensor, out_logits: torch.Tensor) -> dict[str, float]:
    """AUROC of separating in-distribution (positive) from OOD examples by each score."""
    from sklearn.metrics import roc_auc_score

    result = {}
    scores_in, scores_out = ood_scores(in_logits), ood_scores(out_logits)
    for name in scores_in:
        s = torch.cat([scores_in[name], scores_out[name]]).double().numpy()
        y = [1] * in_logits.shape[0] + [0] * out_logits.shape[0]
        result[name] = float(roc_auc_score(y, s))
    return result
