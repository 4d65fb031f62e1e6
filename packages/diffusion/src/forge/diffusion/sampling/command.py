"""The ``forge sample`` command (registered through ``forge_register_commands``).

Light: imports click only; torch and the model load when the command runs.
"""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["sample_command"]


@click.command("sample")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--num", type=click.IntRange(min=1), default=100, show_default=True, help="Samples to draw.")
@click.option(
    "--sampler",
    type=click.Choice(("ddpm", "ddim")),
    default="ddim",
    show_default=True,
    help="DDPM (ancestral) or DDIM (deterministic) sampling.",
)
@click.option(
    "--steps",
    type=click.IntRange(min=1),
    default=None,
    help="Sampling steps (default: every step for ddpm, 50 for ddim).",
)
@click.option(
    "--guidance",
    type=float,
    default=1.0,
    show_default=True,
    help="Classifier-free guidance scale for class-conditional models (1: none).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="PNG to write (default: RUN_DIR/samples/<sampler>-<steps>.png).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Noise seed.")
@click.option(
    "--which", type=click.Choice(("best", "last")), default="last", show_default=True, help="Checkpoint to load."
)
@click.option("--device", type=click.Choice(("cpu", "cuda")), default="cpu", show_default=True, help="Where to sample.")
def sample_command(
    run_dir: Path,
    num: int,
    sampler: str,
    steps: int | None,
    guidance: float,
    out: Path | None,
    seed: int,
    which: str,
    device: str,
) -> None:
    """Draw samples from RUN_DIR's diffusion model (EMA weights when kept) and write a PNG grid."""
    from forge.core.errors import ForgeError
    from forge.diffusion.sampling.run import sample_run

    try:
        result = sample_run(
            run_dir,
            num=num,
            sampler=sampler,
            steps=steps,
            guidance=guidance,
            out=out,
            which=which,  # type: ignore[arg-type]  # "best" | "last", checked by click
            seed=seed,
            device=device,
        )
    except ForgeError as exc:
        raise click.ClickException(str(exc)) from None
    weights = "EMA" if result.used_ema else "raw"
    click.echo(f"{num} samples ({sampler}, {weights} weights) written to {result.path}")
