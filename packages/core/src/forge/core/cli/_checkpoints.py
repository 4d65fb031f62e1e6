"""``forge checkpoints``: verify a run's checkpoints and rebuild a damaged ``checkpoints/index.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

__all__ = ["checkpoints_group"]

_RUN_DIR = click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
_JSON = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@click.group("checkpoints")
def checkpoints_group() -> None:
    """Verify a run's checkpoints and rebuild its checkpoint index."""


def _folder(run_dir: Path) -> Path:
    return run_dir / "checkpoints" if (run_dir / "checkpoints").is_dir() else run_dir


@checkpoints_group.command("verify")
@_RUN_DIR
@_JSON
def verify_command(run_dir: Path, as_json: bool) -> None:
    """Check every checkpoint of RUN_DIR (manifest digest, SHA-256 of each file); exit 1 when one fails.

    RUN_DIR may be a run directory or its checkpoints/ folder. The index is not needed: a run whose
    index is damaged is verified all the same.
    """
    from forge.core._checkpoint import verify_checkpoint
    from forge.core.errors import CheckpointError

    rows: list[dict[str, Any]] = []
    for child in sorted(_folder(run_dir).glob("step-*")):
        if not child.is_dir():
            continue
        try:
            verify_checkpoint(child)
        except CheckpointError as exc:
            rows.append({"checkpoint": child.name, "ok": False, "error": str(exc)})
        else:
            rows.append({"checkpoint": child.name, "ok": True})
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    elif not rows:
        click.echo(f"{run_dir}: no checkpoints")
    for row in rows if not as_json else []:
        click.echo(f"{row['checkpoint']}  {'ok' if row['ok'] else 'FAILED: ' + row['error']}")
    if any(not row["ok"] for row in rows):
        raise SystemExit(1)


@checkpoints_group.command("rebuild-index")
@_RUN_DIR
@_JSON
def rebuild_index_command(run_dir: Path, as_json: bool) -> None:
    """Rebuild RUN_DIR's checkpoints/index.json from the checkpoints that verify.

    Every step-* checkpoint is verified; those that pass are listed with the metrics their manifest
    recorded (and, when the old index is still readable, the metrics it held), the others are
    skipped and reported. A damaged index is kept as index.json.damaged; a good index is never
    replaced by one that knows less, and is left alone when the rebuild finds nothing new. The
    new index is written atomically.
    """
    from forge.core._checkpoint import rebuild_index

    result = rebuild_index(run_dir)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "index": str(result.path),
                    "previous": result.previous,
                    "written": result.written,
                    "damaged_copy": None if result.damaged_copy is None else str(result.damaged_copy),
                    "kept": [{"step": e.step, "name": e.name, "metrics": e.metrics} for e in result.kept],
                    "skipped": [{"name": name, "error": why} for name, why in result.skipped],
                },
                indent=2,
            )
        )
        return
    if result.written:
        was = {"missing": "there was none", "damaged": "the damaged one", "good": "the old one"}[result.previous]
        click.echo(f"{result.path}: rebuilt (replacing {was}) from {len(result.kept)} verified checkpoint(s)")
    else:
        click.echo(f"{result.path}: already lists every verified checkpoint; left unchanged")
    if result.damaged_copy is not None:
        click.echo(f"the damaged index is kept as {result.damaged_copy}")
    for entry in result.kept:
        shown = ", ".join(f"{k}={v:.6g}" for k, v in sorted(entry.metrics.items())) or "no metrics recorded"
        click.echo(f"  kept     {entry.name}  ({shown})")
    for name, why in result.skipped:
        click.echo(f"  skipped  {name}: {why}")
