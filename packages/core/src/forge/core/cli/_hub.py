"""``forge runs``, ``forge models``, ``forge lineage`` and ``forge gate``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

__all__ = ["gate_command", "lineage_command", "models_group", "runs_group"]

_REGISTRY = click.option(
    "--registry",
    "registry_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Model registry database (default: FORGE_MODEL_REGISTRY or ~/.forge/models.db).",
)
_JSON = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


def _echo(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


@click.group("runs")
def runs_group() -> None:
    """List, show and compare run directories."""


@runs_group.command("list")
@click.argument("root", type=click.Path(file_okay=False, path_type=Path), default=Path("runs"))
@_JSON
def runs_list(root: Path, as_json: bool) -> None:
    """The runs under ROOT (default runs/), newest first."""
    from forge.core.hub import list_runs

    runs = list_runs(root)
    if as_json:
        _echo([r.to_json() for r in runs])
        return
    if not runs:
        click.echo(f"no runs under {root}")
    for r in runs:
        shown = {k: round(v, 4) for k, v in r.metrics.items() if "/" in k and isinstance(v, float)}
        click.echo(f"{r.path}  {r.model}  {r.dataset}  {r.status}  {json.dumps(shown)}")


@runs_group.command("show")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
def runs_show(run_dir: Path) -> None:
    """Config, metrics and lineage of one run."""
    from forge.core.hub import read_run

    r = read_run(run_dir)
    _echo({**r.to_json(), "config": r.config, "lineage": r.lineage})


@runs_group.command("compare")
@click.argument("a", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("b", type=click.Path(exists=True, file_okay=False, path_type=Path))
def runs_compare(a: Path, b: Path) -> None:
    """Config keys that differ and every metric with its difference (B - A)."""
    from forge.core.hub import compare_runs

    _echo(compare_runs(a, b))


@click.group("models")
def models_group() -> None:
    """The model registry: register runs as versioned models, move them between stages."""


@models_group.command("register")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--name", required=True, help="Model name.")
@click.option("--which", type=click.Choice(["best", "last"]), default="best", show_default=True)
@_REGISTRY
def models_register(run_dir: Path, name: str, which: str, registry_path: Path | None) -> None:
    """Register RUN_DIR's checkpoint as the next version of NAME."""
    from forge.core.hub import ModelRegistry

    _echo(ModelRegistry(registry_path).register(run_dir, name, which=which).to_json())


@models_group.command("list")
@click.argument("name", required=False)
@_REGISTRY
@_JSON
def models_list(name: str | None, registry_path: Path | None, as_json: bool) -> None:
    """Every registered version (of NAME)."""
    from forge.core.hub import ModelRegistry

    versions = ModelRegistry(registry_path).versions(name)
    if as_json:
        _echo([v.to_json() for v in versions])
        return
    for v in versions:
        click.echo(f"{v.ref}  {v.stage}  {v.run_dir}  license={v.data_license}  created={v.created}")


@models_group.command("promote")
@click.argument("name")
@click.argument("version", type=int)
@click.option("--stage", type=click.Choice(["staging", "production", "archived", "none"]), default="production")
@click.option("--reason", default="", help="Recorded in the audit log.")
@_REGISTRY
def models_promote(name: str, version: int, stage: str, reason: str, registry_path: Path | None) -> None:
    """Move NAME's VERSION to a stage (production by default; the previous one is archived)."""
    from forge.core.hub import ModelRegistry

    _echo(ModelRegistry(registry_path).set_stage(name, version, stage, reason=reason).to_json())


@models_group.command("approve")
@click.argument("name")
@click.argument("version", type=int)
@click.option("--reason", default="", help="Recorded in the audit log with your name.")
@_REGISTRY
def models_approve(name: str, version: int, reason: str, registry_path: Path | None) -> None:
    """Record your approval of NAME's VERSION for production (needed after a retraining request)."""
    from forge.core.hub import ModelRegistry

    ModelRegistry(registry_path).approve(name, version, reason=reason)
    click.echo(f"{name}:{version} approved")


@models_group.command("rollback")
@click.argument("name")
@click.option("--reason", default="", help="Recorded in the audit log.")
@_REGISTRY
def models_rollback(name: str, reason: str, registry_path: Path | None) -> None:
    """Put back NAME's previous production version."""
    from forge.core.hub import ModelRegistry

    _echo(ModelRegistry(registry_path).rollback(name, reason=reason).to_json())


@models_group.command("audit")
@click.argument("name", required=False)
@_REGISTRY
def models_audit(name: str | None, registry_path: Path | None) -> None:
    """The append-only audit log: who changed what, and when."""
    from forge.core.hub import ModelRegistry

    _echo(ModelRegistry(registry_path).audit(name))


@click.command("lineage")
@click.argument("model")
@_REGISTRY
def lineage_command(model: str, registry_path: Path | None) -> None:
    """The chain behind MODEL (NAME, NAME:VERSION or NAME@STAGE): run, parents, dataset and license, code."""
    from forge.core.hub import ModelRegistry

    name, sep, which = model.replace("@", ":").partition(":")
    _echo(ModelRegistry(registry_path).lineage(name, which if sep else None))


@click.command("gate")
@click.argument("candidate", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--against", required=True, help="Run directory, or registered model NAME / NAME@STAGE / NAME:VERSION.")
@click.option("--threshold", type=float, default=0.0, show_default=True, help="Accuracy the candidate may lose.")
@click.option("--confidence", type=float, default=0.95, show_default=True)
@click.option("--resamples", type=int, default=2000, show_default=True)
@_REGISTRY
def gate_command(
    candidate: Path, against: str, threshold: float, confidence: float, resamples: int, registry_path: Path | None
) -> None:
    """Exit 0 when CANDIDATE may be promoted over AGAINST, 1 when it is significantly worse (for CI/CD)."""
    from forge.core.hub import gate

    result = gate(
        candidate,
        against,
        threshold=threshold,
        confidence=confidence,
        resamples=resamples,
        registry_path=registry_path,
    )
    _echo(result.to_json())
    click.echo(result.reason, err=True)
    if not result.passed:
        sys.exit(1)
