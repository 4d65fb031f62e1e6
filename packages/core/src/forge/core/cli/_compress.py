"""``forge compress``: quantize, prune, distill or quantization-aware-train a run into a new run directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

__all__ = ["compress_command"]


def _options(items: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for text in items:
        key, sep, value = text.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{text!r}: expected KEY=VALUE (for example sparsity=0.5)", param_hint="--option")
        try:
            parsed: Any = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = parsed
    return out


@click.command("compress")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--method",
    required=True,
    type=click.Choice(["dynamic_int8", "static_int8", "prune", "distill", "qat"]),
    help="dynamic_int8 / static_int8 (torchao, post-training), prune (fine-tunes), distill (trains a student), "
    "qat (fine-tunes with int8 fake quantization, then converts).",
)
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), help="New run directory (default RUN_DIR-METHOD)."
)
@click.option("--which", type=click.Choice(["best", "last"]), default="best", show_default=True)
@click.option(
    "--option",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help="Method setting: sparsity=0.5, structured=true, end_step=200; student.name=vision.resnet18, temperature=4; "
    "start_step=100 (qat).",
)
@click.option("--overwrite", is_flag=True, help="Replace a non-empty --out.")
@click.argument("overrides", nargs=-1)
def compress_command(
    run_dir: Path,
    method: str,
    out: Path | None,
    which: str,
    options: tuple[str, ...],
    overwrite: bool,
    overrides: tuple[str, ...],
) -> None:
    """Compress RUN_DIR; OVERRIDES (trainer.max_epochs=2 ...) apply to prune, distill and qat's training."""
    from forge.core.compress import compress_run

    result = compress_run(
        run_dir, method, out=out, which=which, options=_options(options), overrides=overrides, overwrite=overwrite
    )
    click.echo(json.dumps({"run_dir": str(result.run_dir), **result.report}, indent=2, default=str))
