"""``forge export``: write a run's model in a deployment format, verified against eager."""

from __future__ import annotations

import json
from pathlib import Path

import click

__all__ = ["export_command"]


def _option(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise click.BadParameter(f"{text!r}: expected KEY=VALUE (for example opset=17)", param_hint="--option")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


@click.command("export")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    default="onnx",
    show_default=True,
    help="Exporter: onnx, torch_export, aoti, torchscript, tensorrt (or a plugin's; `forge list exporters`).",
)
@click.option("--which", type=click.Choice(["best", "last"]), default="best", show_default=True)
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), help="Folder (default RUN_DIR/exports/FORMAT)."
)
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE", help="Exporter config field, e.g. opset=17.")
@click.option("--rtol", type=float, default=1e-3, show_default=True, help="Relative tolerance of the verification.")
@click.option("--atol", type=float, default=1e-4, show_default=True, help="Absolute tolerance of the verification.")
@click.option("--overwrite", is_flag=True, help="Replace an existing export folder.")
def export_command(
    run_dir: Path,
    fmt: str,
    which: str,
    out: Path | None,
    options: tuple[str, ...],
    rtol: float,
    atol: float,
    overwrite: bool,
) -> None:
    """Export RUN_DIR's model; the artifact must match eager on fresh inputs before it is written."""
    from forge.core.export import export_run

    result = export_run(
        run_dir,
        fmt,
        which=which,  # type: ignore[arg-type]  # click.Choice narrows it
        out=out,
        options=dict(_option(o) for o in options),
        rtol=rtol,
        atol=atol,
        overwrite=overwrite,
    )
    m = result.manifest
    summary = {
        "directory": str(result.directory),
        "format": m["format"],
        "files": m["files"],
        "verified": m["verification"]["ok"],
        "max_abs_diff": max((o["max_abs"] for o in m["verification"]["outputs"]), default=0.0),
        "max_rel_diff": max((o["max_rel"] for o in m["verification"]["outputs"]), default=0.0),
        "checkpoint": m["lineage"].get("checkpoint"),
    }
    click.echo(json.dumps(summary, indent=2))
