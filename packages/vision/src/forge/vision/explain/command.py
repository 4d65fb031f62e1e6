"""The ``forge explain`` command (registered through ``forge_register_commands``).

Light: imports click only; torch and the model load when the command runs.
"""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["explain_command"]

_METHODS = ("gradients", "integrated_gradients", "smoothgrad", "grad_cam")


@click.command("explain")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("image", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--method",
    type=click.Choice(_METHODS),
    default="integrated_gradients",
    show_default=True,
    help="Attribution method.",
)
@click.option("--target", type=int, default=None, help="Class to explain (default: the predicted class).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="PNG to write (default: RUN_DIR/explain/<image>-<method>.png).",
)
@click.option(
    "--which", type=click.Choice(("best", "last")), default="best", show_default=True, help="Checkpoint to load."
)
def explain_command(run_dir: Path, image: Path, method: str, target: int | None, out: Path | None, which: str) -> None:
    """Write a saliency overlay PNG explaining RUN_DIR's model on IMAGE."""
    from forge.core.errors import ForgeError
    from forge.vision.explain.run_image import explain_run_image

    try:
        done = explain_run_image(run_dir, image, method=method, target=target, out=out, which=which)
    except ForgeError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"{method} attribution for class {done.class_name!r} (index {done.target}, probability "
        f"{done.probability:.3f}) written to {done.path}"
    )
