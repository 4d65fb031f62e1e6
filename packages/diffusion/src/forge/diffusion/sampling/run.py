"""Sampling from a run directory: load the model (EMA weights when the run kept them) and write a PNG."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import attrs
import torch
from torch import Tensor

from forge.core.errors import CheckpointError, ConfigError
from forge.diffusion.models.diffusion import DiffusionModel
from forge.diffusion.sampling.generate import generate
from forge.diffusion.sampling.png import image_grid, scatter_image, write_png

__all__ = ["SampleResult", "load_diffusion_run", "sample_run"]

Which = Literal["best", "last"]


@attrs.frozen
class SampleResult:
    """What :func:`sample_run` made.

    Attributes:
        path: The PNG written.
        samples: The samples, in data space.
        labels: The class each sample was generated for (None for an unconditional model).
        used_ema: Whether the EMA weights were sampled from.
    """

    path: Path
    samples: Tensor
    labels: Tensor | None
    used_ema: bool


def run_kept_ema(run_dir: str | Path) -> bool:
    """Whether a run's recipe kept an EMA of the weights (``trainer.ema`` set).

    Raises:
        CheckpointError: the directory has no ``config.json``.
    """
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise CheckpointError(f"{run_dir}: not a run directory (no config.json)")
    trainer = json.loads(path.read_text(encoding="utf-8")).get("trainer") or {}
    return isinstance(trainer, dict) and trainer.get("ema") is not None


def load_diffusion_run(
    run_dir: str | Path, which: Which = "last", *, ema: bool | None = None
) -> tuple[DiffusionModel, bool]:
    """Load a run's diffusion model, with its EMA weights when the run kept them (or as ``ema`` says).

    Returns:
        The model (eval mode, CPU) and whether the EMA weights were loaded.

    Raises:
        CheckpointError: not a run directory, or no loadable checkpoint.
        ConfigError: the run's model is not a diffusion model.
    """
    from forge.core import load_model

    use_ema = run_kept_ema(run_dir) if ema is None else ema
    model = load_model(Path(run_dir), which, ema=use_ema)
    if not isinstance(model, DiffusionModel):
        raise ConfigError(f"{run_dir}: the run's model is a {type(model).__name__}, not a forge-diffusion model")
    return model, use_ema


def sample_run(
    run_dir: str | Path,
    *,
    num: int = 100,
    sampler: str = "ddim",
    steps: int | None = None,
    guidance: float = 1.0,
    out: str | Path | None = None,
    which: Which = "last",
    seed: int = 0,
    device: str = "cpu",
) -> SampleResult:
    """Sample ``num`` items from a run's model and write them as a PNG.

    Images are tiled in a grid; a class-conditional model gets the classes in turn (``i % num_classes``),
    so with ``num`` a multiple of the class count each column holds one class. 2-D points are drawn
    as a scatter plot.

    Args:
        run_dir: A run directory of a forge-diffusion model.
        num: Samples to draw.
        sampler: ``"ddpm"`` or ``"ddim"``.
        steps: Sampling steps (None: all for DDPM, 50 for DDIM).
        guidance: Classifier-free guidance scale (conditional models).
        out: The PNG (default ``RUN_DIR/samples/<sampler>-<steps>.png``).
        which: ``"best"`` or ``"last"`` checkpoint.
        seed: Seed of the noise.
        device: Where to sample.

    Raises:
        CheckpointError: the run cannot be loaded.
        ConfigError: bad options.
    """
    if num < 1:
        raise ConfigError(f"--num must be >= 1, got {num}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device {device}: no CUDA device is available here")
    model, used_ema = load_diffusion_run(run_dir, which)
    model.to(device)
    labels = torch.arange(num) % model.num_classes if model.num_classes else None
    gen = torch.Generator().manual_seed(seed)
    samples = generate(
        model, num, sampler=sampler, steps=steps, cond=labels, guidance=guidance, generator=gen, device=device
    ).cpu()
    path = Path(out) if out is not None else Path(run_dir) / "samples" / f"{sampler}-{steps or 'default'}.png"
    if samples.dim() == 4:
        nrow = model.num_classes if model.num_classes and num >= model.num_classes else None
        pixels = image_grid(samples, nrow=nrow)
    elif samples.dim() == 2 and samples.shape[1] == 2:
        pixels = scatter_image(samples)
    else:
        raise ConfigError(f"{run_dir}: cannot draw samples of shape {tuple(samples.shape[1:])} (images or 2-D points)")
    return SampleResult(write_png(path, pixels), samples, labels, used_ema)
