"""``forge train`` and ``forge eval``.

torch is imported inside the command bodies, so ``forge --help`` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from forge.core.cli._launch import launch_options, launch_workers

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
@launch_options
@click.pass_context
def train_command(
    ctx: click.Context,
    recipe: str | None,
    overrides: tuple[str, ...],
    resume: Path | None,
    run_dir: Path | None,
    overwrite: bool,
    nproc_per_node: int | None,
    nnodes: int,
    rdzv_endpoint: str | None,
    node_rank: int | None,
) -> None:
    """Train RECIPE (a file or a registered name such as core/mlp) with KEY=VALUE overrides.

    \b
    Examples:
      forge train core/mlp
      forge train my_recipe.toml trainer.max_epochs=3 optimizer.lr=0.01
      forge train --resume runs/20250101-120000-core.mlp-ab12cd trainer.max_epochs=10
      forge train core/mlp --run-dir runs/mlp --overwrite
      forge train core/mlp --nproc-per-node 2          # two processes (DDP) through torchrun
      forge train r.toml --nproc-per-node 8 --nnodes 2 --rdzv-endpoint node1:29400   # on each node

    Ctrl-C stops after the step in progress, saves a checkpoint and prints the
    `forge train --resume RUN` command that continues the run.
    """
    if nproc_per_node is not None:
        args = ["train", *([] if recipe is None else [recipe]), *overrides]
        if resume is not None:
            args += ["--resume", str(resume)]
        if run_dir is not None:
            args += ["--run-dir", str(run_dir)]
        if overwrite:
            args.append("--overwrite")
        launch_workers(
            ctx, args, nproc_per_node=nproc_per_node, nnodes=nnodes, rdzv_endpoint=rdzv_endpoint, node_rank=node_rank
        )
        return
    if nnodes != 1 or rdzv_endpoint is not None or node_rank is not None:
        raise click.UsageError("--nnodes, --rdzv-endpoint and --node-rank go with --nproc-per-node")
    from forge.core._runner import finished_hint, resume_run, run_recipe
    from forge.core.distributed._env import detect_env
    from forge.core.trainer._trainer import TrainingInterrupted

    try:
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
    except TrainingInterrupted as exc:
        # Ctrl-C: the trainer finished its step and saved; say how to go on, exit as shells expect (130).
        if detect_env().is_main:
            click.echo(f"\n{exc.message()}", err=True)
        raise SystemExit(130) from None
    if not detect_env().is_main:
        return  # rank 0 reports for the whole run
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
@click.option("--confidence", type=float, default=0.95, show_default=True, help="Confidence level of the intervals.")
@click.option(
    "--resamples",
    type=click.IntRange(min=0),
    default=200,
    show_default=True,
    help="Bootstrap resamples for the intervals of F1, AUROC, loss... (0: Wilson interval of accuracy only).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap.")
@click.option(
    "--recipe-metrics-only",
    is_flag=True,
    default=False,
    help="Score only the recipe's [[metrics]], not also those registered for the dataset's task.",
)
def eval_command(
    run_dir: Path, which: str, split: str, confidence: float, resamples: int, seed: int, recipe_metrics_only: bool
) -> None:
    """Score a run's best or last checkpoint with its recipe's loss and metrics, with confidence intervals.

    Besides the recipe's [[metrics]], the metrics registered for the dataset's task are scored
    (classification: accuracy, F1, AUROC, average precision, calibration error). The report names
    the checkpoint every figure comes from (best or last, its step and weights hash) and the
    configuration that produced it; it is printed as JSON and written to RUN_DIR/eval/SPLIT-WHICH.json.
    """
    from forge.core.evaluator import evaluate_run

    report = evaluate_run(
        run_dir,
        which=which,  # type: ignore[arg-type]  # click.Choice narrows it
        split=split,  # type: ignore[arg-type]  # click.Choice narrows it
        confidence=confidence,
        resamples=resamples,
        seed=seed,
        task_metrics=not recipe_metrics_only,
    )
    ckpt = report["checkpoint"]
    click.echo(
        f"{report['split']} split, {ckpt['which']} checkpoint (step {ckpt['step']}, weights sha256 "
        f"{str(ckpt['weights_sha256'])[:12]}); report written to {report['report_path']}",
        err=True,
    )
    for note in report["notes"]:
        click.echo(f"note: {note}", err=True)
    shown = {k: v for k, v in report.items() if k != "config"}
    click.echo(json.dumps(shown, indent=2, default=str))
