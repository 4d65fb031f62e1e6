"""ACME's CLI commands: imported by the commands hook only when forge collects plugin commands."""

from __future__ import annotations

import click


@click.command("acme-report")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def report(as_json: bool) -> None:
    """Print the components ACME registers."""
    import json

    from forge.core import registry

    names = sorted(spec.name for spec in registry.list() if spec.provider == "acme")
    click.echo(json.dumps(names) if as_json else "\n".join(names))
