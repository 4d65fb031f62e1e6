"""``forge train`` and ``forge eval``.

torch is imported inside the command bodies, so ``forge --help`` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

__all__ = ["eval_command", "train_command"]


@click.command("train")
@click.argument("recipe", required=False)
@click.argument("overrides", nargs=-1)
@click.option(
    "--resume",
    "resume",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Continue this run directory from its newest good checkpoint.",
)
@click.option(
    "--run-dir",
    "run_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write the run here (default: runs/<time>-<recipe>-<id>); it must be new or empty.",
)
@click.option(
    "--overwrite",
    is_flag=True,
    default=False,
    help="Replace the run already in --run-dir (refused for a folder that is not a run directory).",
)
def train_command(
    recipe: str | None, overrides: tuple[str, ...], resume: Path | None, run_dir: Path | None, overwrite: bool
) -> None:
    """Train RECIPE (a file or a registered name such as core/mlp) with KEY=VALUE overrides.

    \b
    Examples:
      forge train core/mlp
      forge train my_recipe.toml trainer.max_epochs=3 optimizer.lr=0.01
      forge train --resume runs/20250101-120000-core.mlp-ab12cd trainer.max_epochs=10
      forge train core/mlp --run-dir runs/mlp --overwrite
    """
    from forge.core._runner import finished_hint, resume_run, run_recipe

    if resume is not None:
        if overwrite or run_dir is not None:
            raise click.UsageError("--resume continues its own run directory: drop --run-dir and --overwrite")
        # With --resume, a lone KEY=VALUE given where RECIPE goes is an override.
        extra = (recipe,) if recipe is not None else ()
        result = resume_run(resume, [*extra, *overrides])
    else:
        if recipe is None:
            raise click.UsageError("give a RECIPE (file or registered name) or --resume RUN_DIR")
        result = run_recipe(recipe, overrides, run_dir=run_dir, overwrite=overwrite)
    summary = {"run_dir": str(result.run_dir), "step": result.fit.global_step, "stop_reason": result.fit.stop_reason}
    if result.already_finished:
        summary["already_finished"] = True
        click.echo(f"{result.run_dir}: {finished_hint(result.run_dir, result.fit.stop_reason)}", err=True)
    click.echo(json.dumps({**summary, **result.metrics}, indent=2))


@click.command("eval")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--which",
    type=click.Choice(["best", "last"]),
    default="best",
    show_default=True,
    help="Which checkpoint to evaluate.",
)
@click.option(
    "--split",
    type=click.Choice(["test", "val"]),
    default="test",
    show_default=True,
    help="Which split (falls back to val when the dataset has no test split).",
)
@click.option("--confidence", type=float, default=0.95, show_default=True, help="Confidence level of the interval.")
def eval_command(run_dir: Path, which: str, split: str, confidence: float) -> None:
    """Score a run's best or last checkpoint with its recipe's loss and metrics (accuracy with a Wilson interval)."""
    from forge.core.evaluator import evaluate_run

    report = evaluate_run(run_dir, which=which, split=split, confidence=confidence)  # type: ignore[arg-type]  # click.Choice narrows it
    click.echo(json.dumps(report, indent=2))
