"""``forge report``: analyse a classifier run and write ``report.json`` and a self-contained ``report.html``."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["report_command"]


@click.command("report")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--which", type=click.Choice(["best", "last"]), default="best", show_default=True, help="Checkpoint.")
@click.option("--split", type=click.Choice(["test", "val"]), default="test", show_default=True, help="Split analysed.")
@click.option(
    "--groups",
    "groups_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="One-column CSV/text file: a group label per example of the split, in order (header 'group' optional).",
)
@click.option(
    "--ood-run",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="A run whose test split (val when none) is the out-of-distribution set.",
)
@click.option("--no-robustness", is_flag=True, help="Skip the corruption / perturbation suite.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap and perturbations.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for report.html and report.json (default RUN_DIR/report).",
)
def report_command(
    run_dir: Path,
    which: str,
    split: str,
    groups_file: Path | None,
    ood_run: Path | None,
    no_robustness: bool,
    seed: int,
    out: Path | None,
) -> None:
    """Write an analysis report of a classifier run (report.json and a self-contained report.html).

    Scores RUN_DIR's checkpoint on a split: accuracy with a BCa interval, per-class metrics and the
    confusion matrix, calibration before and after temperature scaling (fitted on val), per-group
    metrics (--groups), accuracy under corruptions or perturbations, OOD detection (--ood-run),
    the training curves and the run's regression set (kept on the first report, checked on later
    ones). Prints the two paths.
    """
    from forge.core._atomic import write_json
    from forge.core.evaluator._analysis import analyse_run, read_groups
    from forge.core.evaluator._html import write_html_report

    groups = read_groups(groups_file) if groups_file is not None else None
    analysis = analyse_run(
        run_dir,
        which=which,  # type: ignore[arg-type]  # click.Choice keeps it to "best" or "last"
        split=split,  # type: ignore[arg-type]  # click.Choice keeps it to "test" or "val"
        groups=groups,
        ood_run_or_loader=ood_run,
        robustness=not no_robustness,
        seed=seed,
    )
    folder = out if out is not None else run_dir / "report"
    json_path = write_json(folder / "report.json", analysis)
    html_path = write_html_report(analysis, folder / "report.html")
    click.echo(f"report.json: {json_path}")
    click.echo(f"report.html: {html_path}")
