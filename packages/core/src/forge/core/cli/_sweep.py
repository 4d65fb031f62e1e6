"""``forge sweep SPEC``: a hyperparameter search or an ablation, every trial a run directory."""

from __future__ import annotations

import json
from pathlib import Path

import click

__all__ = ["sweep_command"]


@click.command("sweep")
@click.argument("spec_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of the trials and results (default runs/sweep-<spec name>).",
)
@click.option("--trials", type=int, default=None, help="Trials this worker runs (overrides the spec).")
def sweep_command(spec_file: Path, directory: Path | None, trials: int | None) -> None:
    """Run SPEC_FILE (kind = "sweep", the default, or "ablation"); start it on several machines to share one study."""
    import attrs

    from forge.core.sweep import AblationSpec, load_spec, run_ablation, run_sweep

    spec = load_spec(spec_file)
    target = directory or Path("runs") / f"sweep-{spec_file.stem}"
    if isinstance(spec, AblationSpec):
        result = run_ablation(spec, target)
    else:
        if trials is not None:
            spec = attrs.evolve(spec, trials=trials)
        result = run_sweep(spec, target)
    summary = {"directory": str(result.directory), "best": result.best, "importances": result.importances}
    click.echo(json.dumps({**summary, "table": result.table}, indent=2, default=str))
