"""``forge doctor``."""

from __future__ import annotations

import json

import click

__all__ = ["doctor_command"]


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--probe", is_flag=True, help="Also compile a test function with torch.compile (slow).")
def doctor_command(as_json: bool, probe: bool) -> None:
    """Report Python, torch, CUDA, cuDNN, driver, GPUs, available features and plugin compatibility."""
    from forge.core._doctor import collect, format_report
    from forge.core.cli._inspect import collect_plugin_commands

    collect_plugin_commands()
    report = collect(probe=probe)
    click.echo(json.dumps(report, indent=2, default=str) if as_json else format_report(report))
